// The state shared by one pz::Promise (or executor task) and one pz::Future.
//
// Private to the exec layer: users see Promise/Future only.
//
// Life of a state: created pending; completed exactly once with a value or an
// exception (complete_*); then read by the future any number of times. At most
// one completion callback may be attached (Future::then, when_all, when_any
// consume the future, so there is never a second one); it runs on the thread
// that completes the state, or inline in set_callback if already complete.
// The producer keeps its own reference to the state until complete_*()
// returns (Promise and executor tasks do).
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
#include <ctime>
#include <exception>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "pizzeria/core/unique_function.hpp"

namespace pz::detail {

// The whole synchronisation is one 32-bit word, so a state costs no mutex or
// condition variable (88 bytes and a lock round trip per completion), and a
// completion nobody waits for makes no system call:
//
//   kReady     the value or error is stored and published
//   kCallback  callback_ is stored and published
//   kWaiters   some thread sleeps (or is about to) in futex_wait on the word
//
// Flags are only ever set (fetch_or), never cleared, so every thread agrees
// on the order in which they were set: whoever sets the second of kReady and
// kCallback runs the callback, exactly once.
class FutureStateBase {
 public:
  FutureStateBase() = default;
  FutureStateBase(const FutureStateBase&) = delete;
  FutureStateBase& operator=(const FutureStateBase&) = delete;

  // Acquire pairs with the release in complete(): once kReady is seen, the
  // value or error stored before it is visible.
  [[nodiscard]] bool ready() const noexcept {
    return (state_.load(std::memory_order_acquire) & kReady) != 0;
  }

  void wait() noexcept {
    for (;;) {
      const std::uint32_t seen = announce_waiter();
      if ((seen & kReady) != 0) {
        return;
      }
      futex_wait(seen | kWaiters, nullptr);
    }
  }

  template <typename Clock, typename Duration>
  bool wait_until(const std::chrono::time_point<Clock, Duration>& deadline) {
    for (;;) {
      const std::uint32_t seen = announce_waiter();
      if ((seen & kReady) != 0) {
        return true;
      }
      const auto left = deadline - Clock::now();
      if (left <= Duration::zero()) {
        return ready();
      }
      const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
      timespec relative{};
      relative.tv_sec = static_cast<std::time_t>(ns / 1'000'000'000);
      relative.tv_nsec = static_cast<long>(ns % 1'000'000'000);
      futex_wait(seen | kWaiters, &relative);
    }
  }

  // Runs `callback` once the state is complete: now, on this thread, if it
  // already is; otherwise later on the completing thread.
  // A state holds one callback. A second one would overwrite the first while
  // the completing thread may be moving it out (a data race, and a callback
  // run twice or never), so it is refused before callback_ is touched. Only
  // the consumer side sets kCallback, so a relaxed load sees every earlier set.
  void set_callback(UniqueFunction<void()> callback) {
    if ((state_.load(std::memory_order_relaxed) & kCallback) != 0) {
      throw std::logic_error(
          "pz::Future already has a continuation (from then, when_all, when_any, as_completed or "
          "co_await) and can hold only one: wait for it with result() instead, or use "
          "pz::as_completed to take futures in completion order");
    }
    callback_ = std::move(callback);
    // acq_rel: release publishes callback_ to the completer; acquire makes
    // the stored value visible to the callback if we turn out to run it.
    const std::uint32_t before = state_.fetch_or(kCallback, std::memory_order_acq_rel);
    if ((before & kReady) != 0) {
      run_callback();
    }
  }

  [[nodiscard]] const std::exception_ptr& error() const noexcept { return error_; }

  // Moves the error out (after ready()). The consumer takes it so that the
  // exception object is released on the consumer's thread: its reference
  // count lives in uninstrumented libstdc++ code, and a release on the
  // producer's thread after the consumer read the object is a race to
  // ThreadSanitizer (a false one, but it would hide real ones).
  std::exception_ptr take_error() noexcept { return std::move(error_); }

  void complete_error(std::exception_ptr error) {
    throw_if_ready();
    error_ = std::move(error);
    complete();
  }

 protected:
  void throw_if_ready() const {
    if (ready()) {
      throw std::logic_error("pz::Promise already satisfied: a value or exception was set twice");
    }
  }

  // Publishes whatever the caller stored before it (value or error_).
  void complete() {
    // acq_rel: release publishes the value/error; acquire makes a callback
    // stored before kCallback visible here.
    const std::uint32_t before = state_.fetch_or(kReady, std::memory_order_acq_rel);
    if ((before & kReady) != 0) {
      throw std::logic_error("pz::Promise already satisfied: a value or exception was set twice");
    }
    if ((before & kWaiters) != 0) {
      // The waiter may free the state as soon as it sees kReady, but the
      // producer (Promise or task) still holds its own reference until this
      // function returns, so the word is alive for the wake.
      futex_wake();
    }
    if ((before & kCallback) != 0) {
      run_callback();
    }
  }

  std::exception_ptr error_;

 private:
  static constexpr std::uint32_t kReady = 1;
  static constexpr std::uint32_t kCallback = 2;
  static constexpr std::uint32_t kWaiters = 4;

  // Sets kWaiters (unless already ready) and returns the word as it now is.
  std::uint32_t announce_waiter() noexcept {
    std::uint32_t seen = state_.load(std::memory_order_acquire);
    if ((seen & (kReady | kWaiters)) == 0) {
      // Acquire: if kReady raced in, the value must be visible on return.
      seen = state_.fetch_or(kWaiters, std::memory_order_acquire) | kWaiters;
    }
    return seen;
  }

  void run_callback() {
    UniqueFunction<void()> callback = std::move(callback_);
    callback();
  }

  // Sleeps while the word still equals `expected` (the kernel re-checks it
  // atomically, so a wake between our load and the sleep is not lost).
  void futex_wait(std::uint32_t expected, const timespec* relative) noexcept {
    ::syscall(SYS_futex, word(), FUTEX_WAIT_PRIVATE, expected, relative, nullptr, 0);
  }
  void futex_wake() noexcept {
    ::syscall(SYS_futex, word(), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr, 0);
  }
  // std::atomic<std::uint32_t> is lock-free and has the layout of a
  // std::uint32_t (static_assert below), which is what the futex word must be.
  std::uint32_t* word() noexcept { return reinterpret_cast<std::uint32_t*>(&state_); }

  std::atomic<std::uint32_t> state_{0};
  UniqueFunction<void()> callback_;

  static_assert(std::atomic<std::uint32_t>::is_always_lock_free &&
                sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));
};

template <typename T>
class FutureState : public FutureStateBase {
 public:
  template <typename... Args>
  void complete_value(Args&&... args) {
    throw_if_ready();
    value_.emplace(std::forward<Args>(args)...);
    complete();
  }

  // Only after ready() and without an error.
  T& value() noexcept { return *value_; }

 private:
  std::optional<T> value_;
};

template <>
class FutureState<void> : public FutureStateBase {
 public:
  void complete_value() { complete(); }
};

}  // namespace pz::detail
