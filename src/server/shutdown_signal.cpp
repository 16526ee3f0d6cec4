#include "pizzeria/server/shutdown_signal.hpp"

#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "pizzeria/core/system_error.hpp"

namespace pz {

ShutdownSignal::ShutdownSignal() : event_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!event_fd_) {
    throw_errno("eventfd for the shutdown signal");
  }
}

void ShutdownSignal::request() noexcept {
  // clock_gettime, not steady_clock::now(): only the former is on the
  // async-signal-safe list. steady_clock is CLOCK_MONOTONIC on Linux.
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  std::int64_t nanoseconds = std::int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
  if (nanoseconds == 0) {
    nanoseconds = 1;  // 0 means "not requested"
  }
  std::int64_t expected = 0;
  // release: publishes the time together with the flag (see requested()).
  requested_at_ns_.compare_exchange_strong(expected, nanoseconds, std::memory_order_release,
                                           std::memory_order_relaxed);
  const std::uint64_t one = 1;
  // Cannot block (EFD_NONBLOCK) and cannot usefully fail: the counter would
  // have to reach 2^64-1 first.
  [[maybe_unused]] const auto written = ::write(event_fd_.get(), &one, sizeof(one));
}

std::chrono::steady_clock::time_point ShutdownSignal::requested_at() const noexcept {
  return std::chrono::steady_clock::time_point(
      std::chrono::nanoseconds(requested_at_ns_.load(std::memory_order_acquire)));
}

}  // namespace pz
