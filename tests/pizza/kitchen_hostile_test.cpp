// Kitchen and KitchenQueue against servers that are not (well-behaved)
// Redis: test::FakeRedis sends exactly the bytes each test needs, so the
// answers a real Redis gives only in odd moments (LOADING after a restart)
// or never (wrong shapes) are tested deterministically.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "pizzeria/coro/run.hpp"
#include "pizzeria/coro/sleep.hpp"
#include "pizzeria/coro/task_group.hpp"
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

// What Redis answers a kitchen's script (EVAL): the sweep of dead cooks
// removes none; an acknowledgement acknowledges (now) for the consumer it
// names; a renewal finds the order still the consumer's.
std::string script_reply(const Words& command) {
  const std::string& script = command.at(1);
  if (script.find("XINFO") != std::string::npos) {
    return "*0\r\n";
  }
  if (script.find("XACK") != std::string::npos) {
    return "*2\r\n:1\r\n" + bulk(command.at(7));
  }
  return bulk(command.at(6));
}

// A fake kitchen Redis: the group exists, nothing to reclaim (XPENDING
// lists nothing), scripts as script_reply; `read` answers XREADGROUP.
void kitchen_script(test::FakeRedis::Peer& peer, const std::function<std::string()>& read) {
  for (Words command = peer.read_command(); !command.empty(); command = peer.read_command()) {
    const std::string& name = command.front();
    std::string reply;
    if (name == "XGROUP") {
      reply = "+OK\r\n";
    } else if (name == "XREADGROUP") {
      reply = read();
    } else if (name == "EVAL") {
      reply = script_reply(command);
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
                                " cannot serve XPENDING now: LOADING Redis is loading the "
                                "dataset in memory); retrying every second");
  EXPECT_EQ(outcome.log[1], "cook 1 reconnected to Redis");
}

TEST(KitchenAgainstABadServer, ReportsABakeOnlyOnceRedisConfirmedItsAcknowledgementAndAsksAgain) {
  // The acknowledgement of the baked order gets no answer (Redis paused
  // just then). The cook used to drop the connection and forget the order,
  // which Redis then acknowledged on resume: gone, never reported baked.
  // Now it keeps it and acknowledges again on the next connection, where
  // Redis says this very cook's acknowledgement already went through.
  std::atomic<int> reads{0};
  std::mutex lock;             // TSan does not see the sockets' order
  std::vector<Words> retried;  // the acknowledgements the third connection got
  test::FakeRedis fake([&](test::FakeRedis::Peer& peer) {
    if (peer.number() == 2) {  // the cook's first connection
      for (Words command = peer.read_command(); !command.empty(); command = peer.read_command()) {
        std::string reply;
        if (command[0] == "XREADGROUP") {
          reply = reads.fetch_add(1) == 0 ? one_entry("5-0", {"pizzas", "2"}) : "*-1\r\n";
        } else if (command[0] == "EVAL" && command[1].find("XACK") != std::string::npos) {
          continue;  // never answered
        } else if (command[0] == "EVAL") {
          reply = script_reply(command);
        } else {
          reply = command[0] == "XGROUP" ? "+OK\r\n" : "*0\r\n";
        }
        if (!peer.send(reply)) {
          return;
        }
      }
      return;
    }
    for (Words command = peer.read_command(); !command.empty(); command = peer.read_command()) {
      std::string reply = "*0\r\n";
      if (command[0] == "XGROUP") {
        reply = "+OK\r\n";
      } else if (command[0] == "EVAL" && command[1].find("XACK") != std::string::npos) {
        if (peer.number() == 3) {
          const std::lock_guard guard(lock);
          retried.push_back(command);
        }
        reply = "*2\r\n:0\r\n" + bulk(command.at(7));  // acknowledged before, by this cook
      } else if (command[0] == "EVAL") {
        reply = script_reply(command);
      } else if (command[0] == "XREADGROUP") {
        reply = "*-1\r\n";
      }
      if (!peer.send(reply)) {
        return;
      }
    }
  });
  Kitchen::Options options = options_for(fake);
  options.max_orders = 1;
  options.answer_timeout = 50ms;
  const Outcome outcome = run_kitchen(options, [](const auto&) { return false; });
  EXPECT_EQ(outcome.error, "");
  ASSERT_EQ(outcome.baked.size(), 1U);
  EXPECT_EQ(outcome.baked[0].id, "5-0");
  EXPECT_FALSE(outcome.baked[0].duplicate);
  const std::lock_guard guard(lock);
  ASSERT_FALSE(retried.empty());
  EXPECT_EQ(retried[0].at(6), "5-0");
  ASSERT_FALSE(outcome.log.empty());
  EXPECT_NE(outcome.log[0].find("did not answer XACK within 50 ms"), std::string::npos)
      << outcome.log[0];
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
  EXPECT_EQ(outcome.error,
            "Redis at 127.0.0.1:" + std::to_string(fake.port()) +
                " refused XGROUP CREATE (making the consumer group kitchen): " + shown);
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
  using Placements = std::vector<KitchenQueue::Placement>;
  const auto [first, second] = run([&]() -> Task<std::pair<Placements, Placements>> {
    // In the coroutine: its connection belongs to run()'s loop.
    KitchenQueue queue(queue_options_for(fake),
                       [&](std::string_view line) { log.emplace_back(line); });
    std::vector<int> three{3};
    std::vector<int> four{4};
    Placements one = co_await queue.place(three);
    Placements two = co_await queue.place(four);
    co_return std::pair{one, two};
  }());
  EXPECT_EQ(first, Placements{KitchenQueue::Placement::refused});
  EXPECT_EQ(second, Placements{KitchenQueue::Placement::placed});
  EXPECT_EQ(fake.connections(), 2);
  const std::string address = "127.0.0.1:" + std::to_string(fake.port());
  EXPECT_EQ(log, (std::vector<std::string>{
                     "kitchen at " + address +
                         " unreachable (it answered XADD with the integer 5, not an entry id (is "
                         "it Redis?)): orders are refused until it is back",
                     "kitchen at " + address + " reachable again"}));
}

using Placements = std::vector<KitchenQueue::Placement>;

// A fake whose first connection reads `orders` orders and never answers
// (or, with `confirm_first`, confirms the first and hangs up); later
// connections answer fences with `fence` (unless it is empty: silence).
// `seen` gets the tokens of the orders and of the fences.
// (The fake's threads write, the test reads: under `lock`, since TSan does
// not see the order that the sockets impose.)
struct LateKitchen {
  std::atomic<int> orders_read{0};
  std::mutex lock;
  std::vector<std::string> order_tokens;
  std::vector<Words> fences;
  std::vector<std::string> tokens() {
    const std::lock_guard guard(lock);
    return order_tokens;
  }
  std::vector<Words> fenced() {
    const std::lock_guard guard(lock);
    return fences;
  }
};

void late_kitchen_script(test::FakeRedis::Peer& peer, LateKitchen& seen, int orders,
                         bool confirm_first, const std::string& fence) {
  if (peer.number() == 1) {
    for (int i = 0; i < orders; ++i) {
      Words command = peer.read_command();
      if (command.empty()) {
        return;
      }
      {
        const std::lock_guard guard(seen.lock);
        seen.order_tokens.push_back(command.at(4));  // EVAL script 2 stream key ...
      }
      seen.orders_read.fetch_add(1);
    }
    if (confirm_first) {
      peer.send(bulk("7-0"));
      peer.hang_up();
    }
    while (!peer.read_command().empty()) {
    }
    return;
  }
  for (Words command = peer.read_command(); !command.empty(); command = peer.read_command()) {
    {
      const std::lock_guard guard(seen.lock);
      seen.fences.push_back(command);
    }
    if (!fence.empty() && !peer.send(fence)) {
      return;
    }
  }
}

KitchenQueue::Options late_options(const test::FakeRedis& fake) {
  KitchenQueue::Options options = queue_options_for(fake);
  options.timeout = 50ms;
  return options;
}

Placements place_on(std::vector<int> pizzas, KitchenQueue::Options options) {
  return run([&]() -> Task<Placements> {
    KitchenQueue queue(options);
    co_return co_await queue.place(pizzas);
  }());
}

// The fence the queue must send for an order's token key.
Words fence_for(const std::string& key) {
  return Words{"SET", key, "fenced", "NX", "GET", "EX", "86400"};
}

TEST(KitchenQueueAgainstABadServer, ThanksForALateOrderWhenItsTokenShowsItRan) {
  // No answer in time; the fence finds the token's key holding the entry's
  // id: the order did reach the stream. It used to be told "closed".
  LateKitchen seen;
  test::FakeRedis fake(
      [&](test::FakeRedis::Peer& peer) { late_kitchen_script(peer, seen, 1, false, bulk("9-0")); });
  EXPECT_EQ(place_on({3}, late_options(fake)), Placements{KitchenQueue::Placement::placed});
  const auto tokens = seen.tokens();
  const auto fences = seen.fenced();
  ASSERT_EQ(tokens.size(), 1U);
  ASSERT_EQ(fences.size(), 1U);
  EXPECT_EQ(fences[0], fence_for(tokens[0]));
}

TEST(KitchenQueueAgainstABadServer, RefusesALateOrderOnlyOnceAFenceStoppedItFromEverRunning) {
  LateKitchen seen;
  test::FakeRedis fake(
      [&](test::FakeRedis::Peer& peer) { late_kitchen_script(peer, seen, 1, false, "$-1\r\n"); });
  EXPECT_EQ(place_on({3}, late_options(fake)), Placements{KitchenQueue::Placement::refused});
  const auto tokens = seen.tokens();
  const auto fences = seen.fenced();
  ASSERT_EQ(fences.size(), 1U);
  EXPECT_EQ(fences[0], fence_for(tokens.at(0)));
}

TEST(KitchenQueueAgainstABadServer, SaysItDoesNotKnowWhenNeitherTheOrderNorItsFenceIsAnswered) {
  LateKitchen seen;
  test::FakeRedis fake(
      [&](test::FakeRedis::Peer& peer) { late_kitchen_script(peer, seen, 1, false, ""); });
  KitchenQueue::Options options = late_options(fake);
  options.lookup_timeout = 100ms;
  EXPECT_EQ(place_on({3}, options), Placements{KitchenQueue::Placement::unknown});
}

TEST(KitchenQueueAgainstABadServer, KeepsTheConfirmationsThatCameBeforeTheConnectionBroke) {
  // Three orders in one batch; Redis confirms the first and the connection
  // ends. All three used to be told "closed"; the first is on the stream.
  LateKitchen seen;
  test::FakeRedis fake(
      [&](test::FakeRedis::Peer& peer) { late_kitchen_script(peer, seen, 3, true, "$-1\r\n"); });
  KitchenQueue::Options options = late_options(fake);
  options.timeout = 30s;  // the break, not the timeout
  EXPECT_EQ(place_on({1, 2, 3}, options),
            (Placements{KitchenQueue::Placement::placed, KitchenQueue::Placement::refused,
                        KitchenQueue::Placement::refused}));
  const auto tokens = seen.tokens();
  const auto fences = seen.fenced();
  ASSERT_EQ(fences.size(), 2U);  // only the two unanswered are looked up
  EXPECT_EQ(fences[1], fence_for(tokens.at(2)));
}

TEST(KitchenQueueAgainstABadServer, SendsNoNewOrderOnAConnectionWhoseReplyIsOverdue) {
  // A paused Redis: orders that came while the first waited used to queue
  // on the same stuck connection, sent, and then all told "closed".
  LateKitchen seen;
  test::FakeRedis fake(
      [&](test::FakeRedis::Peer& peer) { late_kitchen_script(peer, seen, 2, false, "$-1\r\n"); });
  KitchenQueue::Options options = late_options(fake);
  options.timeout = 500ms;
  options.stall_after = 0ms;  // any reply due is overdue
  const auto [first, second] = run([&]() -> Task<std::pair<Placements, Placements>> {
    KitchenQueue queue(options);
    std::vector<int> one{1};
    std::vector<int> two{2};
    auto later = [&]() -> Task<Placements> {
      for (int i = 0; i < 5000 && seen.orders_read.load() == 0; ++i) {
        co_await sleep(1ms);
      }
      co_return co_await queue.place(two);
    };
    Placements a;
    Placements b;
    // Named: a coroutine lambda's captures live in the lambda, which must
    // outlive the coroutine.
    auto first_order = [&]() -> Task<void> { a = co_await queue.place(one); };
    auto second_order = [&]() -> Task<void> { b = co_await later(); };
    TaskGroup both;
    both.spawn(first_order());
    both.spawn(second_order());
    co_await both.join();
    co_return std::pair{a, b};
  }());
  EXPECT_EQ(first, Placements{KitchenQueue::Placement::refused});   // fenced
  EXPECT_EQ(second, Placements{KitchenQueue::Placement::refused});  // never sent
  EXPECT_EQ(seen.orders_read.load(), 1);
  EXPECT_EQ(seen.tokens().size(), 1U);
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
  const auto placed = run([&]() -> Task<std::vector<KitchenQueue::Placement>> {
    KitchenQueue queue(queue_options_for(fake),
                       [&](std::string_view line) { log.emplace_back(line); });
    co_return co_await queue.place(std::vector<int>(100, 2));
  }());
  EXPECT_EQ(placed, std::vector<KitchenQueue::Placement>(100, KitchenQueue::Placement::refused));
  EXPECT_EQ(log, std::vector<std::string>{
                     "kitchen at 127.0.0.1:" + std::to_string(fake.port()) +
                     " refused 100 orders: OOM command not allowed when used memory > "
                     "'maxmemory'."});
}

}  // namespace
}  // namespace pz::pizza
