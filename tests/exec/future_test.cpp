#include "pizzeria/exec/future.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "pizzeria/coro/timeout_error.hpp"
#include "pizzeria/exec/promise.hpp"
#include "pizzeria/exec/when_all.hpp"
#include "pizzeria/exec/when_any.hpp"

namespace {

using namespace std::chrono_literals;

TEST(Future, ResultReturnsTheValueSetOnAnotherThread) {
  pz::Promise<std::string> promise;
  pz::Future<std::string> future = promise.get_future();
  EXPECT_FALSE(future.done());
  std::thread producer([p = std::move(promise)]() mutable { p.set_value("margherita"); });
  EXPECT_EQ(future.result(), "margherita");
  EXPECT_TRUE(future.done());
  EXPECT_EQ(future.result(), "margherita");  // an lvalue future can be read again
  EXPECT_EQ(future.exception(), nullptr);
  producer.join();
}

TEST(Future, ResultRethrowsTheStoredExceptionAndExceptionReturnsIt) {
  pz::Promise<int> promise;
  auto future = promise.get_future();
  promise.set_exception(std::make_exception_ptr(std::runtime_error("oven on fire")));
  ASSERT_TRUE(future.done());
  EXPECT_NE(future.exception(), nullptr);
  try {
    future.result();
    FAIL() << "result() should have thrown";
  } catch (const std::runtime_error& error) {
    EXPECT_STREQ(error.what(), "oven on fire");
  }
}

TEST(Future, DestroyingAnUnsatisfiedPromiseBreaksItWithAClearError) {
  pz::Future<int> future;
  {
    pz::Promise<int> promise;
    future = promise.get_future();
  }
  ASSERT_TRUE(future.done());
  try {
    future.result();
    FAIL() << "result() should have thrown";
  } catch (const pz::BrokenPromise& error) {
    EXPECT_NE(std::string(error.what()).find("broken promise"), std::string::npos);
  }
}

TEST(Future, VoidFuturesCompleteAndPropagateErrors) {
  pz::Promise<void> ok;
  auto ok_future = ok.get_future();
  ok.set_value();
  ok_future.result();
  EXPECT_TRUE(ok_future.done());

  pz::Promise<void> broken;
  auto broken_future = broken.get_future();
  broken = pz::Promise<void>();  // move-assigning over a promise abandons it
  EXPECT_THROW(broken_future.result(), pz::BrokenPromise);
}

TEST(Future, WaitForReportsTimeoutThenCompletion) {
  pz::Promise<int> promise;
  auto future = promise.get_future();
  EXPECT_FALSE(future.wait_for(1ms));
  promise.set_value(7);
  EXPECT_TRUE(future.wait_for(0ms));
  EXPECT_EQ(std::move(future).result(), 7);
}

TEST(Future, ResultForRaisesTimeoutErrorAndLeavesTheFutureToBeWaitedOnAgain) {
  // concurrent.futures: future.result(timeout=...) raises TimeoutError.
  pz::Promise<std::string> promise;
  auto future = promise.get_future();
  try {
    (void)future.result_for(2ms);
    ADD_FAILURE() << "result_for returned before the value was set";
  } catch (const pz::TimeoutError& error) {
    EXPECT_STREQ(error.what(), "pz::Future::result_for: not done within 2 ms");
  }
  promise.set_value("margherita");
  EXPECT_EQ(future.result_for(0ms), "margherita");
  EXPECT_EQ(std::move(future).result_for(1s), "margherita");

  pz::Promise<void> failing;
  auto failed = failing.get_future();
  failing.set_exception(std::make_exception_ptr(std::runtime_error("burnt")));
  EXPECT_THROW(failed.result_for(1s), std::runtime_error);  // the task's own error
}

TEST(Future, SettingTwiceOrGettingTheFutureTwiceIsALogicError) {
  pz::Promise<int> promise;
  auto future = promise.get_future();
  EXPECT_THROW((void)promise.get_future(), std::logic_error);
  promise.set_value(1);
  EXPECT_THROW(promise.set_value(2), std::logic_error);
  EXPECT_THROW(promise.set_exception(std::make_exception_ptr(std::runtime_error("x"))),
               std::logic_error);
  EXPECT_EQ(future.result(), 1);
}

TEST(Future, AnEmptyFutureSaysSoInsteadOfCrashing) {
  pz::Future<int> future;
  EXPECT_FALSE(future.valid());
  EXPECT_THROW((void)future.done(), std::logic_error);
}

TEST(Future, ThenChainsValuesAndMoveOnlyResults) {
  pz::Promise<int> promise;
  auto chained = promise.get_future().then([](int x) { return x * 2; }).then([](int x) {
    return std::make_unique<int>(x + 1);
  });
  EXPECT_FALSE(chained.done());
  promise.set_value(20);
  EXPECT_EQ(*chained.result(), 41);
}

TEST(Future, ThenOnAReadyFutureRunsImmediately) {
  auto doubled = pz::make_ready_future(5).then([](int x) { return x * 2; });
  ASSERT_TRUE(doubled.done());
  EXPECT_EQ(doubled.result(), 10);
  auto after_void = pz::make_ready_future().then([] { return std::string("done"); });
  EXPECT_EQ(after_void.result(), "done");
}

TEST(Future, ThenSkipsTheContinuationOnErrorAndCapturesItsThrow) {
  bool called = false;
  auto skipped =
      pz::make_failed_future<int>(std::make_exception_ptr(std::runtime_error("no dough")))
          .then([&called](int x) {
            called = true;
            return x;
          });
  EXPECT_FALSE(called);
  EXPECT_THROW(skipped.result(), std::runtime_error);

  auto throwing = pz::make_ready_future(1).then([](int) -> int { throw std::out_of_range("big"); });
  EXPECT_THROW(throwing.result(), std::out_of_range);
}

TEST(Future, WhenAllCollectsValuesInInputOrderFromManyThreads) {
  constexpr int kCount = 16;
  std::vector<pz::Promise<int>> promises(kCount);
  std::vector<pz::Future<int>> futures;
  for (auto& promise : promises) {
    futures.push_back(promise.get_future());
  }
  auto all = pz::when_all(std::move(futures));
  std::vector<std::thread> threads;
  // Completed in reverse order on separate threads: order must still be input order.
  for (int i = kCount - 1; i >= 0; --i) {
    threads.emplace_back(
        [&promises, i] { promises[static_cast<std::size_t>(i)].set_value(i * i); });
  }
  const std::vector<int> values = std::move(all).result();
  for (auto& thread : threads) {
    thread.join();
  }
  ASSERT_EQ(values.size(), static_cast<std::size_t>(kCount));
  for (int i = 0; i < kCount; ++i) {
    EXPECT_EQ(values[static_cast<std::size_t>(i)], i * i);
  }
}

TEST(Future, WhenAllFailsWithTheFirstFailureInInputOrder) {
  std::vector<pz::Future<int>> futures;
  futures.push_back(pz::make_ready_future(1));
  futures.push_back(
      pz::make_failed_future<int>(std::make_exception_ptr(std::runtime_error("second"))));
  futures.push_back(
      pz::make_failed_future<int>(std::make_exception_ptr(std::logic_error("third"))));
  auto all = pz::when_all(std::move(futures));
  try {
    all.result();
    FAIL() << "when_all should have failed";
  } catch (const std::runtime_error& error) {
    EXPECT_STREQ(error.what(), "second");
  }
}

TEST(Future, WhenAllOfNothingOrOfVoidsCompletes) {
  EXPECT_TRUE(pz::when_all(std::vector<pz::Future<int>>{}).result().empty());
  std::vector<pz::Future<void>> voids;
  pz::Promise<void> promise;
  voids.push_back(promise.get_future());
  voids.push_back(pz::make_ready_future());
  auto all = pz::when_all(std::move(voids));
  EXPECT_FALSE(all.done());
  promise.set_value();
  all.result();
  EXPECT_TRUE(all.done());
}

TEST(Future, WhenAnyReportsTheFirstCompletedAndReturnsTheRest) {
  pz::Promise<int> slow;
  pz::Promise<int> fast;
  std::vector<pz::Future<int>> futures;
  futures.push_back(slow.get_future());
  futures.push_back(fast.get_future());
  auto any = pz::when_any(std::move(futures));
  EXPECT_FALSE(any.done());
  std::thread producer([&fast] { fast.set_value(2); });
  auto first = std::move(any).result();
  producer.join();
  EXPECT_EQ(first.index, 1U);
  ASSERT_EQ(first.futures.size(), 2U);
  EXPECT_EQ(first.futures[1].result(), 2);
  EXPECT_FALSE(first.futures[0].done());
  slow.set_value(1);
  EXPECT_EQ(first.futures[0].result(), 1);
}

TEST(Future, WhenAnyOfAnAlreadyReadyFutureCompletesAtOnce) {
  pz::Promise<int> never_set;
  std::vector<pz::Future<int>> futures;
  futures.push_back(never_set.get_future());
  futures.push_back(pz::make_ready_future(9));
  auto any = pz::when_any(std::move(futures));
  ASSERT_TRUE(any.done());
  EXPECT_EQ(any.result().index, 1U);
  EXPECT_THROW((void)pz::when_any(std::vector<pz::Future<int>>{}), std::invalid_argument);
}

}  // namespace
