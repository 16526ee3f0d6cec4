// Seed 003's deadlock, run: philosophers around a table, a fork between
// each two, and each meal needs both neighbouring forks. Philosopher Pi's
// forks are Ri and R(i+1) (the last one's second fork is R1), which is the
// seed's circular wait "P1 -> R1 -> P2 -> R2 -> P1" when every philosopher
// holds one fork and waits for the next.
//
//   DiningPhilosophers table({.philosophers = 5, .meals = 1000,
//                             .strategy = DiningPhilosophers::Strategy::ordered});
//   DiningPhilosophers::Result r = table.run();   // r.deadlocks == 0
//
// Each strategy keeps or breaks one of the four Coffman conditions:
// - left_then_right: each takes its own first fork, then the next: all four
//   conditions can hold, and deadlocks happen. The ResourceTable sees each
//   one as it forms and refuses the closing wait; that philosopher puts its
//   fork down and tries the meal again (preemption, after the fact).
// - ordered: each takes the lower-numbered of its two forks first. The last
//   philosopher then reaches for R1 before R5, a cycle cannot close, and
//   "circular wait" never holds.
// - both_at_once: a philosopher waits holding nothing and takes both forks
//   together, so "hold and wait" never holds.
// Mutual exclusion is kept by every strategy (a fork is exclusive) and is
// checked: two philosophers using one fork would count a violation.
//
// force_first_meal makes the deadlock certain instead of likely: on the
// first meal every philosopher takes its first fork and waits until all the
// others hold theirs (or are blocked) before reaching for the second.
//
// Thread safety: run() starts and joins one thread per philosopher.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "pizzeria/programs/resource_table.hpp"

namespace pz::programs {

class DiningPhilosophers {
 public:
  enum class Strategy { left_then_right, ordered, both_at_once };

  struct Options {
    unsigned philosophers = 5;
    std::uint64_t meals = 1000;  // per philosopher
    Strategy strategy = Strategy::left_then_right;
    bool force_first_meal = false;
  };

  struct Result {
    std::uint64_t meals_eaten = 0;
    std::uint64_t deadlocks = 0;  // waits refused because they closed a cycle
    std::optional<ResourceTable::Cycle> first_deadlock;
    std::uint64_t exclusion_violations = 0;  // must stay 0
    double seconds = 0;
  };

  // Throws std::invalid_argument for fewer than 2 philosophers (one
  // philosopher's two forks would be the same fork).
  explicit DiningPhilosophers(Options options);

  [[nodiscard]] Result run() const;

  // The Coffman condition a strategy breaks, in a sentence.
  [[nodiscard]] static std::string_view describe(Strategy strategy) noexcept;

 private:
  Options options_;
};

}  // namespace pz::programs
