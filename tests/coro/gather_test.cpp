#include "pizzeria/coro/gather.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "pizzeria/core/manual_clock.hpp"
#include "pizzeria/coro/run.hpp"
#include "pizzeria/coro/sleep.hpp"
#include "pizzeria/coro/when_any.hpp"

using namespace std::chrono_literals;

namespace {

pz::Task<int> after(std::chrono::milliseconds delay, int value) {
  co_await pz::sleep(delay);
  co_return value;
}

pz::Task<void> fail_after(std::chrono::milliseconds delay) {
  co_await pz::sleep(delay);
  throw std::runtime_error("no more mozzarella");
}

TEST(Gather, ReturnsResultsInArgumentOrderAndRunsConcurrently) {
  pz::ManualClock clock({.auto_advance = true});
  auto body = [&]() -> pz::Task<void> {
    const auto start = clock.now();
    auto [a, b, c] =
        co_await pz::gather(after(30ms, 1), after(10ms, 2), [&]() -> pz::Task<std::string> {
          co_await pz::sleep(20ms);
          co_return "three";
        }());
    EXPECT_EQ(a, 1);
    EXPECT_EQ(b, 2);
    EXPECT_EQ(c, "three");
    EXPECT_EQ(clock.now() - start, 30ms);  // concurrent, not 60ms
  };
  pz::run(body(), {.clock = &clock});
}

TEST(Gather, CollectsARangeOfTasks) {
  pz::ManualClock clock({.auto_advance = true});
  auto body = []() -> pz::Task<std::vector<int>> {
    std::vector<pz::Task<int>> tasks;
    for (int i = 0; i < 100; ++i) {
      tasks.push_back(after(std::chrono::milliseconds(100 - i), i));
    }
    co_return co_await pz::gather(std::move(tasks));
  };
  auto results = pz::run(body(), {.clock = &clock});
  ASSERT_EQ(results.size(), 100u);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(results[static_cast<std::size_t>(i)], i);
  }
}

TEST(Gather, RethrowsTheFirstFailureAfterCancellingTheOthers) {
  pz::ManualClock clock({.auto_advance = true});
  auto body = [&]() -> pz::Task<void> {
    const auto start = clock.now();
    try {
      co_await pz::gather(after(1h, 1), fail_after(5ms));
      ADD_FAILURE();
    } catch (const std::runtime_error& error) {
      EXPECT_STREQ(error.what(), "no more mozzarella");
    }
    EXPECT_EQ(clock.now() - start, 5ms);
  };
  pz::run(body(), {.clock = &clock});
}

TEST(WhenAny, ReturnsTheFirstToFinishAndCancelsTheRest) {
  pz::ManualClock clock({.auto_advance = true});
  auto body = [&]() -> pz::Task<void> {
    const auto start = clock.now();
    auto first = co_await pz::when_any(after(30ms, 1), after(10ms, 2));
    EXPECT_EQ(first.index(), 1u);
    EXPECT_EQ(std::get<1>(first), 2);
    EXPECT_EQ(clock.now() - start, 10ms);
  };
  pz::run(body(), {.clock = &clock});
}

TEST(WhenAny, OverARangeReportsTheWinnersIndex) {
  pz::ManualClock clock({.auto_advance = true});
  auto body = []() -> pz::Task<std::pair<std::size_t, int>> {
    std::vector<pz::Task<int>> tasks;
    tasks.push_back(after(50ms, 10));
    tasks.push_back(after(20ms, 20));
    tasks.push_back(after(40ms, 30));
    co_return co_await pz::when_any(std::move(tasks));
  };
  auto [index, value] = pz::run(body(), {.clock = &clock});
  EXPECT_EQ(index, 1u);
  EXPECT_EQ(value, 20);
}

TEST(WhenAny, RethrowsWhenTheFirstToFinishFailed) {
  pz::ManualClock clock({.auto_advance = true});
  auto body = []() -> pz::Task<void> { co_await pz::when_any(after(1h, 1), fail_after(1ms)); };
  EXPECT_THROW(pz::run(body(), {.clock = &clock}), std::runtime_error);
}

}  // namespace

namespace {

TEST(Gather, GivesAMonostateForEachVoidTask) {
  pz::ManualClock clock({.auto_advance = true});
  int ran = 0;
  auto work = [&]() -> pz::Task<void> {
    co_await pz::sleep(1ms);
    ++ran;
  };
  auto body = [&]() -> pz::Task<int> {
    auto [a, b, c] = co_await pz::gather(work(), after(2ms, 5), work());
    static_assert(std::is_same_v<decltype(a), std::monostate>);
    static_assert(std::is_same_v<decltype(c), std::monostate>);
    co_return b;
  };
  EXPECT_EQ(pz::run(body(), {.clock = &clock}), 5);
  EXPECT_EQ(ran, 2);
}

}  // namespace
