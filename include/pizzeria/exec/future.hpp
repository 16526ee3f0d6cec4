// pz::Future<T>: the consumer side of a value that another thread (or process)
// produces later, like concurrent.futures.Future.
//
//   pz::Promise<int> promise;
//   pz::Future<int> future = promise.get_future();
//   std::thread([p = std::move(promise)]() mutable { p.set_value(42); }).detach();
//   int answer = future.result();  // blocks until set; rethrows a stored exception
//
// A Future is move-only and has exactly one producer (a Promise, or an
// executor task). result() may be called any number of times on an lvalue
// future (it returns a reference); `std::move(f).result()` moves the value out.
// If the producer disappears without completing, the future fails with
// pz::BrokenPromise. Continuations (then, when_all, when_any) run on the thread
// that completes the future, or immediately on the caller's thread if it is
// already complete, so keep them short.
//
// Thread safety: one Future object must not be used by two threads at once,
// but the producer and the consumer may run concurrently (that is the point).
#pragma once

#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "pizzeria/core/duration_text.hpp"
#include "pizzeria/coro/timeout_error.hpp"
#include "pizzeria/exec/detail/future_state.hpp"
#include "pizzeria/exec/future_error.hpp"

namespace pz {

template <typename T>
class Future;

namespace detail {

template <typename T>
struct IsFuture : std::false_type {};
template <typename T>
struct IsFuture<Future<T>> : std::true_type {};

// Completes `state` with the outcome of calling fn(args...): its value, or the
// exception it threw.
template <typename R, typename F, typename... Args>
void complete_with_call(FutureState<R>& state, F& fn, Args&&... args) noexcept {
  std::exception_ptr error;
  try {
    if constexpr (std::is_void_v<R>) {
      std::invoke(fn, std::forward<Args>(args)...);
      state.complete_value();
    } else {
      state.complete_value(std::invoke(fn, std::forward<Args>(args)...));
    }
    return;
  } catch (...) {
    error = std::current_exception();
  }
  // Completed outside the handler and by move, so this thread keeps no
  // reference to the exception once the consumer can see it (see
  // FutureStateBase::take_error for why that matters).
  state.complete_error(std::move(error));
}

template <typename T>
std::shared_ptr<FutureState<T>>& state_of(Future<T>& future) noexcept;

}  // namespace detail

template <typename T>
class Future {
 public:
  using value_type = T;

  Future() noexcept = default;
  explicit Future(std::shared_ptr<detail::FutureState<T>> state) noexcept
      : state_(std::move(state)) {}
  Future(Future&&) noexcept = default;
  Future& operator=(Future&&) noexcept = default;
  Future(const Future&) = delete;
  Future& operator=(const Future&) = delete;
  ~Future() = default;

  // False for a default-constructed or moved-from future.
  [[nodiscard]] bool valid() const noexcept { return state_ != nullptr; }

  // True once a value or an exception is set; never blocks.
  [[nodiscard]] bool done() const { return checked().ready(); }

  void wait() const { checked().wait(); }

  // Returns true if the future completed within `timeout`.
  template <typename Rep, typename Period>
  bool wait_for(const std::chrono::duration<Rep, Period>& timeout) const {
    return checked().wait_until(std::chrono::steady_clock::now() + timeout);
  }

  template <typename Clock, typename Duration>
  bool wait_until(const std::chrono::time_point<Clock, Duration>& deadline) const {
    return checked().wait_until(deadline);
  }

  // Blocks until done, then returns the value or rethrows the exception.
  decltype(auto) result() & {
    wait();
    rethrow_if_failed();
    if constexpr (!std::is_void_v<T>) {
      return static_cast<T&>(state_->value());
    }
  }

  // Moves the value out; the future stays valid but its value is moved-from.
  T result() && {
    wait();
    rethrow_if_failed();
    if constexpr (!std::is_void_v<T>) {
      return std::move(state_->value());
    }
  }

  // result() that waits at most `timeout` (Future.result(timeout=...)):
  // raises pz::TimeoutError, the one timeout error of pizzeria, if the future
  // is not done by then; the future is untouched and may be waited on again.
  template <typename Rep, typename Period>
  decltype(auto) result_for(const std::chrono::duration<Rep, Period>& timeout) & {
    throw_unless_done_within(timeout);
    return result();
  }
  template <typename Rep, typename Period>
  T result_for(const std::chrono::duration<Rep, Period>& timeout) && {
    throw_unless_done_within(timeout);
    return std::move(*this).result();
  }

  // Blocks until done; returns the stored exception, or null on success (like
  // concurrent.futures.Future.exception()).
  [[nodiscard]] std::exception_ptr exception() const {
    wait();
    return observed_error();
  }

  // Returns a future for fn(value) (fn() for Future<void>). If this future
  // fails, fn is not called and the returned future fails with the same
  // exception; if fn throws, the returned future holds that exception.
  template <typename F>
  auto then(F&& fn) && {
    using Fn = std::decay_t<F>;
    using R = typename std::conditional_t<std::is_void_v<T>, std::invoke_result<Fn&>,
                                          std::invoke_result<Fn&, AddRvalue>>::type;
    auto next = std::make_shared<detail::FutureState<R>>();
    auto previous = std::move(checked_state());
    detail::FutureState<T>* raw = previous.get();
    raw->set_callback(
        [previous = std::move(previous), next, fn = Fn(std::forward<F>(fn))]() mutable {
          if (previous->error()) {
            next->complete_error(previous->take_error());
          } else if constexpr (std::is_void_v<T>) {
            detail::complete_with_call(*next, fn);
          } else {
            detail::complete_with_call(*next, fn, std::move(previous->value()));
          }
        });
    return Future<R>(std::move(next));
  }

 private:
  // T&& for value futures; a placeholder for Future<void> so the
  // conditional_t above stays well-formed.
  using AddRvalue = std::conditional_t<std::is_void_v<T>, int, std::add_rvalue_reference_t<T>>;

  friend std::shared_ptr<detail::FutureState<T>>& detail::state_of<T>(Future<T>&) noexcept;

  template <typename Rep, typename Period>
  void throw_unless_done_within(const std::chrono::duration<Rep, Period>& timeout) const {
    if (!wait_for(timeout)) {
      throw TimeoutError(
          "pz::Future::result_for: not done within " +
          duration_text(std::chrono::duration_cast<std::chrono::nanoseconds>(timeout)));
    }
  }

  detail::FutureState<T>& checked() const {
    if (!state_) {
      throw std::logic_error("pz::Future has no state (default-constructed or moved-from)");
    }
    return *state_;
  }
  std::shared_ptr<detail::FutureState<T>>& checked_state() {
    checked();
    return state_;
  }

  void rethrow_if_failed() const {
    if (const auto& error = observed_error()) {
      std::rethrow_exception(error);
    }
  }

  // The state's error, moved into this Future the first time it is looked at
  // (see FutureStateBase::take_error). Only after the state is ready.
  const std::exception_ptr& observed_error() const {
    if (!error_taken_) {
      error_ = state_->take_error();
      error_taken_ = true;
    }
    return error_;
  }

  std::shared_ptr<detail::FutureState<T>> state_;
  mutable std::exception_ptr error_;
  mutable bool error_taken_ = false;
};

namespace detail {
template <typename T>
std::shared_ptr<FutureState<T>>& state_of(Future<T>& future) noexcept {
  return future.state_;
}
}  // namespace detail

// A future that is already complete with `value` (or with nothing, for void).
template <typename T>
Future<std::decay_t<T>> make_ready_future(T&& value) {
  auto state = std::make_shared<detail::FutureState<std::decay_t<T>>>();
  state->complete_value(std::forward<T>(value));
  return Future<std::decay_t<T>>(std::move(state));
}

inline Future<void> make_ready_future() {
  auto state = std::make_shared<detail::FutureState<void>>();
  state->complete_value();
  return Future<void>(std::move(state));
}

template <typename T>
Future<T> make_failed_future(std::exception_ptr error) {
  auto state = std::make_shared<detail::FutureState<T>>();
  state->complete_error(std::move(error));
  return Future<T>(std::move(state));
}

}  // namespace pz
