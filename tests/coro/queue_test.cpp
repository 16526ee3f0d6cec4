#include "pizzeria/coro/queue.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <vector>

#include "pizzeria/core/manual_clock.hpp"
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
