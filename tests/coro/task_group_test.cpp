#include "pizzeria/coro/task_group.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "pizzeria/core/manual_clock.hpp"
#include "pizzeria/coro/event.hpp"
#include "pizzeria/coro/run.hpp"
#include "pizzeria/coro/sleep.hpp"
#include "pizzeria/coro/with_stop_token.hpp"

using namespace std::chrono_literals;

namespace {

pz::Task<void> sleep_then_record(std::chrono::milliseconds delay, std::vector<int>& log, int id) {
  co_await pz::sleep(delay);
  log.push_back(id);
}

TEST(TaskGroup, JoinWaitsForEveryChild) {
  pz::ManualClock clock({.auto_advance = true});
  std::vector<int> log;
  auto body = [&]() -> pz::Task<void> {
    pz::TaskGroup group;
    group.spawn(sleep_then_record(30ms, log, 3));
    group.spawn(sleep_then_record(10ms, log, 1));
    group.spawn(sleep_then_record(20ms, log, 2));
    EXPECT_EQ(group.size(), 3u);
    co_await group.join();
    EXPECT_EQ(group.size(), 0u);
  };
  pz::run(body(), {.clock = &clock});
  EXPECT_EQ(log, (std::vector<int>{1, 2, 3}));
}

TEST(TaskGroup, AChildThatThrowsCancelsItsSiblingsAndJoinRethrows) {
  pz::ManualClock clock({.auto_advance = true});
  int cancelled = 0;
  int finished = 0;
  auto sibling = [&]() -> pz::Task<void> {
    try {
      co_await pz::sleep(1h);
      ++finished;
    } catch (const pz::CancelledError&) {
      ++cancelled;
      throw;
    }
  };
  auto failing = []() -> pz::Task<void> {
    co_await pz::sleep(1ms);
    throw std::runtime_error("the oven caught fire");
  };
  auto body = [&]() -> pz::Task<void> {
    pz::TaskGroup group;
    group.spawn(sibling());
    group.spawn(failing());
    group.spawn(sibling());
    co_await group.join();
  };
  const auto start = clock.now();
  try {
    pz::run(body(), {.clock = &clock});
    FAIL() << "join() should rethrow the child's exception";
  } catch (const std::runtime_error& error) {
    EXPECT_STREQ(error.what(), "the oven caught fire");
  }
  EXPECT_EQ(cancelled, 2);
  EXPECT_EQ(finished, 0);
  // The siblings did not sleep their hour.
  EXPECT_LT(clock.now() - start, 1h);
}

TEST(TaskGroup, CancellingTheJoiningTaskCancelsTheChildren) {
  pz::ManualClock clock({.auto_advance = true});
  pz::StopSource stop;
  int cancelled = 0;
  auto child = [&]() -> pz::Task<void> {
    try {
      co_await pz::sleep(1h);
    } catch (const pz::CancelledError&) {
      ++cancelled;
      throw;
    }
  };
  auto body = [&]() -> pz::Task<void> {
    pz::TaskGroup group;
    group.spawn(child());
    group.spawn(child());
    pz::EventLoop::current()->call_later(5ms, [&] { stop.request_stop(); });
    co_await group.join();
  };
  EXPECT_THROW(pz::run(body(), {.clock = &clock}, stop.token()), pz::CancelledError);
  EXPECT_EQ(cancelled, 2);
}

TEST(TaskGroup, ChildrenMaySpawnSiblingsWhileTheGroupJoins) {
  pz::ManualClock clock({.auto_advance = true});
  std::vector<int> log;
  auto body = [&]() -> pz::Task<void> {
    pz::TaskGroup group;
    auto parent = [&](pz::TaskGroup& g) -> pz::Task<void> {
      co_await pz::sleep(1ms);
      g.spawn(sleep_then_record(1ms, log, 2));
      log.push_back(1);
    };
    group.spawn(parent(group));
    co_await group.join();
  };
  pz::run(body(), {.clock = &clock});
  EXPECT_EQ(log, (std::vector<int>{1, 2}));
}

TEST(TaskGroup, AnExceptionLeavingTheScopeDestroysTheChildrenWithoutLeaks) {
  pz::ManualClock clock({.auto_advance = true});
  pz::Event never;
  auto child = [&](std::string payload) -> pz::Task<void> {
    co_await never.wait();
    payload += "unreachable";
  };
  auto body = [&]() -> pz::Task<void> {
    pz::TaskGroup group;
    group.spawn(child(std::string(1000, 'x')));  // leaks would show under ASan
    group.spawn(child(std::string(1000, 'y')));
    co_await pz::sleep(1ms);
    throw std::runtime_error("the parent gave up before joining");
  };
  EXPECT_THROW(pz::run(body(), {.clock = &clock}), std::runtime_error);
  EXPECT_EQ(pz::EventLoop::current(), nullptr);
}

TEST(TaskGroupDeathTest, DestroyingAGroupWithRunningChildrenWithoutJoinIsFatal) {
  auto body = []() -> pz::Task<void> {
    pz::Event never;
    {
      pz::TaskGroup group;
      auto child = [](pz::Event& e) -> pz::Task<void> { co_await e.wait(); };
      group.spawn(child(never));
    }
    co_return;
  };
  EXPECT_DEATH(pz::run(body()), "destroyed with 1 children still running");
}

TEST(TaskGroup, JoinOnAnEmptyGroupCompletesAtOnce) {
  auto body = []() -> pz::Task<int> {
    pz::TaskGroup group;
    co_await group.join();
    co_return 5;
  };
  EXPECT_EQ(pz::run(body()), 5);
}

}  // namespace

namespace {

TEST(TaskGroup, OneChildCanBeCancelledWithoutFailingTheGroup) {
  pz::ManualClock clock({.auto_advance = true});
  pz::StopSource cancel_first;
  std::vector<int> log;
  auto body = [&]() -> pz::Task<void> {
    pz::TaskGroup group;
    group.spawn(pz::with_stop_token(cancel_first.token(), sleep_then_record(1h, log, 1)));
    group.spawn(sleep_then_record(20ms, log, 2));
    co_await pz::sleep(10ms);
    cancel_first.request_stop();
    co_await group.join();  // no exception: a cancelled child is not a failure
  };
  const auto start = clock.now();
  pz::run(body(), {.clock = &clock});
  EXPECT_EQ(log, (std::vector<int>{2}));
  EXPECT_EQ(clock.now() - start, 20ms);
}

}  // namespace
