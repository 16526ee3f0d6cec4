// pz::sleep(duration): suspends the awaiting task for `duration` on the
// loop's clock (asyncio.sleep). sleep(0) still yields once to the loop.
//
// Cancellable: a stop cancels the timer and raises CancelledError.
#pragma once

#include <coroutine>
#include <utility>

#include "pizzeria/core/clock.hpp"
#include "pizzeria/core/event_loop.hpp"
#include "pizzeria/coro/detail/waiter.hpp"

namespace pz {

class [[nodiscard]] SleepAwaiter : private detail::Waiter {
 public:
  explicit SleepAwaiter(Duration duration) noexcept
      : Waiter(&SleepAwaiter::undo), duration_(duration) {}
  // Moved only before it is awaited (into pz::timeout, say), when no timer
  // is armed yet. Declared because the destructor would otherwise suppress
  // the move, leaving only the deleted copy: pz::timeout(d, pz::sleep(x))
  // did not compile.
  SleepAwaiter(SleepAwaiter&& other) noexcept
      : Waiter(std::move(other)), duration_(other.duration_) {}
  SleepAwaiter(const SleepAwaiter&) = delete;
  SleepAwaiter& operator=(const SleepAwaiter&) = delete;
  ~SleepAwaiter() { timer_.cancel(); }

  bool await_ready() const noexcept { return false; }
  template <typename Promise>
  bool await_suspend(std::coroutine_handle<Promise> handle) {
    EventLoop& loop = detail::current_loop("pz::sleep");
    if (!arm(handle, loop)) {
      return false;
    }
    timer_ = loop.call_later(duration_, [this] { complete_now(); });
    return true;
  }
  void await_resume() const { throw_if_cancelled(); }

 private:
  static void undo(detail::Waiter& waiter) noexcept {
    static_cast<SleepAwaiter&>(waiter).timer_.cancel();
  }

  Duration duration_;
  TimerHandle timer_;
};

inline SleepAwaiter sleep(Duration duration) noexcept {
  return SleepAwaiter(duration);
}

}  // namespace pz
