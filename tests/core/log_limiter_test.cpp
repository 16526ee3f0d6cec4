#include "pizzeria/core/log_limiter.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>

#include "pizzeria/core/manual_clock.hpp"

namespace pz {
namespace {

using namespace std::chrono_literals;

TEST(LogLimiter, TheFirstEventIsWrittenWithNothingHeldBack) {
  ManualClock clock;
  LogLimiter limiter(clock);
  EXPECT_EQ(limiter.admit(), std::optional<std::uint64_t>(0));
}

TEST(LogLimiter, EventsWithinThePeriodAreHeldBackAndCountedInTheNextLine) {
  ManualClock clock;
  LogLimiter limiter(clock);
  ASSERT_TRUE(limiter.admit());
  for (int i = 0; i < 1243; ++i) {
    EXPECT_FALSE(limiter.admit());
    clock.advance(500us);  // 0.62 s in all: still within the second
  }
  clock.advance(1s);
  EXPECT_EQ(limiter.admit(), std::optional<std::uint64_t>(1243));
  EXPECT_FALSE(limiter.admit());  // a new period began at that line
}

TEST(LogLimiter, ThePeriodCountsFromTheLastWrittenLine) {
  ManualClock clock;
  LogLimiter limiter(clock, 10s);
  ASSERT_TRUE(limiter.admit());
  clock.advance(9999ms);
  EXPECT_FALSE(limiter.admit());
  clock.advance(1ms);
  EXPECT_EQ(limiter.admit(), std::optional<std::uint64_t>(1));
}

TEST(LogLimiter, TakeHeldReturnsWhatWasHeldBackOnce) {
  ManualClock clock;
  LogLimiter limiter(clock);
  ASSERT_TRUE(limiter.admit());
  EXPECT_FALSE(limiter.admit());
  EXPECT_FALSE(limiter.admit());
  EXPECT_EQ(limiter.take_held(), 2u);
  EXPECT_EQ(limiter.take_held(), 0u);
  clock.advance(1s);
  EXPECT_EQ(limiter.admit(), std::optional<std::uint64_t>(0));
}

TEST(LogLimiter, MoreSaysTheCountWithThousandsSeparators) {
  EXPECT_EQ(LogLimiter::more(0), "");
  EXPECT_EQ(LogLimiter::more(1), " (and 1 more like it since the last such line)");
  EXPECT_EQ(LogLimiter::more(1243), " (and 1,243 more like it since the last such line)");
  EXPECT_EQ(LogLimiter::more(1000000), " (and 1,000,000 more like it since the last such line)");
}

}  // namespace
}  // namespace pz
