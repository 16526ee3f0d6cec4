#include "pizzeria/coro/event.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

#include "pizzeria/core/manual_clock.hpp"
#include "pizzeria/coro/run.hpp"
#include "pizzeria/coro/sleep.hpp"
#include "pizzeria/coro/task_group.hpp"

using namespace std::chrono_literals;

namespace {

TEST(Event, SetWakesEveryWaiterInOrder) {
  pz::ManualClock clock({.auto_advance = true});
  pz::Event event;
  std::vector<int> woke;
  auto waiter = [&](int id) -> pz::Task<void> {
    co_await event.wait();
    woke.push_back(id);
  };
  auto body = [&]() -> pz::Task<void> {
    pz::TaskGroup group;
    for (int i = 0; i < 3; ++i) {
      group.spawn(waiter(i));
    }
    co_await pz::sleep(1ms);
    EXPECT_TRUE(woke.empty());
    event.set();
    co_await group.join();
  };
  pz::run(body(), {.clock = &clock});
  EXPECT_EQ(woke, (std::vector<int>{0, 1, 2}));
}

TEST(Event, WaitOnASetEventDoesNotSuspend) {
  pz::Event event;
  event.set();
  auto body = [&]() -> pz::Task<bool> {
    co_await event.wait();
    co_return event.is_set();
  };
  EXPECT_TRUE(pz::run(body()));
  event.clear();
  EXPECT_FALSE(event.is_set());
}

TEST(Event, ACancelledWaiterLeavesTheOthersWaiting) {
  pz::ManualClock clock({.auto_advance = true});
  pz::Event event;
  int woke = 0;
  int cancelled = 0;
  auto waiter = [&]() -> pz::Task<void> {
    try {
      co_await event.wait();
      ++woke;
    } catch (const pz::CancelledError&) {
      ++cancelled;
    }
  };
  auto body = [&]() -> pz::Task<void> {
    pz::TaskGroup doomed;
    pz::TaskGroup kept;
    doomed.spawn(waiter());
    kept.spawn(waiter());
    co_await pz::sleep(1ms);
    doomed.cancel();
    co_await doomed.join();
    EXPECT_EQ(cancelled, 1);
    event.set();
    co_await kept.join();
  };
  pz::run(body(), {.clock = &clock});
  EXPECT_EQ(woke, 1);
}

}  // namespace
