// co_await on a pz::Future from a coroutine running on an EventLoop: the
// bridge from coroutines to executors (asyncio's run_in_executor/to_thread).
//
//   pz::Task<long> handler(pz::ThreadPool& pool, pz::ProcessPool& processes) {
//     std::string page = co_await pz::to_thread([] { return blocking_read(); });
//     int n = co_await pool.run([] { return 6 * 7; });
//     std::vector<long> f = co_await processes.run(kPrimeFactor, 600851475143L);
//   }
//
// The coroutine is suspended while the work runs elsewhere and is resumed on
// the thread of the loop it awaited from, as a loop callback posted with
// call_soon_threadsafe, so everything after the co_await runs on the loop
// thread again. The Future's exception, if any, is rethrown there.
//
// Cancellation: the await is cancellable like every pizzeria await. A stop
// request resumes the coroutine at once with CancelledError; the work itself
// cannot be interrupted (as with asyncio.to_thread), so it runs to its end
// in the pool and its result is dropped: the completion finds the wake-up
// disarmed and resumes nothing. The same holds when the awaiting coroutine
// is destroyed while the work runs. The loop itself must outlive work it
// awaited (the completion posts to it).
//
// Thread safety: await from a loop thread; the future may complete anywhere.
#pragma once

#include <coroutine>
#include <memory>
#include <stdexcept>
#include <utility>

#include "pizzeria/core/event_loop.hpp"
#include "pizzeria/coro/detail/waiter.hpp"
#include "pizzeria/exec/future.hpp"

namespace pz {

template <typename T>
class [[nodiscard]] FutureAwaiter : private detail::Waiter {
 public:
  explicit FutureAwaiter(Future<T> future)
      : Waiter(&FutureAwaiter::undo), future_(std::move(future)) {
    if (!future_.valid()) {
      throw std::invalid_argument("co_await on an empty pz::Future");
    }
  }
  // Moved only before it is awaited (into pz::timeout, say).
  FutureAwaiter(FutureAwaiter&& other) noexcept
      : Waiter(std::move(other)), future_(std::move(other.future_)) {}
  FutureAwaiter(const FutureAwaiter&) = delete;
  FutureAwaiter& operator=(const FutureAwaiter&) = delete;
  FutureAwaiter& operator=(FutureAwaiter&&) = delete;
  ~FutureAwaiter() { disarm(); }

  bool await_ready() const { return future_.done(); }

  template <typename Promise>
  bool await_suspend(std::coroutine_handle<Promise> handle) {
    EventLoop* loop = EventLoop::current();
    if (loop == nullptr) {
      throw std::logic_error(
          "co_await on a pz::Future needs an event loop on this thread (start the coroutine with "
          "pz::run), or call result() to block instead");
    }
    if (!arm(handle, *loop)) {
      return false;  // already cancelled: resume at once, await_resume raises
    }
    wake_ = std::make_shared<Wake>();
    wake_->awaiter = this;
    // Runs on whichever thread completes the future; only hops to the loop,
    // where `armed` is read and written (so it needs no atomics).
    detail::state_of(future_)->set_callback([loop, wake = wake_] {
      loop->call_soon_threadsafe([wake] {
        if (wake->armed) {
          wake->armed = false;
          wake->awaiter->complete_now();
        }
      });
    });
    return true;
  }

  decltype(auto) await_resume() {
    throw_if_cancelled();
    return std::move(future_).result();
  }

 private:
  struct Wake {
    FutureAwaiter* awaiter = nullptr;
    bool armed = true;  // loop thread only
  };

  void disarm() noexcept {
    if (wake_) {
      wake_->armed = false;
    }
  }

  // A stop request: the work goes on, but its completion must not resume us.
  static void undo(detail::Waiter& waiter) noexcept {
    static_cast<FutureAwaiter&>(waiter).disarm();
  }

  Future<T> future_;
  std::shared_ptr<Wake> wake_;
};

template <typename T>
FutureAwaiter<T> operator co_await(Future<T>&& future) {
  return FutureAwaiter<T>(std::move(future));
}

}  // namespace pz
