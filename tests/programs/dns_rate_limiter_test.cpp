#include "pizzeria/programs/dns_rate_limiter.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace pz::programs {
namespace {

using namespace std::chrono_literals;

TEST(DnsRateLimiter, AdmitsNResponsesASecondToOneSourceAndCountsTheRest) {
  DnsRateLimiter limiter(3);
  const TimePoint start{};
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(limiter.admit("10.0.0.1", start + i * 100ms));
  }
  EXPECT_FALSE(limiter.admit("10.0.0.1", start + 999ms));
  EXPECT_EQ(limiter.limited(), 1u);
  EXPECT_TRUE(limiter.admit("10.0.0.1", start + 1s));  // a new window
}

TEST(DnsRateLimiter, EachSourceHasItsOwnBudget) {
  DnsRateLimiter limiter(1);
  const TimePoint now{};
  EXPECT_TRUE(limiter.admit("10.0.0.1", now));
  EXPECT_FALSE(limiter.admit("10.0.0.1", now));
  EXPECT_TRUE(limiter.admit("10.0.0.2", now));
  EXPECT_TRUE(limiter.admit("::1", now));
}

TEST(DnsRateLimiter, ZeroMeansNoLimit) {
  DnsRateLimiter limiter(0);
  for (int i = 0; i < 10'000; ++i) {
    ASSERT_TRUE(limiter.admit("10.0.0.1", TimePoint{}));
  }
  EXPECT_EQ(limiter.sources(), 0u);
}

TEST(DnsRateLimiter, AFullTableForgetsEndedWindowsFirstAndStaysBounded) {
  DnsRateLimiter limiter(1, 3);
  const TimePoint start{};
  EXPECT_TRUE(limiter.admit("a", start));
  EXPECT_TRUE(limiter.admit("b", start + 500ms));
  EXPECT_TRUE(limiter.admit("c", start + 500ms));
  EXPECT_TRUE(limiter.admit("d", start + 1s));  // "a" has ended: it goes
  EXPECT_EQ(limiter.sources(), 3u);
  EXPECT_FALSE(limiter.admit("b", start + 1s));  // "b" is remembered
  EXPECT_TRUE(limiter.admit("e", start + 1s));   // none ended: all forgotten
  EXPECT_EQ(limiter.sources(), 1u);
}

}  // namespace
}  // namespace pz::programs
