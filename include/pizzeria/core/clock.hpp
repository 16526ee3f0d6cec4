// pz::Clock: where an EventLoop gets its time from.
//
// The loop never reads std::chrono directly: it asks its Clock, so tests can
// hand it a ManualClock and drive timers without sleeping. Time is monotonic;
// wall-clock time would make timers jump when the system clock is set.
//
// Thread safety: now() may be called from any thread; the loop calls the
// other members only on its own thread.
#pragma once

#include <chrono>

namespace pz {

using Duration = std::chrono::nanoseconds;
using TimePoint = std::chrono::time_point<std::chrono::steady_clock, Duration>;

class Clock {
 public:
  Clock() = default;
  Clock(const Clock&) = delete;
  Clock& operator=(const Clock&) = delete;
  virtual ~Clock() = default;

  [[nodiscard]] virtual TimePoint now() const noexcept = 0;

  // How long the loop may block in the poller when the earliest timer is due
  // at `deadline`. A real clock answers with the time left; a manual clock
  // answers zero, because real time passing does not move it.
  [[nodiscard]] virtual Duration blocking_budget(TimePoint deadline) const noexcept = 0;

  // Called by the loop when an iteration found nothing to do but timers that
  // are not yet due. A manual clock may jump to `deadline` here (Tokio's
  // "auto-advance" of paused time); a real clock does nothing.
  virtual void idle_until(TimePoint deadline) noexcept = 0;
};

// The default: std::chrono::steady_clock (CLOCK_MONOTONIC, read through the
// vDSO, so no system call).
class SteadyClock final : public Clock {
 public:
  [[nodiscard]] TimePoint now() const noexcept override {
    return std::chrono::time_point_cast<Duration>(std::chrono::steady_clock::now());
  }
  [[nodiscard]] Duration blocking_budget(TimePoint deadline) const noexcept override {
    return deadline - now();
  }
  void idle_until(TimePoint /*deadline*/) noexcept override {}

  // The process-wide instance a loop uses unless told otherwise.
  static SteadyClock& instance() noexcept;
};

}  // namespace pz
