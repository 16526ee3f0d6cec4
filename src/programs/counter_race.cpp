#include "pizzeria/programs/counter_race.hpp"

#include <atomic>
#include <barrier>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace pz::programs {

namespace {

// The shared state of one run. The counter is an atomic for the reason in
// the header: only the race condition should remain, not undefined
// behaviour.
struct Shared {
  explicit Shared(unsigned count) : threads(count), step(count) {}

  std::atomic<std::uint64_t> counter{0};
  std::mutex mutex;
  const unsigned threads;
  // All threads begin together, so that they overlap: a spinning gate, since
  // a futex wake-up (std::latch) can take longer than the whole loop.
  std::atomic<unsigned> ready{0};
  std::barrier<> step;  // lockstep: the meeting points between phases
};

void increment_all(Shared& shared, CounterRace::Update update, std::uint64_t increments,
                   bool lockstep) {
  // Relaxed everywhere: the point is what happens *without* ordering; the
  // mutex and fetch_add variants are correct because each increment is
  // indivisible, not because of the memory order.
  std::atomic<std::uint64_t>& counter = shared.counter;
  // Relaxed: the gate only lines up start times; it publishes nothing.
  shared.ready.fetch_add(1, std::memory_order_relaxed);
  while (shared.ready.load(std::memory_order_relaxed) < shared.threads) {
    std::this_thread::yield();  // more threads than cores must still get there
  }
  for (std::uint64_t i = 0; i < increments; ++i) {
    switch (update) {
      case CounterRace::Update::read_then_write: {
        const std::uint64_t seen = counter.load(std::memory_order_relaxed);
        if (lockstep) {
          shared.step.arrive_and_wait();  // everyone has read the same value
        }
        counter.store(seen + 1, std::memory_order_relaxed);
        break;
      }
      case CounterRace::Update::atomic_add:
        counter.fetch_add(1, std::memory_order_relaxed);
        break;
      case CounterRace::Update::mutex: {
        const std::lock_guard lock(shared.mutex);
        counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        break;
      }
    }
    if (lockstep) {
      // Between whole increments, so the next read sees every write of
      // this step. The synchronised updates have no read phase to stop in:
      // for them this barrier is the only one, and they stay exact.
      shared.step.arrive_and_wait();
    }
  }
}

}  // namespace

CounterRace::CounterRace(Options options) : options_(options) {
  if (options_.threads == 0) {
    throw std::invalid_argument("a counter race needs at least 1 thread");
  }
}

CounterRace::Result CounterRace::run(Update update) const {
  Shared shared(options_.threads);
  std::vector<std::jthread> threads;
  threads.reserve(options_.threads);
  const auto started = std::chrono::steady_clock::now();
  for (unsigned t = 0; t < options_.threads; ++t) {
    threads.emplace_back([&shared, update, this] {
      increment_all(shared, update, options_.increments, options_.lockstep);
    });
  }
  threads.clear();  // joins
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - started;
  return Result{.expected = options_.threads * options_.increments,
                .counted = shared.counter.load(std::memory_order_relaxed),
                .seconds = elapsed.count()};
}

std::string_view CounterRace::describe(Update update) noexcept {
  switch (update) {
    case Update::read_then_write:
      return "read, then write (a race condition)";
    case Update::atomic_add:
      return "atomic fetch_add";
    case Update::mutex:
      return "read and write under a mutex";
  }
  return "?";
}

}  // namespace pz::programs
