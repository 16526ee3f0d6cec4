#include "pizzeria/coro/timeout.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "pizzeria/core/manual_clock.hpp"
#include "pizzeria/coro/event.hpp"
#include "pizzeria/coro/run.hpp"
#include "pizzeria/coro/sleep.hpp"

using namespace std::chrono_literals;

namespace {

pz::Task<int> slow_value(std::chrono::milliseconds delay, int value) {
  co_await pz::sleep(delay);
  co_return value;
}

TEST(Timeout, ReturnsTheValueWhenTheTaskFinishesInTime) {
  pz::ManualClock clock({.auto_advance = true});
  auto body = []() -> pz::Task<int> { co_return co_await pz::timeout(50ms, slow_value(10ms, 7)); };
  EXPECT_EQ(pz::run(body(), {.clock = &clock}), 7);
}

TEST(Timeout, RaisesTimeoutErrorAndTheCallerCarriesOn) {
  pz::ManualClock clock({.auto_advance = true});
  auto body = [&]() -> pz::Task<int> {
    const auto start = clock.now();
    try {
      co_await pz::timeout(50ms, slow_value(1h, 7));
      ADD_FAILURE() << "expected a timeout";
    } catch (const pz::TimeoutError& error) {
      EXPECT_NE(std::string(error.what()).find("timed out after 50"), std::string::npos);
    }
    EXPECT_EQ(clock.now() - start, 50ms);
    // Not cancelled: the task may go on awaiting.
    co_return co_await slow_value(1ms, 9);
  };
  EXPECT_EQ(pz::run(body(), {.clock = &clock}), 9);
}

TEST(Timeout, AcceptsAnyAwaitable) {
  pz::ManualClock clock({.auto_advance = true});
  auto body = []() -> pz::Task<bool> {
    pz::Event never;
    try {
      co_await pz::timeout(5ms, never.wait());
    } catch (const pz::TimeoutError&) {
      co_return true;
    }
    co_return false;
  };
  EXPECT_TRUE(pz::run(body(), {.clock = &clock}));
}

TEST(Timeout, CancellingTheCallerRaisesCancelledErrorNotTimeout) {
  pz::ManualClock clock({.auto_advance = true});
  pz::StopSource stop;
  auto body = [&]() -> pz::Task<void> {
    pz::EventLoop::current()->call_later(5ms, [&] { stop.request_stop(); });
    co_await pz::timeout(1h, slow_value(2h, 1));
  };
  EXPECT_THROW(pz::run(body(), {.clock = &clock}, stop.token()), pz::CancelledError);
}

TEST(Timeout, BoundsASleepAndNamesTheDurationInItsLargestExactUnit) {
  pz::ManualClock clock({.auto_advance = true});
  auto timed_out_after = [](pz::Duration limit) -> pz::Task<std::string> {
    try {
      co_await pz::timeout(limit, pz::sleep(1h));
    } catch (const pz::TimeoutError& error) {
      co_return error.what();
    }
    co_return "no timeout";
  };
  EXPECT_EQ(pz::run(timed_out_after(20ms), {.clock = &clock}), "operation timed out after 20 ms");
  EXPECT_EQ(pz::run(timed_out_after(1500us), {.clock = &clock}),
            "operation timed out after 1500 us");
  EXPECT_EQ(pz::run(timed_out_after(2s), {.clock = &clock}), "operation timed out after 2000 ms");
}

}  // namespace
