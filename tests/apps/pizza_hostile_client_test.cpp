// `pizzeria serve` against hostile clients, every model, over real sockets:
// a slowloris at the connection limit, clients that pipeline orders without
// ever reading the replies, and a client that reads its replies slowly.
// Each test ends with a polite customer being served. No timing is
// asserted: timeouts are short and every wait has a generous bound.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "pizzeria/core/unique_fd.hpp"
#include "pizzeria/net/socket_address.hpp"
#include "pizzeria/net/socket_ops.hpp"
#include "pizzeria/pizza/protocol.hpp"
#include "pizzeria/pizza/server_model.hpp"
#include "support/child_process.hpp"
#include "support/model_unavailable.hpp"
#include "support/pizzeria_binary.hpp"

namespace pz::pizza {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// `pizzeria serve --port 0 --model M` plus `extra`, started.
class Server {
 public:
  Server(const std::string& model, std::vector<std::string> extra)
      : process_(arguments(model, std::move(extra))) {
    const std::string starting = process_.read_line();
    const std::string prefix = "Starting up at: 127.0.0.1:";
    if (!starting.starts_with(prefix)) {
      throw std::runtime_error("expected the start-up line, got: '" + starting + "'");
    }
    port_ = static_cast<std::uint16_t>(std::stoi(starting.substr(prefix.size())));
    if (process_.read_line() != "Server listening for incoming connections") {
      throw std::runtime_error("expected the listening line");
    }
  }

  [[nodiscard]] UniqueFd connect() const {
    UniqueFd fd = connect_tcp(SocketAddress::parse("127.0.0.1", port_));
    timeval timeout{30, 0};  // a safety net: a broken server fails the test
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    return fd;
  }

  // Resident memory in KiB, from /proc.
  [[nodiscard]] long resident_kib() const {
    std::ifstream status("/proc/" + std::to_string(process_.pid()) + "/status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.starts_with("VmRSS:")) {
        return std::stol(line.substr(6));
      }
    }
    return -1;
  }

  // SIGTERM; true when the server said it stopped and exited with 0.
  bool stop() {
    process_.signal(SIGTERM);
    const bool said = process_.read_line() == "Server stopped.";
    const int status = process_.wait();
    return said && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }

 private:
  static std::vector<std::string> arguments(const std::string& model,
                                            std::vector<std::string> extra) {
    const ServerModel& found = *find_server_model(model);
    std::vector<std::string> argv{
        test::pizzeria_binary(),          "serve", "--port", "0", "--model", model, "--workers",
        found.reads_workers() ? "2" : "1"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }

  test::ChildProcess process_;
  std::uint16_t port_ = 0;
};

// The polite customer: one order, its exact reply.
std::string order(const Server& server, int pizzas) {
  const UniqueFd client = server.connect();
  const std::string line = std::to_string(pizzas) + "\n";
  if (::send(client.get(), line.data(), line.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(line.size())) {
    return "send failed";
  }
  const std::string expected = reply_for(Order{pizzas});
  std::string got(expected.size(), '\0');
  const ssize_t received = ::recv(client.get(), got.data(), got.size(), MSG_WAITALL);
  got.resize(received > 0 ? static_cast<std::size_t>(received) : 0);
  return got;
}

// True once the server has closed `fd` (FIN or reset seen), without reading
// what it sent; false after the bound.
bool closed_by_server(int fd, std::chrono::seconds bound = 30s) {
  const auto give_up = Clock::now() + bound;
  while (Clock::now() < give_up) {
    pollfd entry{fd, POLLRDHUP, 0};
    if (::poll(&entry, 1, 100) == 1 && (entry.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0) {
      return true;
    }
  }
  return false;
}

// Sends empty lines (one byte, one order: a wrong number) without reading
// a reply until the server stops reading (the socket stays unwritable for
// 200 ms); returns the orders sent.
std::size_t pipeline_until_blocked(int fd) {
  const std::string orders(16 * 1024, '\n');
  std::size_t sent = 0;
  for (int round = 0; round < 2000; ++round) {
    ssize_t n = 0;
    while ((n = ::send(fd, orders.data(), orders.size(), MSG_NOSIGNAL | MSG_DONTWAIT)) > 0) {
      sent += static_cast<std::size_t>(n);
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      return sent;  // closed already
    }
    pollfd writable{fd, POLLOUT, 0};
    if (::poll(&writable, 1, 200) == 0) {
      return sent;
    }
  }
  return sent;
}

class HostileClients : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (const auto why = test::model_unavailable(GetParam())) {
      GTEST_SKIP() << *why;
    }
  }
};

std::vector<std::string> all_model_names() {
  std::vector<std::string> names;
  for (const ServerModel& model : server_models()) {
    names.emplace_back(model.name);
  }
  return names;
}

INSTANTIATE_TEST_SUITE_P(EveryModel, HostileClients, ::testing::ValuesIn(all_model_names()),
                         [](const auto& param_info) { return param_info.param; });

// Slowloris: every slot taken by a client that sends a byte now and then,
// never a whole line. Each byte is activity, so only the request deadline
// (from the line's first byte) frees the slots; the idle timeout is a
// minute, longer than the test may wait.
TEST_P(HostileClients, ASlowlorisAtTheConnectionLimitIsClosedAtItsRequestDeadline) {
  Server server(GetParam(),
                {"--max-connections", "3", "--idle-timeout", "60", "--request-timeout", "0.3"});
  std::vector<UniqueFd> slow;
  for (int i = 0; i < 3; ++i) {
    slow.push_back(server.connect());
  }
  std::atomic<bool> stop{false};
  std::vector<std::thread> tricklers;
  for (const UniqueFd& client : slow) {
    tricklers.emplace_back([fd = client.get(), &stop] {
      const auto give_up = Clock::now() + 60s;  // a safety bound
      while (!stop.load() && Clock::now() < give_up) {
        if (::send(fd, " ", 1, MSG_NOSIGNAL) < 0) {
          return;  // closed by the server
        }
        std::this_thread::sleep_for(20ms);  // a trickle, not a timing
      }
    });
  }
  for (const UniqueFd& client : slow) {
    EXPECT_TRUE(closed_by_server(client.get()));
  }
  stop.store(true);
  for (std::thread& trickler : tricklers) {
    trickler.join();
  }
  EXPECT_EQ(order(server, 3), reply_for(Order{3}));
  EXPECT_TRUE(server.stop());
}

// Clients that pipeline orders and never read: the server stops reading
// them at its output bound (memory stays bounded), their replies wait, and
// the request deadline closes them; meanwhile and afterwards a polite
// customer is served (the pool model's workers go back to the dispatcher
// rather than wait on them).
TEST_P(HostileClients, ClientsThatNeverReadTheirRepliesAreClosedAndDoNotStarveOthers) {
  Server server(GetParam(), {"--idle-timeout", "60", "--request-timeout", "2"});
  const long before = server.resident_kib();
  std::vector<UniqueFd> greedy;
  for (int i = 0; i < 6; ++i) {
    greedy.push_back(server.connect());
    pipeline_until_blocked(greedy.back().get());
  }
  // Each is held at the output bound (a few hundred KiB), not at what it
  // sent; 64 MiB for six is a bound no buffering server would stay under.
  EXPECT_LT(server.resident_kib() - before, 64 * 1024);
  EXPECT_EQ(order(server, 5), reply_for(Order{5}));
  for (const UniqueFd& client : greedy) {
    EXPECT_TRUE(closed_by_server(client.get()));
  }
  EXPECT_EQ(order(server, 4), reply_for(Order{4}));
  EXPECT_TRUE(server.stop());
}

// A client that reads its replies slowly is not idle: waiting for it counts
// as activity (up to the request deadline, here far away), so it keeps its
// connection well past the idle timeout and gets every reply.
TEST_P(HostileClients, AClientThatReadsSlowlyIsNotClosedAsIdle) {
  Server server(GetParam(), {"--idle-timeout", "0.2", "--request-timeout", "60"});
  const UniqueFd client = server.connect();
  const std::size_t sent = pipeline_until_blocked(client.get());
  ASSERT_GT(sent, 0U);
  // Five idle timeouts without reading: the server waits for us.
  std::this_thread::sleep_for(1s);
  const std::size_t expected = sent * kWrongNumberReply.size();
  std::size_t got = 0;
  std::string buffer(64 * 1024, '\0');
  while (got < expected) {
    const ssize_t n = ::recv(client.get(), buffer.data(), buffer.size(), 0);
    if (n <= 0) {
      break;
    }
    got += static_cast<std::size_t>(n);
  }
  EXPECT_EQ(got, expected);
  EXPECT_EQ(order(server, 2), reply_for(Order{2}));
  EXPECT_TRUE(server.stop());
}

}  // namespace
}  // namespace pz::pizza
