#include "pizzeria/coro/semaphore.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "pizzeria/core/manual_clock.hpp"
#include "pizzeria/coro/mutex.hpp"
#include "pizzeria/coro/run.hpp"
#include "pizzeria/coro/sleep.hpp"
#include "pizzeria/coro/task_group.hpp"

using namespace std::chrono_literals;

namespace {

TEST(Semaphore, NeverLetsMoreThanItsPermitsIn) {
  pz::ManualClock clock({.auto_advance = true});
  pz::Semaphore ovens(3);
  int inside = 0;
  int most = 0;
  int done = 0;
  auto cook = [&]() -> pz::Task<void> {
    co_await ovens.acquire();
    ++inside;
    most = std::max(most, inside);
    co_await pz::sleep(10ms);
    --inside;
    ++done;
    ovens.release();
  };
  auto body = [&]() -> pz::Task<void> {
    pz::TaskGroup group;
    for (int i = 0; i < 20; ++i) {
      group.spawn(cook());
    }
    co_await group.join();
  };
  const auto start = clock.now();
  pz::run(body(), {.clock = &clock});
  EXPECT_EQ(done, 20);
  EXPECT_EQ(most, 3);
  EXPECT_EQ(clock.now() - start, 70ms);  // ceil(20 / 3) rounds of 10ms
  EXPECT_EQ(ovens.available(), 3u);
}

TEST(Semaphore, ACancelledAcquireTakesNoPermit) {
  pz::ManualClock clock({.auto_advance = true});
  pz::Semaphore semaphore(0);
  auto body = [&]() -> pz::Task<void> {
    auto acquire = [&]() -> pz::Task<void> { co_await semaphore.acquire(); };
    pz::TaskGroup group;
    group.spawn(acquire());
    co_await pz::sleep(1ms);
    group.cancel();
    co_await group.join();
    semaphore.release();
    EXPECT_EQ(semaphore.available(), 1u);
  };
  pz::run(body(), {.clock = &clock});
}

TEST(Mutex, SerialisesCriticalSectionsInArrivalOrder) {
  pz::ManualClock clock({.auto_advance = true});
  pz::Mutex mutex;
  std::vector<int> log;
  auto worker = [&](int id) -> pz::Task<void> {
    pz::MutexGuard guard = co_await mutex.scoped_lock();
    log.push_back(id);
    co_await pz::sleep(1ms);  // others must not get in while we sleep
    log.push_back(id);
  };
  auto body = [&]() -> pz::Task<void> {
    pz::TaskGroup group;
    for (int i = 0; i < 4; ++i) {
      group.spawn(worker(i));
    }
    co_await group.join();
  };
  pz::run(body(), {.clock = &clock});
  EXPECT_EQ(log, (std::vector<int>{0, 0, 1, 1, 2, 2, 3, 3}));
  EXPECT_FALSE(mutex.locked());
}

}  // namespace
