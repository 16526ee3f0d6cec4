// pz::yield(): gives the loop a turn and resumes in a later callback
// (asyncio's `await asyncio.sleep(0)`): what a long computation awaits now and
// then so that it does not hold the loop (see the slow-callback option).
//
// Cancellable: a stopped token raises CancelledError instead of resuming.
#pragma once

#include <coroutine>

#include "pizzeria/coro/detail/waiter.hpp"

namespace pz {

class [[nodiscard]] YieldAwaiter : private detail::Waiter {
 public:
  YieldAwaiter() noexcept : Waiter(&YieldAwaiter::undo) {}

  bool await_ready() const noexcept { return false; }
  template <typename Promise>
  bool await_suspend(std::coroutine_handle<Promise> handle) {
    if (!arm(handle, detail::current_loop("pz::yield"))) {
      return false;
    }
    complete_soon();
    return true;
  }
  void await_resume() const { throw_if_cancelled(); }

 private:
  static void undo(detail::Waiter& /*waiter*/) noexcept {}
};

inline YieldAwaiter yield() noexcept {
  return {};
}

}  // namespace pz
