#include "pizzeria/coro/task.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "pizzeria/core/manual_clock.hpp"
#include "pizzeria/coro/run.hpp"
#include "pizzeria/coro/sleep.hpp"

namespace {

// Counts live instances, to catch frames that leak or die twice.
struct Counted {
  static inline int alive = 0;
  Counted() { ++alive; }
  Counted(const Counted&) { ++alive; }
  Counted(Counted&&) noexcept { ++alive; }
  Counted& operator=(const Counted&) = default;
  Counted& operator=(Counted&&) = default;
  ~Counted() { --alive; }
};

pz::Task<int> answer() {
  co_return 42;
}

pz::Task<int> twice() {
  co_return 2 * co_await answer();
}

pz::Task<int> depth(int n) {
  if (n == 0) {
    co_return 0;
  }
  co_return 1 + co_await depth(n - 1);
}

pz::Task<void> fail_after(int n) {
  if (n == 0) {
    throw std::runtime_error("bottom of the chain failed");
  }
  co_await fail_after(n - 1);
}

pz::Task<int&> pick(int& slot) {
  co_return slot;
}

static_assert(!std::is_copy_constructible_v<pz::Task<int>>);
static_assert(std::is_nothrow_move_constructible_v<pz::Task<int>>);

TEST(Task, ReturnsTheValueOfItsBodyToTheAwaiter) {
  EXPECT_EQ(pz::run(twice()), 84);
}

TEST(Task, DoesNotRunItsBodyUntilItIsAwaited) {
  bool ran = false;
  auto body = [](bool& flag) -> pz::Task<void> {
    flag = true;
    co_return;
  };
  pz::Task<void> task = body(ran);
  EXPECT_FALSE(ran);
  pz::run(std::move(task));
  EXPECT_TRUE(ran);
}

TEST(Task, DestroyedUnstartedFreesItsFrameAndArguments) {
  auto body = [](Counted /*counted*/) -> pz::Task<void> { co_return; };
  {
    pz::Task<void> task = body(Counted{});
    EXPECT_EQ(Counted::alive, 1);  // the argument lives in the frame
  }
  EXPECT_EQ(Counted::alive, 0);
}

TEST(Task, PropagatesAnExceptionThroughEveryAwaiter) {
  try {
    pz::run(fail_after(100));
    FAIL() << "expected the exception to reach pz::run";
  } catch (const std::runtime_error& error) {
    EXPECT_STREQ(error.what(), "bottom of the chain failed");
  }
}

TEST(Task, AwaitsAChainAMillionDeepWithoutOverflowingTheStack) {
  EXPECT_EQ(pz::run(depth(1'000'000)), 1'000'000);
}

TEST(Task, ReturnsReferencesWithoutCopying) {
  auto body = []() -> pz::Task<int> {
    int slot = 1;
    int& same = co_await pick(slot);
    same = 7;
    co_return slot;
  };
  EXPECT_EQ(pz::run(body()), 7);
}

TEST(Task, IsMovableAndTheMovedFromTaskIsEmpty) {
  pz::Task<int> first = answer();
  pz::Task<int> second = std::move(first);
  EXPECT_FALSE(first.valid());  // NOLINT(bugprone-use-after-move): checking the moved-from state
  EXPECT_TRUE(second.valid());
  EXPECT_EQ(pz::run(std::move(second)), 42);
}

TEST(Task, ReturnsMoveOnlyValues) {
  auto body = []() -> pz::Task<std::unique_ptr<std::string>> {
    co_return std::make_unique<std::string>("margherita");
  };
  EXPECT_EQ(*pz::run(body()), "margherita");
}

}  // namespace

namespace {

TEST(Task, DestroyedWhileSuspendedUnregistersWhatItAwaited) {
  pz::ManualClock clock;
  pz::EventLoop loop({.clock = &clock});
  auto sleeper = []() -> pz::Task<void> { co_await pz::sleep(std::chrono::hours(1)); };
  {
    pz::Task<void> task = sleeper();
    task.handle().resume();  // runs to the sleep
    EXPECT_FALSE(task.done());
    EXPECT_EQ(loop.timer_count(), 1u);
  }
  EXPECT_EQ(loop.timer_count(), 0u);
  clock.advance(std::chrono::hours(2));
  loop.run_once(pz::Duration::zero());  // nothing left to fire into a dead frame
}

}  // namespace
