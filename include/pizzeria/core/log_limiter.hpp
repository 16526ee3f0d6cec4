// pz::LogLimiter: at most one log line per period for one kind of event,
// with a count of those held back, so a peer that can cause a failure
// (a DNS client that makes every send fail, a flood of bad frames) cannot
// write the log as fast as it sends (BIND's and nginx's habit of counting
// repeats instead of logging each).
//
//   pz::LogLimiter send_failures(loop.clock());          // one line a second
//   if (const auto held = send_failures.admit()) {
//     log("dns: sending to " + peer + " failed: " + why + pz::LogLimiter::more(*held));
//   }                                                   // " (and 1,243 more like it ...)"
//   ...
//   if (const auto left = send_failures.take_held(); left > 0) log(...);   // at the stop
//
// The first event is always written; later ones are written once `period`
// has passed since the last written line, each with the number held back
// in between. Time comes from a pz::Clock, so tests use a ManualClock.
//
// Thread safety: a value for one thread; the clock must outlive it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "pizzeria/core/clock.hpp"

namespace pz {

class LogLimiter {
 public:
  explicit LogLimiter(const Clock& clock, Duration period = std::chrono::seconds(1)) noexcept
      : clock_(&clock), period_(period) {}

  // nullopt: hold this one back (counted). Otherwise write the line now;
  // the value is how many were held back since the last written line.
  [[nodiscard]] std::optional<std::uint64_t> admit() noexcept {
    const TimePoint now = clock_->now();
    if (written_ && now - last_ < period_) {
      ++held_;
      return std::nullopt;
    }
    written_ = true;
    last_ = now;
    const std::uint64_t held = held_;
    held_ = 0;
    return held;
  }

  // How many are held back now, and forgets them (for a last line when the
  // program stops).
  [[nodiscard]] std::uint64_t take_held() noexcept {
    const std::uint64_t held = held_;
    held_ = 0;
    return held;
  }

  // "" for zero, else " (and 1,243 more like it since the last such line)".
  [[nodiscard]] static std::string more(std::uint64_t held);

 private:
  const Clock* clock_;
  Duration period_;
  TimePoint last_{};
  bool written_ = false;
  std::uint64_t held_ = 0;
};

}  // namespace pz
