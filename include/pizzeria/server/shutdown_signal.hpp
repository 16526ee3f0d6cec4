// pz::ShutdownSignal: the "please stop" a server is handed as an
// argument (as mini-redis's server::run(listener, shutdown)), so that tests
// drive shutdown directly and `pizzeria serve` wires SIGINT/SIGTERM to it.
//
// It is an eventfd: every model, blocking or not, waits on fd() together with
// its sockets, so a request wakes any poll/select/epoll at once.
//
// Thread safety: request() is safe from any thread and from a signal handler
// (it only does clock_gettime, an atomic store and write(2), all
// async-signal-safe). The other members are safe from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "pizzeria/core/unique_fd.hpp"

namespace pz {

class ShutdownSignal {
 public:
  // Throws std::system_error if the eventfd cannot be created.
  ShutdownSignal();
  ShutdownSignal(const ShutdownSignal&) = delete;
  ShutdownSignal& operator=(const ShutdownSignal&) = delete;

  // Asks the server to stop. Idempotent; the first call's time counts.
  void request() noexcept;

  [[nodiscard]] bool requested() const noexcept {
    // acquire: pairs with the release in request(), so requested_at() is
    // visible to whoever sees the flag.
    return requested_at_ns_.load(std::memory_order_acquire) != 0;
  }
  // When request() was first called (steady clock); meaningless before.
  [[nodiscard]] std::chrono::steady_clock::time_point requested_at() const noexcept;

  // Becomes readable once request() was called, and stays readable (nobody
  // reads the counter), so any number of threads can wait on it.
  [[nodiscard]] int fd() const noexcept { return event_fd_.get(); }

 private:
  UniqueFd event_fd_;
  // steady_clock nanoseconds of the first request; 0 = not requested.
  std::atomic<std::int64_t> requested_at_ns_{0};
};

}  // namespace pz
