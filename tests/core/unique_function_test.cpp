#include "pizzeria/core/unique_function.hpp"

#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <string>

namespace pz {
namespace {

TEST(UniqueFunction, HoldsAMoveOnlyCallable) {
  auto owned = std::make_unique<int>(41);
  UniqueFunction<int()> fn = [owned = std::move(owned)] { return *owned + 1; };
  EXPECT_EQ(fn(), 42);
}

TEST(UniqueFunction, SmallCallablesAndLargeCallablesBehaveTheSame) {
  std::array<long, 32> big{};
  big[31] = 5;
  UniqueFunction<long(long)> small = [](long x) { return x * 2; };
  UniqueFunction<long(long)> large = [big](long x) { return x + big[31]; };
  EXPECT_EQ(small(4), 8);
  EXPECT_EQ(large(4), 9);
  UniqueFunction<long(long)> moved = std::move(large);
  EXPECT_EQ(moved(1), 6);
  EXPECT_FALSE(large);  // NOLINT(bugprone-use-after-move): moved-from is empty
}

TEST(UniqueFunction, DestroysItsTargetExactlyOnce) {
  auto counter = std::make_shared<int>(0);
  {
    UniqueFunction<void()> first = [counter] {};
    EXPECT_EQ(counter.use_count(), 2);
    UniqueFunction<void()> second = std::move(first);
    EXPECT_EQ(counter.use_count(), 2);
    second = nullptr;
    EXPECT_EQ(counter.use_count(), 1);
  }
  EXPECT_EQ(counter.use_count(), 1);
}

TEST(UniqueFunction, PassesArgumentsThrough) {
  UniqueFunction<std::string(std::string, const std::string&)> join =
      [](std::string a, const std::string& b) { return a + b; };
  EXPECT_EQ(join("pizza", "s"), "pizzas");
}

TEST(UniqueFunction, CanBeInvokedRepeatedly) {
  int calls = 0;
  UniqueFunction<void()> fn = [&calls] { ++calls; };
  fn();
  fn();
  EXPECT_EQ(calls, 2);
}

}  // namespace
}  // namespace pz
