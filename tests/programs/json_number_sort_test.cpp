#include "pizzeria/programs/json_number_sort.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace pz::programs {
namespace {

TEST(SortJsonNumbers, SortsPythonJsonDumpsOutputKeepingItsLength) {
  EXPECT_EQ(sort_json_numbers("[5, 3, 9]"), "[3, 5, 9]");
  EXPECT_EQ(sort_json_numbers("[100, 20, 3]"), "[3, 20, 100]");
  EXPECT_EQ(sort_json_numbers("[]"), "[]");
  EXPECT_EQ(sort_json_numbers("[7]"), "[7]");
}

TEST(SortJsonNumbers, KeepsEachNumbersTextAndTheSeparatorsInPlace) {
  EXPECT_EQ(sort_json_numbers("[ 10,-2.5 ,3e2,  7 ]"), "[ -2.5,7 ,10,  3e2 ]");
  EXPECT_EQ(sort_json_numbers("[1.0, 1, -0, 0]"), "[-0, 0, 1.0, 1]");
}

TEST(SortJsonNumbers, ComparesLongIntegersExactly) {
  EXPECT_EQ(sort_json_numbers("[9007199254740993, 9007199254740992, -12345678901234567890]"),
            "[-12345678901234567890, 9007199254740992, 9007199254740993]");
}

TEST(SortJsonNumbers, RejectsWhatIsNotAnArrayOfJsonNumbers) {
  for (const char* bad : {"", "5", "[5, 3", "[5,, 3]", "[5, \"3\"]", "[01]", "[1.]", "[1e]", "[+1]",
                          "[1] ", "[NaN]", "[1, 2,]", "[,]"}) {
    EXPECT_THROW((void)sort_json_numbers(bad), std::invalid_argument) << bad;
  }
}

}  // namespace
}  // namespace pz::programs
