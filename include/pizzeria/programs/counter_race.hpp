// Seed 003's race condition, measured: threads increment one shared counter,
// and an increment that is a separate read and write loses updates.
//
//   CounterRace race({.threads = 2, .increments = 1'000'000});
//   CounterRace::Result r = race.run(CounterRace::Update::read_then_write);
//   // r.counted < r.expected(): another thread's write fell between this
//   // thread's read and its write, and one of the two increments is lost.
//
// The racy update is written with relaxed atomic loads and stores, not plain
// ints: in C++ two threads touching a plain int without synchronisation is a
// *data race*, which is undefined behaviour (the compiler may keep the
// counter in a register and add once per loop), so it would show nothing
// reliable. With atomic loads and stores every access is defined, and the
// *race condition* the seed describes (an outcome that depends on the
// interleaving) is all that is left. ThreadSanitizer is clean on it, as it
// should be: the bug is in the logic, not in the memory model.
//
// Lockstep mode forces the losing interleaving instead of waiting for the
// scheduler to produce it: every thread reads, all meet at a barrier, every
// thread writes, all meet again. Each step then adds exactly one, whatever
// the number of threads, which is the seed's "erroneous behaviour caused by
// the ordering of events", reproducible.
//
// Thread safety: run() starts and joins its own threads; one CounterRace
// may be used by one caller at a time.
#pragma once

#include <cstdint>
#include <string_view>

namespace pz::programs {

class CounterRace {
 public:
  // How each thread adds one to the shared counter.
  enum class Update {
    read_then_write,  // load, then store load + 1: the race condition
    atomic_add,       // one indivisible fetch_add
    mutex,            // load and store under one std::mutex
  };

  struct Options {
    unsigned threads = 2;
    std::uint64_t increments = 1'000'000;  // per thread
    // Force the interleaving with barriers (see above). Much slower per
    // increment (two barrier waits each), so use fewer increments.
    bool lockstep = false;
  };

  struct Result {
    std::uint64_t expected = 0;  // threads x increments
    std::uint64_t counted = 0;   // the counter's final value
    double seconds = 0;          // wall time of the threads' work
    [[nodiscard]] std::uint64_t lost() const noexcept {
      return counted < expected ? expected - counted : 0;
    }
  };

  // Throws std::invalid_argument for 0 threads.
  explicit CounterRace(Options options);

  [[nodiscard]] Result run(Update update) const;

  [[nodiscard]] static std::string_view describe(Update update) noexcept;

 private:
  Options options_;
};

}  // namespace pz::programs
