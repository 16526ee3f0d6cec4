// pz::wait_readable(fd): suspends the calling coroutine until `fd` is
// readable (or has hung up), on the calling thread's loop.
//
//   while (true) {
//     co_await pz::wait_readable(listener_fd);
//     while (auto client = context.accept(listener_fd)) { ... }
//   }
//
// For code that does its own non-blocking I/O on an fd and only wants the
// loop to do the waiting: the accept loop of a server that applies its own
// admission rules, or an eventfd used as a "please stop" signal. Streams
// (TcpStream, UdpSocket) wait for themselves and need none of this.
//
// Cancellable like every pizzeria await: a stop request unregisters the fd
// and raises CancelledError. The fd must not already be watched by the loop.
//
// Thread safety: loop thread only.
#pragma once

#include <coroutine>

#include "pizzeria/core/event_loop.hpp"
#include "pizzeria/coro/detail/waiter.hpp"

namespace pz {

class ReadableAwaiter : private detail::Waiter {
 public:
  explicit ReadableAwaiter(int fd) noexcept : Waiter(&ReadableAwaiter::undo), fd_(fd) {}
  // Moved only before it is awaited (into pz::timeout, say): nothing is
  // registered yet.
  ReadableAwaiter(ReadableAwaiter&& other) noexcept : Waiter(std::move(other)), fd_(other.fd_) {}

  bool await_ready() const noexcept { return false; }

  template <typename Promise>
  bool await_suspend(std::coroutine_handle<Promise> handle) {
    EventLoop& loop = detail::current_loop("pz::wait_readable");
    if (!arm(handle, loop)) {
      return false;  // already cancelled: resume at once and raise
    }
    watch_ = loop.watch(fd_, Interest::readable, [this](IoEvents) {
      watch_.reset();
      complete_now();
    });
    return true;
  }

  void await_resume() const { throw_if_cancelled(); }

 private:
  static void undo(detail::Waiter& waiter) noexcept {
    static_cast<ReadableAwaiter&>(waiter).watch_.reset();
  }

  int fd_;
  FdWatch watch_;
};

[[nodiscard]] inline ReadableAwaiter wait_readable(int fd) noexcept {
  return ReadableAwaiter(fd);
}

}  // namespace pz
