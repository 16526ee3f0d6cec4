#include "pizzeria/coro/run.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <stdexcept>
#include <string>

#include "pizzeria/core/event_loop.hpp"
#include "pizzeria/coro/sleep.hpp"

namespace {

pz::Task<int> seven() {
  co_return 7;
}

TEST(Run, CreatesALoopForTheCallAndRemovesItAfterwards) {
  EXPECT_EQ(pz::EventLoop::current(), nullptr);
  auto body = []() -> pz::Task<bool> { co_return pz::EventLoop::current() != nullptr; };
  EXPECT_TRUE(pz::run(body()));
  EXPECT_EQ(pz::EventLoop::current(), nullptr);
}

TEST(Run, UsesTheThreadsLoopWhenThereIsOne) {
  pz::EventLoop loop;
  auto body = [&]() -> pz::Task<bool> { co_return pz::EventLoop::current() == &loop; };
  EXPECT_TRUE(pz::run(body()));
  EXPECT_EQ(pz::run(seven()), 7);
}

TEST(Run, RefusesToRunInsideARunningLoop) {
  pz::EventLoop loop;
  bool refused = false;
  loop.call_soon([&] {
    try {
      pz::run(seven());
    } catch (const std::logic_error&) {
      refused = true;
    }
    loop.stop();
  });
  loop.run();
  EXPECT_TRUE(refused);
}

TEST(Run, RethrowsTheTasksException) {
  auto body = []() -> pz::Task<void> {
    co_await pz::sleep(std::chrono::nanoseconds(0));
    throw std::out_of_range("order number out of range");
  };
  EXPECT_THROW(pz::run(body()), std::out_of_range);
}

TEST(Run, ReportsACoroutineStepThatHoldsTheLoopTooLong) {
  auto body = []() -> pz::Task<void> {
    co_await pz::sleep(std::chrono::nanoseconds(0));
    // A step that computes instead of awaiting: spin well past the threshold
    // (no sleeping for timing: the step itself is what must be slow).
    const auto start = pz::SteadyClock::instance().now();
    while (pz::SteadyClock::instance().now() - start < std::chrono::milliseconds(20)) {
    }
  };
  testing::internal::CaptureStderr();
  pz::run(body(), {.slow_callback_threshold = std::chrono::milliseconds(5)});
  const std::string output = testing::internal::GetCapturedStderr();
  EXPECT_NE(output.find("slow callback"), std::string::npos) << output;
}

}  // namespace
