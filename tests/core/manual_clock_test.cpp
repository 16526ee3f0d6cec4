#include "pizzeria/core/manual_clock.hpp"

#include <gtest/gtest.h>

#include <chrono>

using namespace std::chrono_literals;

namespace pz {
namespace {

TEST(ManualClock, MovesOnlyWhenTold) {
  ManualClock clock;
  const TimePoint start = clock.now();
  EXPECT_EQ(clock.now(), start);
  clock.advance(3s);
  EXPECT_EQ(clock.now() - start, 3s);
}

TEST(ManualClock, NeverGoesBackwards) {
  ManualClock clock(ManualClock::Options{.start = TimePoint(10s)});
  clock.advance_to(TimePoint(5s));
  EXPECT_EQ(clock.now(), TimePoint(10s));
  clock.advance_to(TimePoint(12s));
  EXPECT_EQ(clock.now(), TimePoint(12s));
}

TEST(ManualClock, NeverAsksTheLoopToBlock) {
  ManualClock clock;
  EXPECT_EQ(clock.blocking_budget(clock.now() + 1h), Duration::zero());
}

TEST(ManualClock, AutoAdvanceJumpsToTheNextDeadlineWhenIdle) {
  ManualClock plain;
  plain.idle_until(TimePoint(1s));
  EXPECT_EQ(plain.now(), TimePoint(0s));
  ManualClock automatic(ManualClock::Options{.auto_advance = true});
  automatic.idle_until(TimePoint(1s));
  EXPECT_EQ(automatic.now(), TimePoint(1s));
}

TEST(SteadyClock, IsMonotonicAndBudgetsTheTimeLeft) {
  SteadyClock& clock = SteadyClock::instance();
  const TimePoint a = clock.now();
  const TimePoint b = clock.now();
  EXPECT_LE(a, b);
  EXPECT_LE(clock.blocking_budget(b + 1h), Duration(1h));
  EXPECT_GT(clock.blocking_budget(b + 1h), Duration(59min));
}

}  // namespace
}  // namespace pz
