#include "pizzeria/coro/sleep.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

#include "pizzeria/core/manual_clock.hpp"
#include "pizzeria/coro/run.hpp"
#include "pizzeria/coro/task_group.hpp"
#include "pizzeria/coro/yield.hpp"

using namespace std::chrono_literals;

namespace {

TEST(Sleep, ResumesAfterTheDurationOnTheLoopClock) {
  pz::ManualClock clock({.auto_advance = true});
  auto body = [&]() -> pz::Task<pz::Duration> {
    const auto start = clock.now();
    co_await pz::sleep(250ms);
    co_return clock.now() - start;
  };
  EXPECT_EQ(pz::run(body(), {.clock = &clock}), 250ms);
}

TEST(Sleep, FiveSleepersWakeInOrderOfTheirDelays) {
  pz::ManualClock clock({.auto_advance = true});
  std::vector<int> woke;
  auto sleeper = [&](int id, std::chrono::milliseconds delay) -> pz::Task<void> {
    co_await pz::sleep(delay);
    woke.push_back(id);
  };
  auto body = [&]() -> pz::Task<void> {
    pz::TaskGroup group;
    const int delays[] = {400, 100, 500, 200, 300};
    for (int i = 0; i < 5; ++i) {
      group.spawn(sleeper(i, std::chrono::milliseconds(delays[i])));
    }
    co_await group.join();
  };
  pz::run(body(), {.clock = &clock});
  EXPECT_EQ(woke, (std::vector<int>{1, 3, 4, 0, 2}));
}

TEST(Sleep, CancellationRaisesAtTheSleepAndDropsTheTimer) {
  pz::ManualClock clock({.auto_advance = true});
  pz::StopSource stop;
  bool raised = false;
  auto body = [&]() -> pz::Task<void> {
    pz::EventLoop::current()->call_later(10ms, [&] { stop.request_stop(); });
    try {
      co_await pz::sleep(1h);
    } catch (const pz::CancelledError&) {
      raised = true;
    }
    EXPECT_EQ(pz::EventLoop::current()->timer_count(), 0u);
  };
  const auto start = clock.now();
  pz::run(body(), {.clock = &clock}, stop.token());
  EXPECT_TRUE(raised);
  EXPECT_EQ(clock.now() - start, 10ms);
}

TEST(Sleep, AnAlreadyCancelledTaskRaisesWithoutSuspending) {
  pz::StopSource stop;
  stop.request_stop();
  auto body = []() -> pz::Task<void> { co_await pz::sleep(1h); };
  EXPECT_THROW(pz::run(body(), {}, stop.token()), pz::CancelledError);
}

TEST(Sleep, OutsideAnEventLoopRaisesAClearError) {
  auto body = []() -> pz::Task<void> { co_await pz::sleep(1ms); };
  pz::Task<void> task = body();
  auto handle = task.handle();
  handle.resume();
  ASSERT_TRUE(handle.done());
  try {
    handle.promise().take_result();
    FAIL();
  } catch (const std::logic_error& error) {
    EXPECT_NE(std::string(error.what()).find("no event loop"), std::string::npos);
  }
}

}  // namespace

namespace {

TEST(Yield, LetsOtherTasksRunBeforeResuming) {
  std::vector<int> log;
  auto worker = [&](int id) -> pz::Task<void> {
    for (int step = 0; step < 3; ++step) {
      log.push_back(id * 10 + step);
      co_await pz::yield();
    }
  };
  auto body = [&]() -> pz::Task<void> {
    pz::TaskGroup group;
    group.spawn(worker(1));
    group.spawn(worker(2));
    co_await group.join();
  };
  pz::run(body());
  EXPECT_EQ(log, (std::vector<int>{10, 20, 11, 21, 12, 22}));
}

TEST(Yield, RaisesInACancelledTask) {
  pz::StopSource stop;
  stop.request_stop();
  auto body = []() -> pz::Task<void> { co_await pz::yield(); };
  EXPECT_THROW(pz::run(body(), {}, stop.token()), pz::CancelledError);
}

}  // namespace
