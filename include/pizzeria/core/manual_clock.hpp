// pz::ManualClock: a clock that moves only when told to, for tests.
//
//   pz::ManualClock clock;
//   pz::EventLoop loop({.clock = &clock});
//   loop.call_later(5s, fire);
//   clock.advance(5s);
//   loop.run_once();  // fires; no real time passed
//
// With auto_advance, the loop jumps the clock to the next timer whenever it
// has nothing else to do, so a program made of sleeps runs instantly and in
// the right order (the same idea as Tokio's paused time).
//
// Thread safety: now(), advance() and set() may be called from any thread.
#pragma once

#include <atomic>

#include "pizzeria/core/clock.hpp"

namespace pz {

class ManualClock final : public Clock {
 public:
  struct Options {
    TimePoint start{};
    bool auto_advance = false;
  };

  ManualClock() noexcept : ManualClock(Options{}) {}
  explicit ManualClock(Options options) noexcept
      : now_ns_(options.start.time_since_epoch().count()), auto_advance_(options.auto_advance) {}

  [[nodiscard]] TimePoint now() const noexcept override {
    return TimePoint(Duration(now_ns_.load(std::memory_order_acquire)));
  }

  [[nodiscard]] Duration blocking_budget(TimePoint /*deadline*/) const noexcept override {
    return Duration::zero();
  }

  void idle_until(TimePoint deadline) noexcept override {
    if (auto_advance_) {
      advance_to(deadline);
    }
  }

  void advance(Duration by) noexcept { now_ns_.fetch_add(by.count(), std::memory_order_acq_rel); }

  // Moves the clock forward to `when`; a clock never goes backwards, so an
  // earlier `when` leaves it where it is.
  void advance_to(TimePoint when) noexcept {
    auto target = when.time_since_epoch().count();
    auto current = now_ns_.load(std::memory_order_acquire);
    while (current < target &&
           !now_ns_.compare_exchange_weak(current, target, std::memory_order_acq_rel)) {
    }
  }

 private:
  // acquire/release: a thread that sees the new time also sees whatever the
  // advancing thread wrote before moving the clock.
  std::atomic<Duration::rep> now_ns_;
  bool auto_advance_;
};

}  // namespace pz
