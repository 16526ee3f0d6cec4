// Kitchen and KitchenQueue against servers that are not (well-behaved)
// Redis: test::FakeRedis sends exactly the bytes each test needs, so the
// answers a real Redis gives only in odd moments (LOADING after a restart)
// or never (wrong shapes) are tested deterministically.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "pizzeria/coro/run.hpp"
#include "pizzeria/coro/timeout.hpp"
#include "pizzeria/net/redis_error.hpp"
#include "pizzeria/pizza/kitchen.hpp"
#include "pizzeria/pizza/kitchen_queue.hpp"
#include "support/fake_redis.hpp"

using namespace std::chrono_literals;

namespace pz::pizza {
namespace {

using Words = std::vector<std::string>;

Kitchen::Options options_for(const test::FakeRedis& fake) {
  Kitchen::Options options;
  options.host = "127.0.0.1";
  options.port = fake.port();
  options.name = "test";
  options.cooks = 1;
  options.bake_time = 0ms;
  options.poll = 20ms;
  return options;
}

std::string bulk(const std::string& text) {
  return "$" + std::to_string(text.size()) + "\r\n" + text + "\r\n";
}

// XREADGROUP's answer with one entry: [[stream, [[id, [field, value...]]]]].
std::string one_entry(const std::string& id, const Words& fields) {
  std::string reply = "*1\r\n*2\r\n" + bulk(std::string(kDefaultOrderStream)) + "*1\r\n*2\r\n" +
                      bulk(id) + "*" + std::to_string(fields.size()) + "\r\n";
  for (const std::string& field : fields) {
    reply += bulk(field);
  }
  return reply;
}

constexpr std::string_view kNothingToReclaim = "*3\r\n$3\r\n0-0\r\n*0\r\n*0\r\n";

// A fake kitchen Redis: the group exists, nothing to reclaim, acks and
// deletes succeed, XPENDING lists nothing; `read` answers XREADGROUP.
void kitchen_script(test::FakeRedis::Peer& peer, const std::function<std::string()>& read) {
  for (Words command = peer.read_command(); !command.empty(); command = peer.read_command()) {
    const std::string& name = command.front();
    std::string reply;
    if (name == "XGROUP") {
      reply = "+OK\r\n";
    } else if (name == "XAUTOCLAIM") {
      reply = kNothingToReclaim;
    } else if (name == "XREADGROUP") {
      reply = read();
    } else if (name == "XACK" || name == "XDEL") {
      reply = ":1\r\n";
    } else {
      reply = "*0\r\n";
    }
    if (!peer.send(reply)) {
      return;
    }
  }
}

struct Outcome {
  std::vector<std::string> log;
  std::vector<BakedOrder> baked;
  std::string error;  // what run() raised, if it did
};

// Runs the kitchen until `done` (given the log so far) says to close it.
// Bounded: a kitchen that never gets there fails the test with a timeout.
Outcome run_kitchen(Kitchen::Options options,
                    const std::function<bool(const std::vector<std::string>&)>& done) {
  Outcome outcome;
  Kitchen* self = nullptr;
  Kitchen kitchen(
      std::move(options), [&](const BakedOrder& order) { outcome.baked.push_back(order); },
      [&](std::string_view line) {
        outcome.log.emplace_back(line);
        if (done(outcome.log)) {
          self->close();
        }
      });
  self = &kitchen;
  try {
    run([&]() -> Task<void> { co_await timeout(10s, kitchen.run()); }());
  } catch (const std::exception& error) {
    outcome.error = error.what();
  }
  return outcome;
}

TEST(KitchenAgainstABadServer, RidesOutRedisLoadingItsDataAfterARestart) {
  // A Redis that restarts with a large data set accepts connections and
  // answers -LOADING until it has read it. That is a restart, not a setup
  // mistake: the cook waits and goes on, it does not end the kitchen.
  std::atomic<int> reads{0};
  test::FakeRedis fake([&](test::FakeRedis::Peer& peer) {
    if (peer.number() == 2) {  // the first cook's connection (the 1st made the group)
      for (Words command = peer.read_command(); !command.empty(); command = peer.read_command()) {
        if (!peer.send("-LOADING Redis is loading the dataset in memory\r\n")) {
          return;
        }
      }
      return;
    }
    kitchen_script(peer, [&] {
      return reads.fetch_add(1) == 0 ? one_entry("5-0", {"pizzas", "2"}) : std::string("*-1\r\n");
    });
  });
  Kitchen::Options options = options_for(fake);
  options.max_orders = 1;
  const Outcome outcome = run_kitchen(options, [](const auto&) { return false; });
  EXPECT_EQ(outcome.error, "");
  ASSERT_EQ(outcome.baked.size(), 1U);
  EXPECT_EQ(outcome.baked[0].id, "5-0");
  EXPECT_EQ(outcome.baked[0].pizzas, 2);
  ASSERT_EQ(outcome.log.size(), 2U);
  EXPECT_EQ(outcome.log[0], "cook 1 lost Redis (Redis at 127.0.0.1:" + std::to_string(fake.port()) +
                                " cannot serve XAUTOCLAIM now: LOADING Redis is loading the "
                                "dataset in memory); retrying every second");
  EXPECT_EQ(outcome.log[1], "cook 1 reconnected to Redis");
}

TEST(KitchenAgainstABadServer, DropsAConnectionThatAnswersXreadgroupWronglyInsteadOfLoopingOnIt) {
  // An integer where an entry or nil belongs: not Redis's answer. The old
  // kitchen took it for "no order" and asked again at once, for ever.
  std::atomic<int> reads{0};
  test::FakeRedis fake([&](test::FakeRedis::Peer& peer) {
    kitchen_script(peer, [&] {
      reads.fetch_add(1);
      return std::string(":1\r\n");
    });
  });
  const Outcome outcome =
      run_kitchen(options_for(fake), [](const auto& log) { return !log.empty(); });
  EXPECT_EQ(outcome.error, "");
  ASSERT_FALSE(outcome.log.empty());
  EXPECT_EQ(outcome.log[0], "cook 1 lost Redis (Redis at 127.0.0.1:" + std::to_string(fake.port()) +
                                " answered XREADGROUP with the integer 1, not nil or [[stream, "
                                "[entry]]] (is it Redis?)); retrying every second");
  EXPECT_EQ(reads.load(), 1);
}

TEST(KitchenAgainstABadServer, KeepsTheLogLineOfAHugeEntryThatIsNotAnOrderShort) {
  const std::string note(100000, 'y');
  std::atomic<int> reads{0};
  test::FakeRedis fake([&](test::FakeRedis::Peer& peer) {
    kitchen_script(peer, [&] {
      return reads.fetch_add(1) == 0 ? one_entry("7-0", {"note", note}) : std::string("*-1\r\n");
    });
  });
  const Outcome outcome =
      run_kitchen(options_for(fake), [](const auto& log) { return !log.empty(); });
  EXPECT_EQ(outcome.error, "");
  ASSERT_EQ(outcome.log.size(), 1U);
  EXPECT_EQ(outcome.log[0], "entry 7-0 is not an order (note " + std::string(195, 'y') +
                                "... (100005 bytes); an order has a field pizzas of 1 or more): "
                                "acknowledged and skipped");
}

TEST(KitchenAgainstABadServer, NamesTheRedisAddressWhenRedisRefusesTheKitchen) {
  // Redis with requirepass, say: a setup mistake, fatal, and the message
  // must say which Redis refused what.
  test::FakeRedis fake([](test::FakeRedis::Peer& peer) {
    while (!peer.read_command().empty()) {
      if (!peer.send("-NOAUTH Authentication required.\r\n")) {
        return;
      }
    }
  });
  const Outcome outcome = run_kitchen(options_for(fake), [](const auto&) { return false; });
  EXPECT_EQ(outcome.error, "Redis at 127.0.0.1:" + std::to_string(fake.port()) +
                               " refused XGROUP CREATE (making the consumer group kitchen): "
                               "NOAUTH Authentication required.");
}

TEST(KitchenAgainstABadServer, CutsAndEscapesARefusalOfMegabytesWithRawBytesInIt) {
  // Redis's error text goes into the kitchen's error and log: from a peer
  // that is not Redis it could be 4 MiB, with newlines that forge log lines
  // and escapes that drive the terminal.
  const std::string forged = "ERR x\nkitchen: all fine\x1b[2J" + std::string(3 << 20, 'z');
  test::FakeRedis fake([&](test::FakeRedis::Peer& peer) {
    while (!peer.read_command().empty()) {
      if (!peer.send("-" + forged + "\r\n")) {
        return;
      }
    }
  });
  const Outcome outcome = run_kitchen(options_for(fake), [](const auto&) { return false; });
  const std::string shown = "ERR x\\nkitchen: all fine\\x1b[2J" + std::string(200 - 31, 'z') +
                            "... (" + std::to_string(forged.size()) + " bytes)";
  EXPECT_EQ(outcome.error, "Redis at 127.0.0.1:" + std::to_string(fake.port()) +
                               " refused XGROUP CREATE (making the consumer group kitchen): " +
                               shown);
}

TEST(KitchenAgainstABadServer, GivesUpOnARedisThatNeverAnswersAndSaysSo) {
  // Accepts, reads, never answers (stopped, or its machine gone without a
  // reset): the old kitchen waited for ever without a word.
  test::FakeRedis fake([](test::FakeRedis::Peer& peer) {
    while (!peer.read_command().empty()) {
    }
  });
  Kitchen::Options options = options_for(fake);
  options.answer_timeout = 50ms;
  const Outcome outcome = run_kitchen(options, [](const auto&) { return false; });
  EXPECT_EQ(outcome.error,
            "kitchen: cannot reach Redis at 127.0.0.1:" + std::to_string(fake.port()) +
                ": Redis at 127.0.0.1:" + std::to_string(fake.port()) +
                " did not answer XGROUP within 50 ms");
}

KitchenQueue::Options queue_options_for(const test::FakeRedis& fake) {
  KitchenQueue::Options options;
  options.host = "127.0.0.1";
  options.port = fake.port();
  options.retry_interval = 0ms;  // reconnect at the next order
  return options;
}

TEST(KitchenQueueAgainstABadServer, DropsAConnectionThatAnswersXaddWithSomethingElseThanAnId) {
  // The first connection answers XADD with an integer (not Redis, or out
  // of step); the second like Redis. Only an id confirms an order, and the
  // connection that gave something else is not used again.
  test::FakeRedis fake([](test::FakeRedis::Peer& peer) {
    const std::string reply = peer.number() == 1 ? ":5\r\n" : "$3\r\n9-0\r\n";
    while (!peer.read_command().empty()) {
      if (!peer.send(reply)) {
        return;
      }
    }
  });
  std::vector<std::string> log;
  const auto [first, second] = run([&]() -> Task<std::pair<std::vector<bool>, std::vector<bool>>> {
    // In the coroutine: its connection belongs to run()'s loop.
    KitchenQueue queue(queue_options_for(fake),
                       [&](std::string_view line) { log.emplace_back(line); });
    std::vector<int> three{3};
    std::vector<int> four{4};
    std::vector<bool> one = co_await queue.place(three);
    std::vector<bool> two = co_await queue.place(four);
    co_return std::pair{one, two};
  }());
  EXPECT_EQ(first, std::vector<bool>{false});
  EXPECT_EQ(second, std::vector<bool>{true});
  EXPECT_EQ(fake.connections(), 2);
  const std::string address = "127.0.0.1:" + std::to_string(fake.port());
  EXPECT_EQ(log, (std::vector<std::string>{
                     "kitchen at " + address +
                         " unreachable (it answered XADD with the integer 5, not an entry id (is "
                         "it Redis?)): orders are refused until it is back",
                     "kitchen at " + address + " reachable again"}));
}

TEST(KitchenQueueAgainstABadServer, LogsOneLineForABatchOfRefusedOrders) {
  // Redis out of memory refuses every XADD. A line per order would let a
  // client write the server's log as fast as it orders.
  test::FakeRedis fake([](test::FakeRedis::Peer& peer) {
    while (!peer.read_command().empty()) {
      if (!peer.send("-OOM command not allowed when used memory > 'maxmemory'.\r\n")) {
        return;
      }
    }
  });
  std::vector<std::string> log;
  const std::vector<bool> placed = run([&]() -> Task<std::vector<bool>> {
    KitchenQueue queue(queue_options_for(fake),
                       [&](std::string_view line) { log.emplace_back(line); });
    co_return co_await queue.place(std::vector<int>(100, 2));
  }());
  EXPECT_EQ(placed, std::vector<bool>(100, false));
  EXPECT_EQ(log, std::vector<std::string>{
                     "kitchen at 127.0.0.1:" + std::to_string(fake.port()) +
                     " refused 100 orders: OOM command not allowed when used memory > "
                     "'maxmemory'."});
}

}  // namespace
}  // namespace pz::pizza
