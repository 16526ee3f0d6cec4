#include "pizzeria/coro/queue.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "pizzeria/core/manual_clock.hpp"
#include "pizzeria/coro/queue_shut_down_error.hpp"
#include "pizzeria/coro/run.hpp"
#include "pizzeria/coro/sleep.hpp"
#include "pizzeria/coro/task_group.hpp"
#include "pizzeria/coro/timeout.hpp"

using namespace std::chrono_literals;

namespace {

TEST(Queue, DeliversEveryItemInOrderThroughABoundedQueue) {
  pz::ManualClock clock({.auto_advance = true});
  pz::Queue<std::unique_ptr<int>> queue(2);
  std::vector<int> received;
  std::size_t most = 0;
  auto producer = [&]() -> pz::Task<void> {
    for (int i = 0; i < 50; ++i) {
      co_await queue.put(std::make_unique<int>(i));
      most = std::max(most, queue.size());
    }
  };
  auto consumer = [&]() -> pz::Task<void> {
    for (int i = 0; i < 50; ++i) {
      if (i % 7 == 0) {
        co_await pz::sleep(1ms);  // let the producer fill the queue up
      }
      received.push_back(*co_await queue.get());
    }
  };
  auto body = [&]() -> pz::Task<void> {
    pz::TaskGroup group;
    group.spawn(consumer());
    group.spawn(producer());
    co_await group.join();
  };
  pz::run(body(), {.clock = &clock});
  ASSERT_EQ(received.size(), 50u);
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(received[static_cast<std::size_t>(i)], i);
  }
  EXPECT_LE(most, 2u);
}

TEST(Queue, TryPutAndTryGetNeverSuspend) {
  pz::Queue<int> queue(1);
  EXPECT_TRUE(queue.try_put(1));
  int second = 2;
  EXPECT_FALSE(queue.try_put(second));
  EXPECT_TRUE(queue.full());
  EXPECT_EQ(queue.try_get(), 1);
  EXPECT_EQ(queue.try_get(), std::nullopt);
}

TEST(Queue, AGetThatTimesOutLosesNoLaterItem) {
  pz::ManualClock clock({.auto_advance = true});
  pz::Queue<int> queue;
  auto body = [&]() -> pz::Task<int> {
    EXPECT_THROW(co_await pz::timeout(5ms, queue.get()), pz::TimeoutError);
    EXPECT_TRUE(queue.try_put(42));
    co_return co_await queue.get();
  };
  EXPECT_EQ(pz::run(body(), {.clock = &clock}), 42);
}

TEST(Queue, AWaitingPutterEntersWhenAGetMakesRoom) {
  pz::ManualClock clock({.auto_advance = true});
  pz::Queue<int> queue(1);
  auto body = [&]() -> pz::Task<std::vector<int>> {
    // A named lambda: a coroutine lambda's captures live in the closure,
    // which must outlive the coroutine.
    auto producer = [&]() -> pz::Task<void> {
      co_await queue.put(1);
      co_await queue.put(2);  // waits: the queue is full
      co_await queue.put(3);
    };
    pz::TaskGroup group;
    group.spawn(producer());
    std::vector<int> out;
    co_await pz::sleep(1ms);
    for (int i = 0; i < 3; ++i) {
      out.push_back(co_await queue.get());
    }
    co_await group.join();
    co_return out;
  };
  EXPECT_EQ(pz::run(body(), {.clock = &clock}), (std::vector<int>{1, 2, 3}));
}

}  // namespace

namespace {

TEST(Queue, AnItemHandedToAGetterIsDeliveredEvenIfTheGetterIsCancelledBeforeItResumes) {
  pz::Queue<int> queue;
  int received = 0;
  bool raised = false;
  auto getter = [&]() -> pz::Task<void> {
    received = co_await queue.get();
    try {
      co_await queue.get();  // the next await sees the cancellation
    } catch (const pz::CancelledError&) {
      raised = true;
    }
  };
  auto body = [&]() -> pz::Task<void> {
    pz::TaskGroup group;
    group.spawn(getter());
    EXPECT_TRUE(queue.try_put(5));  // handed over; the getter resumes later
    group.cancel();
    co_await group.join();
  };
  pz::run(body());
  EXPECT_EQ(received, 5);
  EXPECT_TRUE(raised);
  EXPECT_TRUE(queue.empty());
}

}  // namespace

namespace {

// What a get gave ("item N") or raised (the error's text).
pz::Task<std::string> outcome_of(pz::Queue<int>::GetAwaiter get) {
  try {
    co_return "item " + std::to_string(co_await std::move(get));
  } catch (const pz::QueueShutDownError& error) {
    co_return error.what();
  }
}

// "put", or what the put raised.
pz::Task<std::string> outcome_of(pz::Queue<int>::PutAwaiter put) {
  try {
    co_await std::move(put);
    co_return "put";
  } catch (const pz::QueueShutDownError& error) {
    co_return error.what();
  }
}

TEST(Queue, AfterShutdownGetsDrainTheItemsThenRaiseAndPutsRaiseAtOnce) {
  // asyncio.Queue.shutdown(): consumers take what was queued, then learn
  // that nothing more will come; a producer waiting for room is refused.
  pz::Queue<int> queue(2);
  std::vector<std::string> seen;
  auto putter = [&]() -> pz::Task<void> { seen.push_back(co_await outcome_of(queue.put(3))); };
  auto body = [&]() -> pz::Task<void> {
    co_await queue.put(1);
    co_await queue.put(2);
    pz::TaskGroup group;
    // Waits for room in the full queue when shutdown() comes.
    group.spawn(putter());
    co_await pz::sleep(0ms);  // the putter is waiting now
    queue.shutdown();
    EXPECT_TRUE(queue.is_shut_down());
    co_await group.join();
    seen.push_back(co_await outcome_of(queue.get()));
    seen.push_back(co_await outcome_of(queue.get()));
    seen.push_back(co_await outcome_of(queue.get()));
    seen.push_back(co_await outcome_of(queue.put(4)));
  };
  pz::run(body());
  EXPECT_EQ(seen,
            (std::vector<std::string>{"pz::Queue::put: the queue was shut down", "item 1", "item 2",
                                      "pz::Queue::get: the queue was shut down and is empty",
                                      "pz::Queue::put: the queue was shut down"}));
  EXPECT_THROW((void)queue.try_get(), pz::QueueShutDownError);
  int five = 5;
  EXPECT_THROW((void)queue.try_put(five), pz::QueueShutDownError);
}

TEST(Queue, ShutdownWakesEveryWaitingGetter) {
  // Consumers blocked on an empty queue end instead of waiting for ever:
  // the pattern that replaces a sentinel per consumer.
  pz::Queue<int> queue;
  std::vector<std::string> seen;
  auto consumer = [&]() -> pz::Task<void> {
    for (;;) {
      const std::string got = co_await outcome_of(queue.get());
      seen.push_back(got);
      if (!got.starts_with("item")) {
        co_return;
      }
    }
  };
  auto body = [&]() -> pz::Task<void> {
    pz::TaskGroup group;
    group.spawn(consumer());
    group.spawn(consumer());
    co_await queue.put(7);
    co_await pz::sleep(0ms);  // both consumers take or wait
    queue.shutdown();
    co_await group.join();
  };
  pz::run(body());
  const std::string ended = "pz::Queue::get: the queue was shut down and is empty";
  EXPECT_EQ(seen, (std::vector<std::string>{"item 7", ended, ended}));
}

TEST(Queue, AnImmediateShutdownDropsTheQueuedItems) {
  pz::Queue<int> queue;
  EXPECT_TRUE(queue.try_put(1));
  EXPECT_TRUE(queue.try_put(2));
  queue.shutdown(/*immediate=*/true);
  EXPECT_TRUE(queue.empty());
  std::string got;
  pz::run([&]() -> pz::Task<void> { got = co_await outcome_of(queue.get()); }());
  EXPECT_EQ(got, "pz::Queue::get: the queue was shut down and is empty");
}

// asyncio's worker pattern: the producer's join() completes only after the
// workers have called task_done() for every item, including items handed
// straight to a waiting worker and items a full queue made the producer wait
// to put.
TEST(Queue, JoinCompletesOnlyAfterEveryItemIsMarkedDone) {
  pz::ManualClock clock({.auto_advance = true});
  pz::Queue<int> queue(2);
  std::vector<std::string> log;
  auto worker = [&](std::string name) -> pz::Task<void> {
    try {
      for (;;) {
        const int item = co_await queue.get();
        co_await pz::sleep(std::chrono::milliseconds(1 + item % 3));  // the work
        log.push_back(name + " done " + std::to_string(item));
        queue.task_done();
      }
    } catch (const pz::QueueShutDownError&) {
    }
  };
  auto producer = [&]() -> pz::Task<void> {
    for (int i = 0; i < 6; ++i) {
      co_await queue.put(i);
    }
    co_await queue.join();
    log.push_back("joined with " + std::to_string(queue.unfinished()) + " unfinished");
    queue.shutdown();
  };
  auto body = [&]() -> pz::Task<void> {
    pz::TaskGroup group;
    group.spawn(worker("a"));
    group.spawn(worker("b"));
    group.spawn(producer());
    co_await group.join();
  };
  pz::run(body(), {.clock = &clock});
  ASSERT_EQ(log.size(), 7U);
  EXPECT_EQ(log.back(), "joined with 0 unfinished");
  for (std::size_t i = 0; i + 1 < log.size(); ++i) {
    EXPECT_NE(log[i].find(" done "), std::string::npos) << log[i];
  }
}

TEST(Queue, JoinOnAQueueWithNothingUnfinishedCompletesAtOnce) {
  pz::Queue<int> queue;
  bool joined = false;
  pz::run([&]() -> pz::Task<void> {
    co_await queue.join();
    EXPECT_TRUE(queue.try_put(1));
    EXPECT_EQ(queue.try_get(), 1);
    queue.task_done();
    co_await queue.join();
    joined = true;
  }());
  EXPECT_TRUE(joined);
}

TEST(Queue, TaskDoneMoreTimesThanItemsWerePutIsAnError) {
  pz::Queue<int> queue;
  EXPECT_TRUE(queue.try_put(1));
  EXPECT_EQ(queue.unfinished(), 1U);
  queue.task_done();
  EXPECT_THROW(queue.task_done(), std::logic_error);
  EXPECT_EQ(queue.unfinished(), 0U);
}

TEST(Queue, AnImmediateShutdownCountsTheDroppedItemsAsDone) {
  pz::Queue<int> queue;
  EXPECT_TRUE(queue.try_put(1));
  EXPECT_TRUE(queue.try_put(2));
  EXPECT_TRUE(queue.try_put(3));
  EXPECT_EQ(queue.try_get(), 1);  // taken, still being worked on
  queue.shutdown(/*immediate=*/true);
  EXPECT_EQ(queue.unfinished(), 1U);
  std::vector<std::string> log;
  auto joiner = [&]() -> pz::Task<void> {
    co_await queue.join();
    log.push_back("joined");
  };
  auto worker = [&]() -> pz::Task<void> {
    co_await pz::sleep(1ms);
    log.push_back("item 1 done");
    queue.task_done();
  };
  auto body = [&]() -> pz::Task<void> {
    pz::TaskGroup group;
    group.spawn(joiner());
    group.spawn(worker());
    co_await group.join();
  };
  pz::ManualClock clock({.auto_advance = true});
  pz::run(body(), {.clock = &clock});
  EXPECT_EQ(log, (std::vector<std::string>{"item 1 done", "joined"}));
}

}  // namespace
