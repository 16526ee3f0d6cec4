// pz::programs::DnsRateLimiter: at most N responses a second to one source
// address, BIND's response-rate limiting in its simplest form. A UDP query's
// source is not checked by anyone, so a responder that answers every query
// can be aimed at a victim by forging its address; with a limit, the
// victim gets at most N replies a second from us however many queries are
// forged, and a real client asking a few names is never limited.
//
//   DnsRateLimiter limiter(100);
//   if (!limiter.admit(from.host(), loop.time())) continue;   // dropped, counted
//
// Each source gets a window of one second from its first response in it;
// N responses are admitted per window. The table of sources is bounded
// (kMaxSources): when it is full, sources whose window has ended are
// forgotten, and if none has, all are (a flood of forged sources then costs
// each of them at most N more replies, and memory stays bounded).
// Time is given by the caller (the loop's clock), so tests use a ManualClock.
//
// Thread safety: a value for one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "pizzeria/core/clock.hpp"

namespace pz::programs {

class DnsRateLimiter {
 public:
  static constexpr std::size_t kMaxSources = 100'000;

  // 0: no limit.
  explicit DnsRateLimiter(std::uint32_t per_second, std::size_t max_sources = kMaxSources)
      : per_second_(per_second), max_sources_(max_sources) {}

  // Whether a response to `source` may go out at `now`; counts it if so.
  [[nodiscard]] bool admit(std::string_view source, TimePoint now);

  [[nodiscard]] std::uint64_t limited() const noexcept { return limited_; }
  [[nodiscard]] std::size_t sources() const noexcept { return windows_.size(); }

 private:
  struct Window {
    TimePoint start;
    std::uint32_t sent = 0;
  };

  std::uint32_t per_second_;
  std::size_t max_sources_;
  std::unordered_map<std::string, Window> windows_;
  std::uint64_t limited_ = 0;
};

}  // namespace pz::programs
