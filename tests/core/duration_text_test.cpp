#include "pizzeria/core/duration_text.hpp"

#include <gtest/gtest.h>

#include <chrono>

using namespace std::chrono_literals;

namespace {

TEST(DurationText, UsesTheLargestUnitThatShowsTheDurationExactly) {
  EXPECT_EQ(pz::duration_text(20ms), "20 ms");
  EXPECT_EQ(pz::duration_text(2s), "2000 ms");
  EXPECT_EQ(pz::duration_text(1500us), "1500 us");
  EXPECT_EQ(pz::duration_text(3ns), "3 ns");
  EXPECT_EQ(pz::duration_text(0ns), "0 ms");
}

}  // namespace
