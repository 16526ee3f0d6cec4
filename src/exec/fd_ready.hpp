// detail::FdReady: suspends the awaiting coroutine until an fd is readable
// or writable (or has hung up), on the calling thread's loop. The exec
// layer's own pipes and pidfds use it; net has its own for sockets
// (pz::wait_readable), one layer up.
#pragma once

#include <coroutine>

#include "pizzeria/core/event_loop.hpp"
#include "pizzeria/coro/detail/waiter.hpp"

namespace pz::detail {

class FdReady : private Waiter {
 public:
  FdReady(int fd, Interest interest) noexcept
      : Waiter(&FdReady::undo), fd_(fd), interest_(interest) {}

  bool await_ready() const noexcept { return false; }

  template <typename Promise>
  bool await_suspend(std::coroutine_handle<Promise> handle) {
    EventLoop& loop = current_loop("pz::Subprocess");
    if (!arm(handle, loop)) {
      return false;  // already cancelled: resume at once and raise
    }
    watch_ = loop.watch(fd_, interest_, [this](IoEvents) {
      watch_.reset();
      complete_now();
    });
    return true;
  }

  void await_resume() const { throw_if_cancelled(); }

 private:
  static void undo(Waiter& waiter) noexcept { static_cast<FdReady&>(waiter).watch_.reset(); }

  int fd_;
  Interest interest_;
  FdWatch watch_;
};

}  // namespace pz::detail
