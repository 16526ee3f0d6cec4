#include "pizzeria/programs/dining_philosophers.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <latch>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

namespace pz::programs {

namespace {

// Eating with a fork marks it in use; finding it already in use means two
// philosophers hold one fork, which the table must never allow. Relaxed:
// the table's mutex orders the hand-overs; this only counts.
class ForkUse {
 public:
  explicit ForkUse(std::size_t forks) : in_use_(std::make_unique<std::atomic<int>[]>(forks)) {}

  void eat_with(std::size_t a, std::size_t b) {
    const bool a_taken = in_use_[a].fetch_add(1, std::memory_order_relaxed) != 0;
    const bool b_taken = in_use_[b].fetch_add(1, std::memory_order_relaxed) != 0;
    if (a_taken || b_taken) {
      violations_.fetch_add(1, std::memory_order_relaxed);
    }
    in_use_[a].fetch_sub(1, std::memory_order_relaxed);
    in_use_[b].fetch_sub(1, std::memory_order_relaxed);
  }

  [[nodiscard]] std::uint64_t violations() const noexcept {
    return violations_.load(std::memory_order_relaxed);
  }

 private:
  std::unique_ptr<std::atomic<int>[]> in_use_;
  std::atomic<std::uint64_t> violations_{0};
};

}  // namespace

DiningPhilosophers::DiningPhilosophers(Options options) : options_(options) {
  if (options_.philosophers < 2) {
    throw std::invalid_argument(
        "dining philosophers needs at least 2 philosophers (one alone would need the same fork "
        "twice)");
  }
}

DiningPhilosophers::Result DiningPhilosophers::run() const {
  const std::size_t count = options_.philosophers;
  ResourceTable forks(count, count);
  ForkUse use(count);
  std::atomic<std::uint64_t> eaten{0};  // relaxed: read after the joins
  // All start together: a thread that ran its meals while the next was
  // still being created would never meet the others at the table.
  std::latch start(static_cast<std::ptrdiff_t>(count));

  const auto dine = [&](std::size_t me) {
    const std::size_t own = me;
    const std::size_t next = (me + 1) % count;
    start.arrive_and_wait();
    for (std::uint64_t meal = 0; meal < options_.meals; ++meal) {
      const bool force = options_.force_first_meal && meal == 0;
      bool arrived = false;
      while (true) {
        if (options_.strategy == Strategy::both_at_once) {
          forks.acquire_both(me, own, next);
          if (force && !arrived) {
            forks.arrive_and_wait_for_others(me);
            arrived = true;
          }
          break;
        }
        const std::size_t first =
            options_.strategy == Strategy::ordered ? std::min(own, next) : own;
        const std::size_t second = first == own ? next : own;
        // A first fork can only be refused if someone waits for a fork we
        // hold, and we hold none here, so this always succeeds.
        if (!forks.acquire(me, first)) {
          throw std::logic_error("a philosopher holding no fork was refused one");
        }
        if (force && !arrived) {
          forks.arrive_and_wait_for_others(me);
          arrived = true;
        }
        if (forks.acquire(me, second)) {
          break;
        }
        // Our wait would have closed the cycle: put the fork down so the
        // others can eat, and try this meal again.
        forks.release(me, first);
        std::this_thread::yield();
      }
      use.eat_with(own, next);
      eaten.fetch_add(1, std::memory_order_relaxed);
      forks.release(me, own);
      forks.release(me, next);
    }
  };

  const auto started = std::chrono::steady_clock::now();
  {
    std::vector<std::jthread> philosophers;
    philosophers.reserve(count);
    for (std::size_t me = 0; me < count; ++me) {
      philosophers.emplace_back(dine, me);
    }
  }
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - started;
  return Result{.meals_eaten = eaten.load(std::memory_order_relaxed),
                .deadlocks = forks.deadlocks(),
                .first_deadlock = forks.first_deadlock(),
                .exclusion_violations = use.violations(),
                .seconds = elapsed.count()};
}

std::string_view DiningPhilosophers::describe(Strategy strategy) noexcept {
  switch (strategy) {
    case Strategy::left_then_right:
      return "each takes its own fork, then the next one: all four Coffman conditions can hold";
    case Strategy::ordered:
      return "each takes the lower-numbered fork first: no circular wait";
    case Strategy::both_at_once:
      return "each waits holding nothing and takes both forks together: no hold and wait";
  }
  return "?";
}

}  // namespace pz::programs
