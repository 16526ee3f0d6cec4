// ProcessPool::imap: results in input order, streamed, with a bounded window.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "pizzeria/exec/process_pool.hpp"
#include "support/fifo_gate.hpp"
#include "support/message_of.hpp"

namespace {

using pz::test::contains;
using pz::test::message_of;

// ---- tasks, registered in the parent and in every re-executed worker ----

// Gives its input back; an input naming a FIFO (it starts with '/') first
// opens it and reads until the parent closes its end, so a test can hold one
// item until the items after it have finished, without sleeping.
const auto kImapHeldEcho =
    pz::register_task<std::string(std::string)>("test.imap.held_echo", [](std::string input) {
      if (!input.empty() && input.front() == '/') {
        pz::test::FifoGate::hold_until_released(input);
      }
      return input;
    });

// Squares, except 3, which it refuses, and negative numbers, for which it
// kills its own worker.
const auto kImapSquare = pz::register_task<long(long)>("test.imap.square", [](long x) -> long {
  if (x == 3) {
    throw std::invalid_argument("no pizza has 3 toppings");
  }
  if (x < 0) {
    ::kill(::getpid(), SIGKILL);
  }
  return x * x;
});

// ---- helpers ----

// Waits until `count` items have completed in `pool`: for a count, not for
// time; the cap only keeps a wrong implementation from hanging the test (its
// assertions then fail).
void wait_until_completed(const pz::ProcessPool& pool, std::uint64_t count) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (pool.counters().tasks_completed < count && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

// Holds the task reading `fifo` until `others` items have completed in
// `pool`, then lets it finish. Runs on its own thread, for when the test's
// thread is blocked in next() waiting for that very item.
class Releaser {
 public:
  Releaser(pz::test::FifoGate& fifo, pz::ProcessPool& pool, std::uint64_t others)
      : thread_([&fifo, &pool, others] {
          fifo.wait_until_task_runs();
          wait_until_completed(pool, others);
          fifo.close();
        }) {}
  Releaser(const Releaser&) = delete;
  Releaser& operator=(const Releaser&) = delete;
  ~Releaser() { thread_.join(); }

 private:
  std::thread thread_;
};

// An endless input: the FIFO's path first, then "1", "2", ...; counts how
// many inputs were read from it.
struct HeldThenNumbers {
  struct End {};
  struct Iterator {
    const std::string* first = nullptr;
    std::size_t* pulled = nullptr;
    long index = 0;
    std::string operator*() const {
      ++*pulled;
      return index == 0 ? *first : std::to_string(index);
    }
    Iterator& operator++() {
      ++index;
      return *this;
    }
    bool operator!=(End) const { return true; }
  };
  const std::string* first;
  std::size_t* pulled;
  [[nodiscard]] Iterator begin() const { return {first, pulled, 0}; }
  [[nodiscard]] End end() const { return {}; }
};

// ---- tests ----

TEST(ProcessPoolImap, ReturnsResultsInInputOrderWhenAnEarlyItemFinishesLast) {
  pz::ProcessPool pool(2);
  pz::test::FifoGate fifo;
  const std::vector<std::string> inputs{"0", fifo.path(), "2", "3", "4", "5", "6", "7"};
  auto results = pool.imap(kImapHeldEcho, inputs, inputs.size());
  std::vector<std::string> got;
  got.push_back(results.next().value_or("(nothing)"));  // sends all eight
  // The second item is still held when the six after it have finished, so
  // each of them is ready to be handed out before it.
  ASSERT_TRUE(fifo.wait_until_task_runs());
  wait_until_completed(pool, inputs.size() - 1);
  EXPECT_EQ(results.in_flight(), inputs.size() - 1);
  fifo.close();
  // Bounded, so an implementation that never ends fails instead of hanging.
  for (std::size_t i = 1; i <= inputs.size(); ++i) {
    auto value = results.next();
    if (!value) {
      break;
    }
    got.push_back(*value);
  }
  EXPECT_EQ(got, inputs);
  EXPECT_EQ(results.in_flight(), 0U);
}

TEST(ProcessPoolImap, ReadsAnEndlessInputOnlyAsResultsAreTakenEvenBehindASlowItem) {
  pz::ProcessPool pool(2);
  pz::test::FifoGate fifo;
  constexpr std::size_t kMaxInFlight = 4;
  // The first item is held until the three others in the window finished:
  // finished results waiting for it still count against the bound, so no
  // further input may be read meanwhile.
  Releaser releaser(fifo, pool, kMaxInFlight - 1);
  std::size_t pulled = 0;
  auto results = pool.imap(kImapHeldEcho, HeldThenNumbers{&fifo.path(), &pulled}, kMaxInFlight);
  for (std::size_t taken = 1; taken <= 40; ++taken) {
    auto value = results.next();
    ASSERT_TRUE(value.has_value());
    EXPECT_EQ(*value, taken == 1 ? fifo.path() : std::to_string(taken - 1));
    EXPECT_LE(pulled, taken + kMaxInFlight) << "after " << taken << " results";
    EXPECT_LE(results.in_flight(), kMaxInFlight);
  }
}

TEST(ProcessPoolImap, AnItemThatThrowsFailsAtItsTurnAndTheLaterItemsStillCome) {
  pz::ProcessPool pool(2);
  auto results = pool.imap(kImapSquare, std::vector<long>{1, 2, 3, 4, 5}, 2);
  EXPECT_EQ(results.next(), 1);
  EXPECT_EQ(results.next(), 4);
  const std::string message = message_of<pz::RemoteTaskError>([&] { results.next(); });
  EXPECT_TRUE(contains(message, "no pizza has 3 toppings")) << message;
  EXPECT_EQ(results.next(), 16);
  EXPECT_EQ(results.next(), 25);
  EXPECT_EQ(results.next(), std::nullopt);
}

TEST(ProcessPoolImap, AWorkerThatDiesMidItemFailsThatItemAndTheRestContinue) {
  pz::ProcessPool pool(2);
  const std::vector<long> inputs{1, -2, 4, 5, 6};
  auto results = pool.imap(kImapSquare, inputs, 3);
  EXPECT_EQ(results.next(), 1);
  const std::string message = message_of<pz::WorkerDied>([&] { results.next(); });
  EXPECT_TRUE(contains(message, "SIGKILL")) << message;
  EXPECT_EQ(results.next(), 16);
  EXPECT_EQ(results.next(), 25);
  EXPECT_EQ(results.next(), 36);
  EXPECT_EQ(results.next(), std::nullopt);
  EXPECT_EQ(pool.counters().workers_died, 1U);
}

TEST(ProcessPoolImap, AnEmptyInputEndsAtOnceWithoutSubmittingAnything) {
  pz::ProcessPool pool(2);
  const std::vector<long> inputs;
  auto results = pool.imap(kImapSquare, inputs);
  EXPECT_EQ(results.next(), std::nullopt);
  EXPECT_EQ(results.next(), std::nullopt);
  EXPECT_EQ(results.in_flight(), 0U);
  EXPECT_EQ(pool.counters().tasks_completed, 0U);
}

// The loop's iterator is a real input iterator, so ranges algorithms take it.
struct CountDown {
  int left = 3;
  std::optional<int> next() { return left > 0 ? std::optional<int>(left--) : std::nullopt; }
};
static_assert(std::input_iterator<pz::detail::NextIterator<CountDown, int>>);
static_assert(std::sentinel_for<std::default_sentinel_t, pz::detail::NextIterator<CountDown, int>>);

// Python's `for r in pool.imap(f, xs)`: a range-for over the stream, in
// input order, ending with the input; a failed item ends the loop with its
// error, as the exception ends Python's.
TEST(ProcessPoolImap, ARangeForLoopTakesTheResultsInOrderAndAFailureEndsIt) {
  pz::ProcessPool pool(2);
  std::vector<long> squares;
  for (long square : pool.imap(kImapSquare, std::vector<long>{5, 1, 4, 2})) {
    squares.push_back(square);
  }
  EXPECT_EQ(squares, (std::vector<long>{25, 1, 16, 4}));

  std::vector<long> before_failure;
  const std::string message = message_of<pz::RemoteTaskError>([&] {
    for (long square : pool.imap(kImapSquare, std::vector<long>{2, 1, 3, 4})) {
      before_failure.push_back(square);
    }
  });
  EXPECT_TRUE(contains(message, "no pizza has 3 toppings")) << message;
  EXPECT_EQ(before_failure, (std::vector<long>{4, 1}));
}

}  // namespace
