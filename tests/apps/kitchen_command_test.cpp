// `pizzeria serve --kitchen` and `pizzeria kitchen`, as processes, over
// loopback, with a redis-server of the test's own between them.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <regex>
#include <stdexcept>
#include <string>
#include <vector>

#include "pizzeria/coro/run.hpp"
#include "pizzeria/net/redis_connection.hpp"
#include "pizzeria/pizza/order_stream.hpp"
#include "pizzeria/pizza/protocol.hpp"
#include "support/child_process.hpp"
#include "support/pizzeria_binary.hpp"
#include "support/redis_server.hpp"
#include "support/round_trip.hpp"

namespace pz::pizza {
namespace {

using test::pizzeria_binary;

// A `pizzeria serve --kitchen` on port 0, started and its port read. One
// shard: each shard has its own connection to the kitchen, and the tests
// follow one through an outage.
class KitchenServer {
 public:
  explicit KitchenServer(const test::RedisServer& redis)
      : process_({pizzeria_binary(), "serve", "--port", "0", "--workers", "1", "--kitchen",
                  redis.address()}) {
    const std::string first = process_.read_line();
    const auto colon = first.rfind(':');
    if (first.rfind("Starting up at: ", 0) != 0 || colon == std::string::npos) {
      throw std::runtime_error("unexpected first line: " + first);
    }
    port_ = static_cast<std::uint16_t>(std::stoi(first.substr(colon + 1)));
    listening_ = process_.read_line();
    kitchen_line_ = process_.read_line();
  }
  ~KitchenServer() { process_.signal(SIGINT); }

  // Sends `orders`, half-closes, and returns every byte of the replies.
  [[nodiscard]] std::string exchange(std::string_view orders) const {
    return test::round_trip(port_, orders);
  }

  test::ChildProcess& process() { return process_; }
  [[nodiscard]] const std::string& listening_line() const { return listening_; }
  [[nodiscard]] const std::string& kitchen_line() const { return kitchen_line_; }

 private:
  test::ChildProcess process_;
  std::uint16_t port_ = 0;
  std::string listening_;
  std::string kitchen_line_;
};

std::string thanks(int pizzas) {
  return "Thank you for ordering " + std::to_string(pizzas) + " pizzas!\n";
}

// The `pizzas` field of every entry of the order stream, in order.
std::vector<std::string> orders_in_stream(const test::RedisServer& redis) {
  return run([&]() -> Task<std::vector<std::string>> {
    RedisConnection connection = co_await RedisConnection::open("127.0.0.1", redis.port());
    std::vector<std::string> command{"XRANGE", std::string(kDefaultOrderStream), "-", "+"};
    const RedisReply range = (co_await connection.command(std::move(command))).or_throw("XRANGE");
    std::vector<std::string> pizzas;
    for (const RedisReply& entry : range.elements) {
      pizzas.push_back(entry.elements.at(1).elements.at(1).text);
    }
    co_return pizzas;
  }());
}

TEST(ServeWithKitchen, ThanksForAnOrderOnlyOnceItIsInTheKitchensQueue) {
  test::RedisServer redis;
  KitchenServer server(redis);
  EXPECT_EQ(server.listening_line(), "Server listening for incoming connections");
  EXPECT_EQ(server.kitchen_line(),
            "Orders go to the kitchen at " + redis.address() + ", stream pizzeria:orders");
  const std::string wrong(kWrongNumberReply);
  EXPECT_EQ(server.exchange("3\n0\nabc\n 5 \r\n\n1001\n7"),
            thanks(3) + wrong + wrong + thanks(5) + wrong + wrong + thanks(7));
  EXPECT_EQ(orders_in_stream(redis), (std::vector<std::string>{"3", "5", "7"}));
}

TEST(ServeWithKitchen, TellsTheCustomerWhenTheKitchenIsClosedAndKeepsWhatWasConfirmed) {
  test::RedisServer redis(test::RedisServer::Durability::every_write);
  KitchenServer server(redis);
  EXPECT_EQ(server.exchange("2\n"), thanks(2));
  redis.crash();  // SIGKILL: only what Redis had on disk survives
  const std::string closed(kKitchenClosedReply);
  EXPECT_EQ(server.exchange("4\nnope\n"), closed + std::string(kWrongNumberReply));
  EXPECT_NE(server.process().read_line().find("unreachable"), std::string::npos);
  redis.start();
  // The server retries at most once a second: order until it is back
  // (bounded, not timed).
  std::string reply = closed;
  for (int attempt = 0; attempt < 200 && reply == closed; ++attempt) {
    ::usleep(50'000);
    reply = server.exchange("6\n");
  }
  EXPECT_EQ(reply, thanks(6));
  EXPECT_EQ(server.process().read_line(), "kitchen at " + redis.address() + " reachable again");
  EXPECT_EQ(orders_in_stream(redis), (std::vector<std::string>{"2", "6"}));
}

TEST(ServeWithKitchen, RefusesAModelThatWouldBlockAThreadPerOrder) {
  test::RedisServer redis;
  test::ChildProcess server({pizzeria_binary(), "serve", "--port", "0", "--model", "threads",
                             "--kitchen", redis.address()});
  EXPECT_EQ(server.read_line(),
            "pizzeria: --kitchen needs a model that waits for the kitchen without blocking a "
            "thread per order: use --model coro (got 'threads')");
  const int status = server.wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0);
}

TEST(KitchenCommand, BakesTheOrdersTheServerConfirmed) {
  test::RedisServer redis;
  {
    KitchenServer server(redis);
    EXPECT_EQ(server.exchange("3\n1\n"), thanks(3) + "Thank you for ordering 1 pizzas!\n");
  }
  test::ChildProcess kitchen({pizzeria_binary(), "kitchen", "--redis", redis.address(), "--cooks",
                              "2", "--bake-time", "0", "--orders", "2", "--name", "test"});
  EXPECT_EQ(kitchen.read_line(), "Kitchen open: 2 cooks taking orders from " + redis.address() +
                                     ", stream pizzeria:orders, group kitchen");
  const std::regex baked(R"(Cook [12] baked (\d+) pizzas? \(order \d+-\d+\))");
  std::vector<std::string> counts;
  for (int i = 0; i < 2; ++i) {
    const std::string line = kitchen.read_line();
    std::smatch match;
    EXPECT_TRUE(std::regex_match(line, match, baked)) << line;
    counts.push_back(match.size() > 1 ? match[1].str() : "");
  }
  std::sort(counts.begin(), counts.end());
  EXPECT_EQ(counts, (std::vector<std::string>{"1", "3"}));
  EXPECT_EQ(kitchen.read_line(), "Kitchen closed: 2 orders baked");
  const int status = kitchen.wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(KitchenCommand, ListsTheDeadLetters) {
  test::RedisServer redis;
  run([&]() -> Task<void> {
    RedisConnection connection = co_await RedisConnection::open("127.0.0.1", redis.port());
    std::vector<std::string> add{
        "XADD",
        "pizzeria:orders:dead",
        "*",
        "order",
        "17-0",
        "reason",
        "delivered 5 times without being acknowledged (--max-deliveries 5)",
        "pizzas",
        "3",
        "token",
        "t-1"};
    (co_await connection.command(std::move(add))).or_throw("XADD");
  }());
  test::ChildProcess kitchen(
      {pizzeria_binary(), "kitchen", "--redis", redis.address(), "--dead-letters"});
  EXPECT_EQ(kitchen.read_line(), "1 dead letter in pizzeria:orders:dead");
  EXPECT_EQ(kitchen.read_line(),
            "order 17-0 (pizzas 3 token t-1): delivered 5 times without being acknowledged "
            "(--max-deliveries 5)");
  EXPECT_EQ(kitchen.read_line(), "");
  const int status = kitchen.wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(KitchenCommand, SaysSoAndFailsWhenRedisIsNotThere) {
  test::RedisServer redis;
  const std::string address = redis.address();
  redis.crash();
  test::ChildProcess kitchen({pizzeria_binary(), "kitchen", "--redis", address});
  EXPECT_EQ(kitchen.read_line(), "pizzeria: kitchen: cannot reach Redis at " + address +
                                     ": connect 127.0.0.1 (" + address + "): Connection refused");
  EXPECT_EQ(kitchen.read_line(), "");  // and nothing else: never "Kitchen open"
  const int status = kitchen.wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1);
}

// Sets an environment variable for the life of a test, for the children it
// starts (they inherit it).
class ScopedEnvironment {
 public:
  ScopedEnvironment(const char* name, const std::string& value) : name_(name) {
    ::setenv(name, value.c_str(), 1);
  }
  ScopedEnvironment(const ScopedEnvironment&) = delete;
  ScopedEnvironment& operator=(const ScopedEnvironment&) = delete;
  ~ScopedEnvironment() { ::unsetenv(name_); }

 private:
  const char* name_;
};

constexpr const char* kRedisPassword = "pizza margherita 4711";

TEST(RedisWithAPassword, TheServerAndTheKitchenAuthenticateWithTheOneInTheEnvironment) {
  test::RedisServer redis(test::RedisServer::Durability::none, kRedisPassword);
  const ScopedEnvironment password("PIZZERIA_REDIS_PASSWORD", kRedisPassword);
  {
    KitchenServer server(redis);
    EXPECT_EQ(server.exchange("3\n"), thanks(3));
  }
  test::ChildProcess kitchen({pizzeria_binary(), "kitchen", "--redis", redis.address(), "--cooks",
                              "1", "--bake-time", "0", "--orders", "1", "--name", "test"});
  EXPECT_EQ(kitchen.read_line(), "Kitchen open: 1 cook taking orders from " + redis.address() +
                                     ", stream pizzeria:orders, group kitchen");
  const std::regex baked(R"(Cook 1 baked 3 pizzas \(order \d+-\d+\))");
  const std::string line = kitchen.read_line();
  EXPECT_TRUE(std::regex_match(line, baked)) << line;
  EXPECT_EQ(kitchen.read_line(), "Kitchen closed: 1 order baked");
  const int status = kitchen.wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(RedisWithAPassword, AWrongPasswordClosesTheKitchenForCustomersAndStopsTheKitchenCommand) {
  test::RedisServer redis(test::RedisServer::Durability::none, kRedisPassword);
  const std::string wrong = "quattro stagioni 0000";
  const ScopedEnvironment password("PIZZERIA_REDIS_PASSWORD", wrong);
  const std::string refusal = "Redis at " + redis.address() + " refused AUTH: WRONGPASS";
  {
    KitchenServer server(redis);
    EXPECT_EQ(server.exchange("3\n"), std::string(kKitchenClosedReply));
    const std::string log = server.process().read_line();
    EXPECT_EQ(log.rfind("kitchen at " + redis.address() + " unreachable (" + refusal, 0), 0U)
        << log;
    EXPECT_EQ(log.find(wrong), std::string::npos) << log;
  }
  test::ChildProcess kitchen({pizzeria_binary(), "kitchen", "--redis", redis.address()});
  const std::string line = kitchen.read_line();
  EXPECT_EQ(line.rfind("pizzeria: " + refusal, 0), 0U) << line;
  EXPECT_EQ(line.find(wrong), std::string::npos) << line;
  const int status = kitchen.wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1);
}

// Orders some cook has taken and not yet acknowledged (0 before the
// kitchen made its group).
std::int64_t orders_in_ovens(const test::RedisServer& redis) {
  return run([&]() -> Task<std::int64_t> {
    RedisConnection connection = co_await RedisConnection::open("127.0.0.1", redis.port());
    std::vector<std::string> command{"XPENDING", std::string(kDefaultOrderStream), "kitchen"};
    const RedisReply summary = co_await connection.command(std::move(command));
    co_return summary.is_error() ? 0 : summary.elements.at(0).integer;
  }());
}

// Waits (bounded) until the kitchen has taken an order into its oven.
void wait_until_in_oven(const test::RedisServer& redis) {
  for (int i = 0; i < 5000; ++i) {
    if (orders_in_ovens(redis) == 1) {
      return;
    }
    ::usleep(2000);
  }
  ADD_FAILURE() << "the kitchen never took the order";
}

TEST(KitchenCommand, StopsAtOnceOnASecondCtrlCAndLeavesTheOrderPending) {
  test::RedisServer redis;
  {
    KitchenServer server(redis);
    EXPECT_EQ(server.exchange("3\n"), thanks(3));
  }
  test::ChildProcess kitchen({pizzeria_binary(), "kitchen", "--redis", redis.address(), "--cooks",
                              "1", "--bake-time", "20", "--name", "test"});
  EXPECT_NE(kitchen.read_line().find("Kitchen open"), std::string::npos);
  wait_until_in_oven(redis);
  kitchen.signal(SIGINT);
  EXPECT_EQ(kitchen.read_line(), "Closing the kitchen: finishing the orders in the ovens");
  kitchen.signal(SIGINT);
  EXPECT_EQ(kitchen.read_line(),
            "Kitchen stopped: 0 orders baked; the orders in the ovens wait for another cook");
  const int status = kitchen.wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  // The order of 3 is still there, pending, for another cook.
  EXPECT_EQ(orders_in_ovens(redis), 1);
}

TEST(KitchenCommand, FinishesTheOrderInTheOvenOnCtrlC) {
  test::RedisServer redis;
  {
    KitchenServer server(redis);
    EXPECT_EQ(server.exchange("2\n"), thanks(2));
  }
  test::ChildProcess kitchen({pizzeria_binary(), "kitchen", "--redis", redis.address(), "--cooks",
                              "1", "--bake-time", "1", "--name", "test"});
  EXPECT_NE(kitchen.read_line().find("Kitchen open"), std::string::npos);
  wait_until_in_oven(redis);  // Ctrl-C with the order in the oven
  kitchen.signal(SIGINT);
  EXPECT_EQ(kitchen.read_line(), "Closing the kitchen: finishing the orders in the ovens");
  const std::string baked = kitchen.read_line();
  EXPECT_TRUE(std::regex_match(baked, std::regex(R"(Cook 1 baked 2 pizzas \(order \d+-\d+\))")))
      << baked;
  EXPECT_EQ(kitchen.read_line(), "Kitchen closed: 1 order baked");
  const int status = kitchen.wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

}  // namespace
}  // namespace pz::pizza
