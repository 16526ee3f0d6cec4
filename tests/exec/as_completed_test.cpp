#include "pizzeria/exec/as_completed.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "pizzeria/exec/promise.hpp"
#include "pizzeria/exec/thread_pool.hpp"
#include "pizzeria/exec/when_any.hpp"

namespace {

using namespace std::chrono_literals;

TEST(AsCompleted, HandsBackFuturesInTheOrderTheyComplete) {
  std::vector<pz::Promise<int>> promises(4);
  std::vector<pz::Future<int>> futures;
  for (auto& promise : promises) {
    futures.push_back(promise.get_future());
  }
  promises[2].set_value(2);  // complete before as_completed: comes out first
  auto completed = pz::as_completed(std::move(futures));
  EXPECT_EQ(completed.remaining(), 4U);
  // Made here, not in the producer: runtime_error's message is reference
  // counted inside uninstrumented libstdc++, so a temporary destroyed on the
  // producer's thread while we read what() is a (false) race to TSan.
  std::exception_ptr burnt = std::make_exception_ptr(std::runtime_error("burnt"));
  std::thread producer([&promises, burnt = std::move(burnt)]() mutable {
    promises[0].set_value(0);
    promises[3].set_exception(std::move(burnt));
    promises[1].set_value(1);
  });
  std::vector<int> order;
  while (std::optional<pz::Future<int>> future = completed.next()) {
    ASSERT_TRUE(future->done());
    try {
      order.push_back(future->result());
    } catch (const std::runtime_error& error) {
      EXPECT_STREQ(error.what(), "burnt");
      order.push_back(-1);
    }
  }
  producer.join();
  EXPECT_EQ(order, (std::vector<int>{2, 0, -1, 1}));
  EXPECT_EQ(completed.remaining(), 0U);
  EXPECT_EQ(completed.next(), std::nullopt);
}

TEST(AsCompleted, GetsEveryResultOfAThreadPool) {
  pz::ThreadPool pool(3);
  std::vector<pz::Future<int>> futures;
  for (int i = 0; i < 100; ++i) {
    futures.push_back(pool.submit([i] { return i; }));
  }
  auto completed = pz::as_completed(std::move(futures));
  std::vector<bool> seen(100);
  int count = 0;
  while (auto future = completed.next()) {
    seen.at(static_cast<std::size_t>(future->result())) = true;
    ++count;
  }
  EXPECT_EQ(count, 100);
  EXPECT_EQ(std::count(seen.begin(), seen.end(), true), 100);
}

TEST(AsCompleted, NextForGivesUpWhileNothingIsDoneAndEmptyInputEndsAtOnce) {
  pz::Promise<int> never_yet;
  std::vector<pz::Future<int>> futures;
  futures.push_back(never_yet.get_future());
  auto completed = pz::as_completed(std::move(futures));
  EXPECT_EQ(completed.next_for(1ms), std::nullopt);
  EXPECT_EQ(completed.remaining(), 1U);
  never_yet.set_value(5);
  auto future = completed.next_for(10s);
  ASSERT_TRUE(future.has_value());
  EXPECT_EQ(future->result(), 5);

  auto none = pz::as_completed(std::vector<pz::Future<int>>());
  EXPECT_EQ(none.next(), std::nullopt);
  std::vector<pz::Future<int>> invalid(1);
  EXPECT_THROW((void)pz::as_completed(std::move(invalid)), std::invalid_argument);
}

// when_any's losers keep its continuation; a second when_any (the way one
// might hand-roll as_completed) used to overwrite it, racing with the thread
// completing the future. Now it is refused with a message naming the fix.
TEST(AsCompleted, WhenAnyOnWhenAnysPendingLosersIsRefusedNotRaced) {
  pz::Promise<int> first;
  pz::Promise<int> second;
  std::vector<pz::Future<int>> futures;
  futures.push_back(first.get_future());
  futures.push_back(second.get_future());
  auto any = pz::when_any(std::move(futures));
  first.set_value(1);
  auto outcome = std::move(any).result();
  ASSERT_EQ(outcome.index, 0U);
  std::vector<pz::Future<int>> losers;
  losers.push_back(std::move(outcome.futures[1]));
  try {
    (void)pz::when_any(std::move(losers));
    FAIL() << "a second continuation was accepted";
  } catch (const std::logic_error& error) {
    EXPECT_NE(std::string(error.what()).find("pz::as_completed"), std::string::npos);
  }
  second.set_value(2);
  EXPECT_EQ(outcome.futures[0].result(), 1);
}

}  // namespace
