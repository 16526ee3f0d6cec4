// The kitchen queue end to end over a real redis-server: KitchenQueue (the
// server's side) puts orders on the stream, Kitchen's cooks take them.
#include "pizzeria/pizza/kitchen.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <system_error>
#include <vector>

#include "pizzeria/core/unique_fd.hpp"
#include "pizzeria/coro/run.hpp"
#include "pizzeria/coro/sleep.hpp"
#include "pizzeria/coro/task_group.hpp"
#include "pizzeria/coro/timeout.hpp"
#include "pizzeria/coro/when_any.hpp"
#include "pizzeria/net/listen_socket.hpp"
#include "pizzeria/net/redis_connection.hpp"
#include "pizzeria/net/socket_address.hpp"
#include "pizzeria/pizza/kitchen_queue.hpp"
#include "support/redis_server.hpp"

using namespace std::chrono_literals;

namespace pz::pizza {
namespace {

using Arguments = std::vector<std::string>;

// A command's words, orders' pizzas: functions, not braced lists, because
// GCC 12 rejects a braced list in a statement with a co_await ("array used
// as initializer").
template <class... Words>
Arguments words(const Words&... each) {
  return Arguments{std::string(each)...};
}

template <class... Counts>
std::vector<int> pizzas(Counts... counts) {
  return std::vector<int>{counts...};
}
using Placement = KitchenQueue::Placement;
std::vector<Placement> placed(std::size_t orders) {
  return std::vector<Placement>(orders, Placement::placed);
}
std::vector<Placement> refused(std::size_t orders) {
  return std::vector<Placement>(orders, Placement::refused);
}

// The stream's entries as (id, pizzas field).
Task<std::vector<std::pair<std::string, std::string>>> entries(RedisConnection& redis) {
  const RedisReply range =
      (co_await redis.command(words("XRANGE", kDefaultOrderStream, "-", "+"))).or_throw("XRANGE");
  std::vector<std::pair<std::string, std::string>> result;
  for (const RedisReply& entry : range.elements) {
    result.emplace_back(entry.elements.at(0).text, entry.elements.at(1).elements.at(1).text);
  }
  co_return result;
}

Task<std::int64_t> pending(RedisConnection& redis) {
  const RedisReply summary =
      (co_await redis.command(words("XPENDING", kDefaultOrderStream, "kitchen")))
          .or_throw("XPENDING");
  co_return summary.elements.at(0).integer;
}

KitchenQueue::Options queue_options(const test::RedisServer& redis) {
  return KitchenQueue::Options{.host = "127.0.0.1", .port = redis.port()};
}

Kitchen::Options kitchen_options(const test::RedisServer& redis) {
  Kitchen::Options options;
  options.host = "127.0.0.1";
  options.port = redis.port();
  options.name = "test";
  options.bake_time = 0ms;
  options.poll = 20ms;
  return options;
}

// Places one order of `count` pizzas, again and again while the kitchen
// refuses it (each try after the retry interval reconnects); bounded, not
// timed. True once it was taken.
Task<bool> place_until_taken(KitchenQueue& queue, int count) {
  for (int attempt = 0; attempt < 500; ++attempt) {
    co_await sleep(2ms);
    if ((co_await queue.place(pizzas(count)))[0] == Placement::placed) {
      co_return true;
    }
  }
  co_return false;
}

TEST(KitchenQueue, PutsEachOrderOnTheStreamInOrder) {
  test::RedisServer redis;
  run([&]() -> Task<void> {
    KitchenQueue queue(queue_options(redis));
    EXPECT_EQ(co_await queue.place(pizzas(3, 5, 7)), placed(3));
    EXPECT_EQ(co_await queue.place(pizzas()), placed(0));
    RedisConnection check = co_await RedisConnection::open("127.0.0.1", redis.port());
    const auto placed = co_await entries(check);
    EXPECT_EQ(placed.size(), 3U);
    EXPECT_EQ(placed.at(0).second, "3");
    EXPECT_EQ(placed.at(1).second, "5");
    EXPECT_EQ(placed.at(2).second, "7");
  }());
}

TEST(KitchenQueue, RefusesOrdersWhileRedisIsDownAndTakesThemWhenItIsBack) {
  test::RedisServer redis;
  redis.crash();
  std::vector<std::string> log;
  run([&]() -> Task<void> {
    KitchenQueue::Options options = queue_options(redis);
    options.retry_interval = 1ms;
    KitchenQueue queue(options, [&log](std::string_view line) { log.emplace_back(line); });
    EXPECT_EQ(co_await queue.place(pizzas(2, 4)), refused(2));
    EXPECT_EQ(co_await queue.place(pizzas(6)), refused(1));
    redis.start();
    EXPECT_TRUE(co_await place_until_taken(queue, 8));
    RedisConnection check = co_await RedisConnection::open("127.0.0.1", redis.port());
    const auto in_stream = co_await entries(check);
    EXPECT_EQ(in_stream.size(), 1U);  // nothing that was refused got in
    EXPECT_EQ(in_stream.at(0).second, "8");
  }());
  ASSERT_EQ(log.size(), 2U);  // one line per outage, one when it is back
  EXPECT_NE(log[0].find("unreachable"), std::string::npos) << log[0];
  EXPECT_NE(log[1].find("reachable again"), std::string::npos) << log[1];
}

// The queues of a server's shards share one outage: one "unreachable" line
// and one "reachable again" line for the server, whichever shard sees each,
// not an "unreachable" left as the last word by a shard that took no order
// after Redis came back.
TEST(KitchenQueue, QueuesSharingAnOutageLogItOnceAndItsEndOnce) {
  test::RedisServer redis;
  redis.crash();
  std::vector<std::string> log;
  run([&]() -> Task<void> {
    KitchenQueue::Options options = queue_options(redis);
    options.retry_interval = 1ms;
    options.outage = std::make_shared<KitchenQueue::SharedOutage>();
    const auto note = [&log](std::string_view line) { log.emplace_back(line); };
    KitchenQueue first(options, note);
    KitchenQueue second(options, note);
    EXPECT_EQ(co_await first.place(pizzas(1)), refused(1));
    EXPECT_EQ(co_await second.place(pizzas(2)), refused(1));
    redis.start();
    EXPECT_TRUE(co_await place_until_taken(second, 3));
    EXPECT_TRUE(co_await place_until_taken(first, 4));
  }());
  ASSERT_EQ(log.size(), 2U);
  EXPECT_NE(log[0].find("unreachable"), std::string::npos) << log[0];
  EXPECT_NE(log[1].find("reachable again"), std::string::npos) << log[1];
}

// A "Redis" that never completes a connection: a listener whose accept
// queue is full, so the kernel drops further SYNs and connect() hangs.
class BlackHole {
 public:
  BlackHole()
      : listener_(open_listen_socket(SocketAddress::parse("127.0.0.1", 0), {.backlog = 0})),
        address_(SocketAddress::local_of(listener_.get())) {
    // Backlog 0 holds one connection; two more make sure it is full.
    // Non-blocking: a connect to the full queue would otherwise wait here.
    for (int i = 0; i < 3; ++i) {
      UniqueFd client(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
      (void)::connect(client.get(), address_.data(), address_.size());
      fillers_.push_back(std::move(client));
    }
  }
  [[nodiscard]] std::uint16_t port() const noexcept { return address_.port(); }

 private:
  UniqueFd listener_;
  SocketAddress address_;
  std::vector<UniqueFd> fillers_;
};

TEST(KitchenQueue, RefusesOrdersAtOnceWhileOneTriesToReachAnUnansweringKitchen) {
  const BlackHole hole;
  run([&]() -> Task<void> {
    KitchenQueue queue(KitchenQueue::Options{
        .host = "127.0.0.1", .port = hole.port(), .connect_timeout = 200ms, .retry_interval = 1ms});
    // The first attempt finds it dead (after connect_timeout)...
    EXPECT_EQ(co_await queue.place(pizzas(1)), refused(1));
    co_await sleep(2ms);  // past retry_interval
    // ...then one order tries again, and meanwhile another is refused at
    // once instead of queueing behind it.
    bool trying_done = false;
    // Named: the lambda (which holds the captures) must outlive its task.
    auto try_again = [&]() -> Task<void> {
      EXPECT_EQ(co_await queue.place(pizzas(2)), refused(1));
      trying_done = true;
    };
    TaskGroup group;
    group.spawn(try_again());
    EXPECT_EQ(co_await queue.place(pizzas(3)), refused(1));
    EXPECT_FALSE(trying_done);
    co_await group.join();
    EXPECT_TRUE(trying_done);
  }());
}

TEST(KitchenQueue, ReconnectsAtOnceWhenRedisRestartedWhileItWasIdle) {
  test::RedisServer redis(test::RedisServer::Durability::every_write);
  run([&]() -> Task<void> {
    KitchenQueue queue(queue_options(redis));
    EXPECT_EQ(co_await queue.place(pizzas(1)), placed(1));
    redis.crash();
    redis.start();
    // The old connection is dead; the queue notices before using it.
    EXPECT_EQ(co_await queue.place(pizzas(2)), placed(1));
    RedisConnection check = co_await RedisConnection::open("127.0.0.1", redis.port());
    const auto in_stream = co_await entries(check);
    EXPECT_EQ(in_stream.size(), 2U);  // the first survived the crash: appendfsync always
    EXPECT_EQ(in_stream.at(0).second, "1");
    EXPECT_EQ(in_stream.at(1).second, "2");
  }());
}

TEST(Kitchen, BakesEveryOrderExactlyOnceWithSeveralCooks) {
  test::RedisServer redis;
  std::vector<BakedOrder> baked;
  run([&]() -> Task<void> {
    KitchenQueue queue(queue_options(redis));
    std::vector<int> orders;
    for (int pizzas = 1; pizzas <= 30; ++pizzas) {
      orders.push_back(pizzas);
    }
    EXPECT_EQ(co_await queue.place(orders), placed(30));
    RedisConnection check = co_await RedisConnection::open("127.0.0.1", redis.port());
    std::set<std::string> ids;
    for (const auto& [id, pizzas] : co_await entries(check)) {
      ids.insert(id);
    }
    Kitchen::Options options = kitchen_options(redis);
    options.cooks = 3;
    options.max_orders = 30;
    Kitchen kitchen(options, [&baked](const BakedOrder& order) { baked.push_back(order); });
    co_await kitchen.run();
    EXPECT_EQ(kitchen.baked(), 30U);
    EXPECT_EQ(co_await pending(check), 0);
    // Baked orders leave the stream, and the cooks, with nothing pending,
    // leave the group.
    EXPECT_TRUE((co_await entries(check)).empty());
    const RedisReply consumers =
        (co_await check.command(words("XINFO", "CONSUMERS", kDefaultOrderStream, "kitchen")))
            .or_throw("XINFO");
    EXPECT_TRUE(consumers.elements.empty()) << consumers.elements.size() << " consumers left";
    std::set<std::string> baked_ids;
    std::set<int> baked_counts;
    for (const BakedOrder& order : baked) {
      baked_ids.insert(order.id);
      baked_counts.insert(order.pizzas);
      EXPECT_GE(order.cook, 1);
      EXPECT_LE(order.cook, 3);
    }
    EXPECT_EQ(baked_ids, ids);
    EXPECT_EQ(baked_counts.size(), 30U);
  }());
  EXPECT_EQ(baked.size(), 30U);
}

TEST(Kitchen, BakesTheOrderACookThatDiedLeftInItsOven) {
  test::RedisServer redis;
  run([&]() -> Task<void> {
    KitchenQueue queue(queue_options(redis));
    EXPECT_EQ(co_await queue.place(pizzas(4)), placed(1));
    RedisConnection dead_cook = co_await RedisConnection::open("127.0.0.1", redis.port());
    (co_await dead_cook.command(
         words("XGROUP", "CREATE", kDefaultOrderStream, "kitchen", "0", "MKSTREAM")))
        .or_throw("XGROUP");
    // It takes the order and is never heard of again.
    const RedisReply taken =
        (co_await dead_cook.command(words("XREADGROUP", "GROUP", "kitchen", "dead-1", "COUNT", "1",
                                          "STREAMS", kDefaultOrderStream, ">")))
            .or_throw("XREADGROUP");
    const std::string id = taken.elements.at(0).elements.at(1).elements.at(0).elements.at(0).text;
    Kitchen::Options options = kitchen_options(redis);
    options.reclaim_after = 1ms;
    options.max_orders = 1;
    std::vector<BakedOrder> baked;
    Kitchen kitchen(options, [&baked](const BakedOrder& order) { baked.push_back(order); });
    co_await kitchen.run();
    EXPECT_EQ(baked.size(), 1U);
    EXPECT_EQ(baked.at(0).id, id);
    EXPECT_EQ(baked.at(0).pizzas, 4);
    EXPECT_EQ(co_await pending(dead_cook), 0);
  }());
}

// One cook, closing after its first baked order: what it baked, what it
// logged (the entries it skipped), and how many it skipped.
struct OneOrderBaked {
  std::vector<BakedOrder> baked;
  std::vector<std::string> log;
  std::uint64_t rejected = 0;
};

Task<OneOrderBaked> bake_one_order(const test::RedisServer& redis, int max_pizzas) {
  Kitchen::Options options = kitchen_options(redis);
  options.cooks = 1;
  options.max_orders = 1;
  options.max_pizzas = max_pizzas;
  OneOrderBaked outcome;
  Kitchen kitchen(
      options, [&outcome](const BakedOrder& order) { outcome.baked.push_back(order); },
      [&outcome](std::string_view why) { outcome.log.emplace_back(why); });
  co_await kitchen.run();
  outcome.rejected = kitchen.rejected();
  co_return outcome;
}

TEST(Kitchen, AcknowledgesAndSkipsAnEntryThatIsNotAnOrder) {
  test::RedisServer redis;
  run([&]() -> Task<void> {
    RedisConnection writer = co_await RedisConnection::open("127.0.0.1", redis.port());
    (co_await writer.command(words("XADD", kDefaultOrderStream, "*", "pizzas", "lots")))
        .or_throw("XADD");
    (co_await writer.command(words("XADD", kDefaultOrderStream, "*", "topping", "ham")))
        .or_throw("XADD");
    (co_await writer.command(words("XADD", kDefaultOrderStream, "*", "pizzas", "2")))
        .or_throw("XADD");
    const OneOrderBaked outcome = co_await bake_one_order(redis, kDefaultMaxOrder);
    const std::vector<BakedOrder>& baked = outcome.baked;
    const std::vector<std::string>& rejected = outcome.log;
    EXPECT_EQ(baked.size(), 1U);
    EXPECT_EQ(baked.at(0).pizzas, 2);
    EXPECT_EQ(outcome.rejected, 2U);
    EXPECT_EQ(rejected.size(), 2U);
    EXPECT_NE(rejected.at(0).find("is not an order (pizzas lots;"), std::string::npos)
        << rejected.at(0);
    EXPECT_NE(rejected.at(1).find("is not an order (topping ham;"), std::string::npos)
        << rejected.at(1);
    EXPECT_EQ(co_await pending(writer), 0);
  }());
}

TEST(Kitchen, AcknowledgesAndSkipsAnOrderLargerThanItsMaxOrder) {
  test::RedisServer redis;
  run([&]() -> Task<void> {
    RedisConnection writer = co_await RedisConnection::open("127.0.0.1", redis.port());
    // What anyone with access to Redis can add: a cook would bake it for
    // years.
    const std::string huge =
        (co_await writer.command(words("XADD", kDefaultOrderStream, "*", "pizzas", "2147483647")))
            .or_throw("XADD")
            .text;
    const std::string over =
        (co_await writer.command(words("XADD", kDefaultOrderStream, "*", "pizzas", "5")))
            .or_throw("XADD")
            .text;
    (co_await writer.command(words("XADD", kDefaultOrderStream, "*", "pizzas", "4")))
        .or_throw("XADD");
    const OneOrderBaked outcome = co_await bake_one_order(redis, 4);
    EXPECT_EQ(outcome.baked.size(), 1U);
    EXPECT_EQ(outcome.baked.at(0).pizzas, 4);
    EXPECT_EQ(outcome.rejected, 2U);
    const std::vector<std::string> expected{
        "entry " + huge +
            " orders 2147483647 pizzas, more than this kitchen bakes (--max-order 4): "
            "acknowledged and skipped",
        "entry " + over +
            " orders 5 pizzas, more than this kitchen bakes (--max-order 4): acknowledged and "
            "skipped"};
    EXPECT_EQ(outcome.log, expected);
    EXPECT_EQ(co_await pending(writer), 0);
  }());
}

TEST(Kitchen, DeletesUnreadAnEntryTooLargeToReadInsteadOfTrippingOverItForEver) {
  // An entry over RedisConnection::kMaxReplyBytes breaks the connection of
  // the cook that reads it. Left pending, every reclaim of it would break
  // one again, for ever; once a reclaim names it, it is deleted unread.
  test::RedisServer redis;
  run([&]() -> Task<void> {
    RedisConnection writer = co_await RedisConnection::open("127.0.0.1", redis.port());
    const std::string note(RedisConnection::kMaxReplyBytes + 1, 'x');
    const std::string huge = (co_await writer.command(words("XADD", kDefaultOrderStream, "*",
                                                            "pizzas", "1", "note", note)))
                                 .or_throw("XADD")
                                 .text;
    (co_await writer.command(words("XADD", kDefaultOrderStream, "*", "pizzas", "3")))
        .or_throw("XADD");
    Kitchen::Options options = kitchen_options(redis);
    options.cooks = 1;
    options.max_orders = 1;
    options.reclaim_after = 1ms;
    OneOrderBaked outcome;
    Kitchen kitchen(
        options, [&outcome](const BakedOrder& order) { outcome.baked.push_back(order); },
        [&outcome](std::string_view why) { outcome.log.emplace_back(why); });
    co_await kitchen.run();
    EXPECT_EQ(outcome.baked.size(), 1U);
    EXPECT_EQ(outcome.baked.at(0).pizzas, 3);
    EXPECT_EQ(kitchen.rejected(), 1U);
    const std::string too_large =
        "cook 1: Redis connection to 127.0.0.1:" + std::to_string(redis.port()) +
        ": the server sent a reply of more than 4194304 bytes, more "
        "than this client takes";
    const std::vector<std::string> expected{
        // Read as a new entry: no id known yet.
        too_large +
            "; an entry too large to read stays pending until a reclaim names it (after 1 ms), "
            "and is then deleted unread",
        // Reclaimed by id, fetched, and too large again: now it has a name.
        too_large + "; entry " + huge + " is deleted unread",
        "entry " + huge +
            " is larger than this kitchen reads (4194304 bytes, 65536 elements): acknowledged "
            "and deleted unread"};
    EXPECT_EQ(outcome.log, expected);
    EXPECT_EQ(co_await pending(writer), 0);
    const RedisReply length =
        (co_await writer.command(words("XLEN", kDefaultOrderStream))).or_throw("XLEN");
    EXPECT_EQ(length.integer, 0);  // both deleted: the baked order and the unreadable one
  }());
}

// One cook bakes an order, Redis is killed and started again, and a second
// order is placed once Redis takes orders again; the cook must bake it too.
struct AcrossARestart {
  std::vector<BakedOrder> baked;
  std::vector<std::string> log;
};

AcrossARestart bake_across_a_restart(test::RedisServer& redis) {
  AcrossARestart outcome;
  run([&]() -> Task<void> {
    KitchenQueue queue(queue_options(redis));
    EXPECT_EQ(co_await queue.place(pizzas(1)), placed(1));
    Kitchen::Options options = kitchen_options(redis);
    options.cooks = 1;
    options.max_orders = 2;
    Kitchen kitchen(
        options, [&outcome](const BakedOrder& order) { outcome.baked.push_back(order); },
        [&outcome](std::string_view line) { outcome.log.emplace_back(line); });
    TaskGroup group;
    group.spawn(kitchen.run());
    for (int i = 0; i < 5000 && kitchen.baked() == 0; ++i) {
      co_await sleep(2ms);
    }
    EXPECT_EQ(kitchen.baked(), 1U);
    redis.crash();
    redis.start();
    EXPECT_TRUE(co_await place_until_taken(queue, 2));
    co_await group.join();  // the cook reconnects and bakes it
  }());
  return outcome;
}

TEST(Kitchen, RidesOutARestartOfRedis) {
  // The stream and the group come back from the append-only file.
  test::RedisServer redis(test::RedisServer::Durability::every_write);
  const AcrossARestart outcome = bake_across_a_restart(redis);
  ASSERT_EQ(outcome.baked.size(), 2U);
  EXPECT_EQ(outcome.baked[0].pizzas, 1);
  EXPECT_EQ(outcome.baked[1].pizzas, 2);
  ASSERT_EQ(outcome.log.size(), 2U);
  EXPECT_NE(outcome.log[0].find("cook 1 lost Redis ("), std::string::npos) << outcome.log[0];
  EXPECT_EQ(outcome.log[1], "cook 1 reconnected to Redis");
}

TEST(Kitchen, MakesItsGroupAgainWhenRedisLostIt) {
  // Redis without persistence restarts empty: the server's next XADD makes
  // a new stream, without the kitchen's group.
  test::RedisServer redis;
  const AcrossARestart outcome = bake_across_a_restart(redis);
  ASSERT_EQ(outcome.baked.size(), 2U);
  EXPECT_EQ(outcome.baked[1].pizzas, 2);
  bool remade = false;
  for (const std::string& line : outcome.log) {
    remade = remade || line ==
                           "the consumer group kitchen of pizzeria:orders is gone (Redis lost "
                           "it); creating it again";
  }
  EXPECT_TRUE(remade);
}

TEST(Kitchen, KeepsAnOrderThatTakesLongerThanTheReclaimTime) {
  test::RedisServer redis;
  run([&]() -> Task<void> {
    KitchenQueue queue(queue_options(redis));
    EXPECT_EQ(co_await queue.place(pizzas(5)), placed(1));
    // The slow cook bakes for 5 x 250 ms while a thief reclaims anything
    // idle for 500 ms: only a claim renewed every 250 ms keeps the order
    // (the margin is for a slow, loaded machine, not a timing assertion).
    Kitchen::Options slow = kitchen_options(redis);
    slow.name = "slow";
    slow.cooks = 1;
    slow.max_orders = 1;
    slow.bake_time = 250ms;
    slow.reclaim_after = 500ms;
    Kitchen::Options thief_options = slow;
    thief_options.name = "thief";
    thief_options.max_orders = 0;
    thief_options.bake_time = 0ms;
    std::vector<BakedOrder> slow_baked;
    std::vector<BakedOrder> thief_baked;
    Kitchen kitchen(slow, [&](const BakedOrder& order) { slow_baked.push_back(order); });
    Kitchen thief(thief_options, [&](const BakedOrder& order) { thief_baked.push_back(order); });
    TaskGroup group;
    group.spawn(kitchen.run());
    // The thief starts once the slow cook holds the order.
    RedisConnection check = co_await RedisConnection::open("127.0.0.1", redis.port());
    for (int i = 0; i < 1000; ++i) {
      const RedisReply groups = co_await check.command(words("EXISTS", kDefaultOrderStream));
      if (groups.integer == 1 &&
          !(co_await check.command(words("XPENDING", kDefaultOrderStream, "kitchen"))).is_error() &&
          co_await pending(check) == 1) {
        break;
      }
      co_await sleep(2ms);
    }
    group.spawn(thief.run());
    for (int i = 0; i < 3000 && kitchen.baked() == 0; ++i) {
      co_await sleep(10ms);
    }
    EXPECT_EQ(kitchen.baked(), 1U);
    kitchen.close();
    thief.close();
    co_await group.join();
    EXPECT_EQ(slow_baked.size(), 1U);
    EXPECT_TRUE(thief_baked.empty());
  }());
}

// Waits until `done()` (asked every few ms), at most ~10 s: a bound for a
// loaded machine, not a timing. Returns whether it came.
template <class Predicate>
Task<bool> eventually(Predicate done) {
  for (int i = 0; i < 2000; ++i) {
    if (co_await done()) {
      co_return true;
    }
    co_await sleep(5ms);
  }
  co_return false;
}

// The consumer holding the pending order `id` and its delivery count, or
// {"", 0} when it is not pending.
Task<std::pair<std::string, std::int64_t>> holder(RedisConnection& redis, const std::string& id) {
  const RedisReply found =
      co_await redis.command(words("XPENDING", kDefaultOrderStream, "kitchen", id, id, "1"));
  if (found.kind != RedisReply::Kind::array || found.elements.empty()) {
    co_return std::pair<std::string, std::int64_t>{"", 0};
  }
  co_return std::pair{found.elements[0].elements.at(1).text,
                      found.elements[0].elements.at(3).integer};
}

// The id of the only entry on the stream ("" if none).
Task<std::string> only_entry(RedisConnection& redis) {
  const auto all = co_await entries(redis);
  co_return all.size() == 1 ? all[0].first : std::string();
}

Task<std::vector<std::string>> consumers(RedisConnection& redis) {
  const RedisReply listed =
      co_await redis.command(words("XINFO", "CONSUMERS", kDefaultOrderStream, "kitchen"));
  std::vector<std::string> names;
  for (const RedisReply& consumer : listed.elements) {
    names.push_back(consumer.elements.at(1).text);
  }
  co_return names;
}

TEST(KitchenQueue, TellsTheTruthAboutAnOrderSentToARedisPausedPastTheTimeout) {
  // SIGSTOP: the order is in Redis's socket buffer and runs when Redis
  // resumes. It used to be told "closed" at the timeout and then appear on
  // the stream. Redis resumes as the timeout gives up (the log line), so
  // the order and the fence race; whichever wins, the answer must match
  // the stream.
  test::RedisServer redis;
  run([&]() -> Task<void> {
    KitchenQueue::Options options = queue_options(redis);
    options.timeout = 100ms;
    options.lookup_timeout = 30s;
    RedisConnection check = co_await RedisConnection::open("127.0.0.1", redis.port());
    for (int round = 0; round < 3; ++round) {
      KitchenQueue queue(options, [&](std::string_view line) {
        if (line.find("no answer within") != std::string_view::npos) {
          redis.resume();
        }
      });
      EXPECT_EQ(co_await queue.place(pizzas(1)), placed(1));  // connected, before the pause
      redis.pause();
      const std::vector<Placement> answer = co_await queue.place(pizzas(2, 3));
      redis.resume();  // in case the order was answered before the timeout
      EXPECT_EQ(answer.size(), 2U);
      if (answer.size() != 2U) {
        co_return;
      }
      // The fence was answered, so the token keys are settled: a script that
      // has not run yet never will add its entry.
      std::set<std::string> on_stream;
      for (const auto& [id, count] : co_await entries(check)) {
        on_stream.insert(count);
      }
      EXPECT_NE(answer[0], Placement::unknown);
      EXPECT_NE(answer[1], Placement::unknown);
      EXPECT_EQ(on_stream.count("2") == 1, answer[0] == Placement::placed) << "round " << round;
      EXPECT_EQ(on_stream.count("3") == 1, answer[1] == Placement::placed) << "round " << round;
      (co_await check.command(words("DEL", kDefaultOrderStream))).or_throw("DEL");
    }
  }());
}

TEST(Kitchen, ReportsARepeatBakeAsADuplicateAndNotAsABake) {
  // A cook cut off past reclaim_after wakes up and acknowledges an order
  // that another kitchen reclaimed and baked meanwhile. Its XACK counted 0
  // and it printed a normal bake: the order baked twice, unmarked.
  test::RedisServer redis;
  run([&]() -> Task<void> {
    KitchenQueue queue(queue_options(redis));
    EXPECT_EQ(co_await queue.place(pizzas(1)), placed(1));
    RedisConnection check = co_await RedisConnection::open("127.0.0.1", redis.port());
    const std::string id = co_await only_entry(check);
    Kitchen::Options sleepy = kitchen_options(redis);
    sleepy.name = "sleepy";
    sleepy.cooks = 1;
    sleepy.max_orders = 1;
    sleepy.bake_time = 1000ms;     // one step: no renewal before it ends
    sleepy.reclaim_after = 10min;  // renews every 5 min: never, here
    Kitchen::Options other = kitchen_options(redis);
    other.name = "other";
    other.cooks = 1;
    other.max_orders = 1;
    other.reclaim_after = 1ms;  // takes anything idle at once
    std::vector<BakedOrder> sleepy_baked;
    std::vector<BakedOrder> other_baked;
    Kitchen first(sleepy, [&](const BakedOrder& order) { sleepy_baked.push_back(order); });
    Kitchen second(other, [&](const BakedOrder& order) { other_baked.push_back(order); });
    TaskGroup group;
    group.spawn(first.run());
    EXPECT_TRUE(co_await eventually(
        [&]() -> Task<bool> { co_return (co_await holder(check, id)).first == "sleepy-1"; }));
    group.spawn(second.run());
    co_await group.join();
    EXPECT_EQ(other_baked.size(), 1U);
    if (other_baked.size() != 1U) {
      co_return;
    }
    EXPECT_FALSE(other_baked[0].duplicate);
    EXPECT_EQ(sleepy_baked.size(), 1U);
    if (sleepy_baked.size() != 1U) {
      co_return;
    }
    EXPECT_TRUE(sleepy_baked[0].duplicate);
    EXPECT_EQ(sleepy_baked[0].first, "other-1");
    EXPECT_EQ(first.baked(), 0U);
    EXPECT_EQ(first.duplicates(), 1U);
  }());
}

TEST(Kitchen, GivesAnOrderUpWhenAnotherCookReclaimedItInsteadOfTakingItBack) {
  // The renewal used XCLAIM with a minimum idle time of 0: it took the
  // order back from the cook that had reclaimed it, and both baked it.
  test::RedisServer redis;
  run([&]() -> Task<void> {
    KitchenQueue queue(queue_options(redis));
    EXPECT_EQ(co_await queue.place(pizzas(40)), placed(1));
    RedisConnection check = co_await RedisConnection::open("127.0.0.1", redis.port());
    const std::string id = co_await only_entry(check);
    Kitchen::Options options = kitchen_options(redis);
    options.cooks = 1;
    options.bake_time = 50ms;  // 2 s in all, renewing every 100 ms
    options.reclaim_after = 200ms;
    std::vector<std::string> log;
    std::vector<BakedOrder> baked;
    Kitchen* self = nullptr;
    Kitchen kitchen(
        options, [&](const BakedOrder& order) { baked.push_back(order); },
        [&](std::string_view line) {
          log.emplace_back(line);
          self->close();
        });
    self = &kitchen;
    TaskGroup group;
    group.spawn(kitchen.run());
    EXPECT_TRUE(co_await eventually(
        [&]() -> Task<bool> { co_return (co_await holder(check, id)).first == "test-1"; }));
    // Another kitchen's cook reclaims it (as if this one had been cut off).
    (co_await check.command(
         words("XCLAIM", kDefaultOrderStream, "kitchen", "thief-1", "0", id, "JUSTID")))
        .or_throw("XCLAIM");
    co_await group.join();
    EXPECT_TRUE(baked.empty());
    EXPECT_EQ(log.size(), 1U);
    if (log.size() != 1U) {
      co_return;
    }
    EXPECT_EQ(log[0], "cook 1 gave up order " + id +
                          ": thief-1 reclaimed it while this cook was not heard of for 200 ms");
    EXPECT_EQ((co_await holder(check, id)).first, "thief-1");
  }());
}

TEST(Kitchen, MovesAnOrderThatKillsItsCooksToTheDeadLetterStreamAfterMaxDeliveries) {
  // A poison order: every kitchen that takes it dies mid-bake (here: is
  // cancelled). Reclaiming with XAUTOCLAIM JUSTID kept its delivery count
  // at 1, so it was reclaimed and re-baked for ever.
  test::RedisServer redis;
  run([&]() -> Task<void> {
    KitchenQueue queue(queue_options(redis));
    EXPECT_EQ(co_await queue.place(pizzas(3)), placed(1));
    RedisConnection check = co_await RedisConnection::open("127.0.0.1", redis.port());
    const std::string id = co_await only_entry(check);
    Kitchen::Options options = kitchen_options(redis);
    options.cooks = 1;
    options.bake_time = 1h;  // never done: the kitchen dies first
    options.reclaim_after = 1ms;
    options.max_deliveries = 3;
    for (std::int64_t delivery = 1; delivery <= 3; ++delivery) {
      options.name = "doomed" + std::to_string(delivery);
      Kitchen doomed(options, nullptr);
      const std::pair<std::string, std::int64_t> expected{options.name + "-1", delivery};
      const auto delivered = [&]() -> Task<void> {
        EXPECT_TRUE(co_await eventually(
            [&]() -> Task<bool> { co_return co_await holder(check, id) == expected; }));
      };
      co_await when_any(doomed.run(), delivered());  // the kitchen is killed
    }
    options.name = "survivor";
    std::vector<std::string> log;
    std::vector<BakedOrder> baked;
    Kitchen* self = nullptr;
    Kitchen survivor(
        options, [&](const BakedOrder& order) { baked.push_back(order); },
        [&](std::string_view line) {
          log.emplace_back(line);
          if (line.find("moved to") != std::string_view::npos) {
            self->close();
          }
        });
    self = &survivor;
    co_await timeout(30s, survivor.run());
    EXPECT_TRUE(baked.empty());
    EXPECT_EQ(survivor.dead_lettered(), 1U);
    EXPECT_EQ(co_await pending(check), 0);
    EXPECT_TRUE((co_await entries(check)).empty());
    const std::vector<DeadLetter> dead =
        co_await Kitchen::dead_letters(check, kDefaultOrderStream, 10);
    EXPECT_EQ(dead.size(), 1U);
    if (dead.size() != 1U) {
      co_return;
    }
    EXPECT_EQ(dead[0].order, id);
    EXPECT_EQ(dead[0].reason, "delivered 3 times without being acknowledged (--max-deliveries 3)");
    EXPECT_EQ(dead[0].fields.rfind("pizzas 3 token ", 0), 0U) << dead[0].fields;
  }());
}

TEST(Kitchen, RemovesTheCooksOfAKilledKitchenFromTheGroup) {
  // A killed kitchen's cooks stayed in the group for ever, one more pair per
  // restart. Once their orders were reclaimed and they are silent past
  // forget_cooks_after, the living remove them.
  test::RedisServer redis;
  run([&]() -> Task<void> {
    KitchenQueue queue(queue_options(redis));
    EXPECT_EQ(co_await queue.place(pizzas(2)), placed(1));
    RedisConnection check = co_await RedisConnection::open("127.0.0.1", redis.port());
    const std::string id = co_await only_entry(check);
    Kitchen::Options killed_options = kitchen_options(redis);
    killed_options.name = "killed";
    killed_options.bake_time = 1h;
    killed_options.forget_cooks_after = 100ms;  // how long its heartbeats outlive it
    Kitchen killed(killed_options, nullptr);
    // Named, not a temporary in the co_await (GCC 12).
    const auto taken = [&]() -> Task<void> {
      EXPECT_TRUE(co_await eventually([&]() -> Task<bool> {
        co_return (co_await holder(check, id)).first.rfind("killed-", 0) == 0;
      }));
    };
    co_await when_any(killed.run(), taken());
    std::size_t killed_cooks = 0;  // those Redis made: a cook is made at its first delivery
    for (const std::string& name : co_await consumers(check)) {
      killed_cooks += name.rfind("killed-", 0) == 0 ? 1 : 0;
    }
    EXPECT_GE(killed_cooks, 1U);
    Kitchen::Options options = kitchen_options(redis);
    options.name = "living";
    options.reclaim_after = 50ms;
    options.forget_cooks_after = 100ms;
    std::vector<BakedOrder> baked;
    Kitchen living(options, [&](const BakedOrder& order) { baked.push_back(order); });
    TaskGroup group;
    group.spawn(living.run());
    const bool forgotten = co_await eventually([&]() -> Task<bool> {
      for (const std::string& name : co_await consumers(check)) {
        if (name.rfind("killed-", 0) == 0) {
          co_return false;
        }
      }
      co_return true;
    });
    living.close();
    co_await group.join();
    EXPECT_TRUE(forgotten);
    EXPECT_EQ(living.forgotten_cooks(), killed_cooks);
    EXPECT_EQ(baked.size(), 1U);  // the order the killed kitchen left
    if (baked.size() != 1U) {
      co_return;
    }
    EXPECT_EQ(baked[0].id, id);
    EXPECT_TRUE((co_await consumers(check)).empty());
  }());
}

}  // namespace
}  // namespace pz::pizza
