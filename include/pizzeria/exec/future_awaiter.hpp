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
// Cancellation: like asyncio.to_thread, running work cannot be interrupted;
// the await completes when the work does, and a stop request is observed by
// the coroutine's next cancellable await. If the awaiting coroutine is
// destroyed while the work runs, the work's completion does not resume it
// (the awaiter's destructor disarms the wake-up); the loop itself must
// outlive work it awaited.
//
// Thread safety: await from a loop thread; the future may complete anywhere.
#pragma once

#include <coroutine>
#include <memory>
#include <stdexcept>
#include <utility>

#include "pizzeria/core/event_loop.hpp"
#include "pizzeria/coro/detail/promise_base.hpp"
#include "pizzeria/exec/future.hpp"

namespace pz {

template <typename T>
class [[nodiscard]] FutureAwaiter {
 public:
  explicit FutureAwaiter(Future<T> future) : future_(std::move(future)) {
    if (!future_.valid()) {
      throw std::invalid_argument("co_await on an empty pz::Future");
    }
  }
  FutureAwaiter(FutureAwaiter&&) noexcept = default;
  FutureAwaiter(const FutureAwaiter&) = delete;
  FutureAwaiter& operator=(const FutureAwaiter&) = delete;
  FutureAwaiter& operator=(FutureAwaiter&&) = delete;
  ~FutureAwaiter() {
    if (wake_) {
      wake_->armed = false;  // on the loop thread, like the wake-up that reads it
    }
  }

  bool await_ready() const { return future_.done(); }

  void await_suspend(std::coroutine_handle<> handle) {
    EventLoop* loop = EventLoop::current();
    if (loop == nullptr) {
      throw std::logic_error(
          "co_await on a pz::Future needs an event loop on this thread (start the coroutine with "
          "pz::run), or call result() to block instead");
    }
    wake_ = std::make_shared<Wake>();
    wake_->handle = handle;
    // Runs on whichever thread completes the future; only hops to the loop.
    detail::state_of(future_)->set_callback([loop, wake = wake_] {
      loop->call_soon_threadsafe([wake] {
        if (wake->armed) {
          detail::resume(wake->handle);
        }
      });
    });
  }

  decltype(auto) await_resume() { return std::move(future_).result(); }

 private:
  struct Wake {
    std::coroutine_handle<> handle;
    bool armed = true;  // loop thread only
  };

  Future<T> future_;
  std::shared_ptr<Wake> wake_;
};

template <typename T>
FutureAwaiter<T> operator co_await(Future<T>&& future) {
  return FutureAwaiter<T>(std::move(future));
}

}  // namespace pz
