// The state shared by one pz::Promise (or executor task) and one pz::Future.
//
// Private to the exec layer: users see Promise/Future only.
//
// Life of a state: created pending; completed exactly once with a value or an
// exception (complete_*); then read by the future any number of times. At most
// one completion callback may be attached (Future::then, when_all, when_any
// consume the future, so there is never a second one); it runs on the thread
// that completes the state, or inline in set_callback if already complete.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "pizzeria/core/unique_function.hpp"

namespace pz::detail {

class FutureStateBase {
 public:
  FutureStateBase() = default;
  FutureStateBase(const FutureStateBase&) = delete;
  FutureStateBase& operator=(const FutureStateBase&) = delete;

  // Acquire pairs with the release store in complete(): once true, the value or
  // error written before it is visible without taking the mutex.
  [[nodiscard]] bool ready() const noexcept { return ready_.load(std::memory_order_acquire); }

  void wait() {
    if (ready()) {
      return;
    }
    std::unique_lock lock(mutex_);
    ++waiters_;
    cv_.wait(lock, [this] { return ready_.load(std::memory_order_relaxed); });
    --waiters_;
  }

  template <typename Clock, typename Duration>
  bool wait_until(const std::chrono::time_point<Clock, Duration>& deadline) {
    if (ready()) {
      return true;
    }
    std::unique_lock lock(mutex_);
    ++waiters_;
    const bool done =
        cv_.wait_until(lock, deadline, [this] { return ready_.load(std::memory_order_relaxed); });
    --waiters_;
    return done;
  }

  // Runs `callback` once the state is complete: now, on this thread, if it
  // already is; otherwise later on the completing thread.
  void set_callback(UniqueFunction<void()> callback) {
    {
      std::lock_guard lock(mutex_);
      if (!ready_.load(std::memory_order_relaxed)) {
        callback_ = std::move(callback);
        return;
      }
    }
    callback();
  }

  [[nodiscard]] const std::exception_ptr& error() const noexcept { return error_; }

  void complete_error(std::exception_ptr error) {
    if (ready()) {
      throw std::logic_error("pz::Promise already satisfied: a value or exception was set twice");
    }
    error_ = std::move(error);
    complete();
  }

 protected:
  // Publishes whatever the caller stored before it (value or error_).
  void complete() {
    UniqueFunction<void()> callback;
    {
      std::lock_guard lock(mutex_);
      if (ready_.load(std::memory_order_relaxed)) {
        throw std::logic_error("pz::Promise already satisfied: a value or exception was set twice");
      }
      // Release: a reader that sees ready==true through ready() (no mutex) must
      // also see the value/error stored before this line.
      ready_.store(true, std::memory_order_release);
      callback = std::move(callback_);
      if (waiters_ > 0) {
        // Notifying under the lock: a waiter may destroy the state (by dropping
        // its Future) right after it wakes, so the cv must not be touched after
        // the unlock.
        cv_.notify_all();
      }
    }
    if (callback) {
      callback();
    }
  }

  std::exception_ptr error_;

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  int waiters_ = 0;  // guarded by mutex_; lets complete() skip the notify syscall
  std::atomic<bool> ready_{false};
  UniqueFunction<void()> callback_;  // guarded by mutex_
};

template <typename T>
class FutureState : public FutureStateBase {
 public:
  template <typename... Args>
  void complete_value(Args&&... args) {
    if (ready()) {
      throw std::logic_error("pz::Promise already satisfied: a value or exception was set twice");
    }
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
