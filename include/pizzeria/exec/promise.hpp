// pz::Promise<T>: the producer side of a pz::Future<T>.
//
// Set exactly one outcome: set_value (set_value() for Promise<void>) or
// set_exception. Destroying a promise that never set one completes its future
// with pz::BrokenPromise, so a consumer never waits forever on a producer that
// has gone away. Setting a second outcome throws std::logic_error.
//
// Thread safety: one Promise must not be used by two threads at once; it may
// be moved to the producing thread, and completing it is safe while the
// consumer waits on the Future.
#pragma once

#include <exception>
#include <memory>
#include <stdexcept>
#include <utility>

#include "pizzeria/exec/detail/future_state.hpp"
#include "pizzeria/exec/future.hpp"
#include "pizzeria/exec/future_error.hpp"

namespace pz {

template <typename T>
class Promise {
 public:
  Promise() : state_(std::make_shared<detail::FutureState<T>>()) {}
  Promise(Promise&& other) noexcept
      : state_(std::move(other.state_)),
        future_retrieved_(other.future_retrieved_),
        satisfied_(other.satisfied_) {}
  Promise& operator=(Promise&& other) noexcept {
    if (this != &other) {
      abandon();
      state_ = std::move(other.state_);
      future_retrieved_ = other.future_retrieved_;
      satisfied_ = other.satisfied_;
    }
    return *this;
  }
  Promise(const Promise&) = delete;
  Promise& operator=(const Promise&) = delete;
  ~Promise() { abandon(); }

  // May be called once.
  Future<T> get_future() {
    if (!state_) {
      throw std::logic_error("pz::Promise::get_future on a moved-from promise");
    }
    if (future_retrieved_) {
      throw std::logic_error("pz::Promise::get_future called twice: a promise has one future");
    }
    future_retrieved_ = true;
    return Future<T>(state_);
  }

  template <typename... Args>
  void set_value(Args&&... args) {
    checked().complete_value(std::forward<Args>(args)...);
    satisfied_ = true;
  }

  void set_exception(std::exception_ptr error) {
    if (!error) {
      throw std::invalid_argument("pz::Promise::set_exception needs a non-null exception_ptr");
    }
    checked().complete_error(std::move(error));
    satisfied_ = true;
  }

 private:
  detail::FutureState<T>& checked() {
    if (!state_) {
      throw std::logic_error("pz::Promise used after being moved from");
    }
    return *state_;
  }

  void abandon() noexcept {
    if (state_ && !satisfied_) {
      state_->complete_error(std::make_exception_ptr(BrokenPromise()));
    }
    state_.reset();
  }

  std::shared_ptr<detail::FutureState<T>> state_;
  bool future_retrieved_ = false;
  bool satisfied_ = false;
};

}  // namespace pz
