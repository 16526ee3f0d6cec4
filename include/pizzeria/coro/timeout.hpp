// pz::timeout(duration, awaitable): awaits `awaitable`, but no longer than
// `duration` on the loop's clock; then cancels it and raises TimeoutError
// (asyncio.wait_for / asyncio.timeout).
//
//   std::string line = co_await pz::timeout(5s, stream.read_line(1024));
//
// The awaitable runs under a narrower stop scope linked to the caller's
// token: the deadline stops only that scope, so the caller is not cancelled
// and may carry on (its TimeoutError is an ordinary exception). If the caller
// itself is cancelled, CancelledError propagates unchanged. A cancelled
// stream read keeps the bytes it had received in the stream's buffer, so
// retrying after a timeout loses nothing.
#pragma once

#include <chrono>
#include <string>
#include <type_traits>
#include <utility>

#include "pizzeria/core/clock.hpp"
#include "pizzeria/core/duration_text.hpp"
#include "pizzeria/core/timer_handle.hpp"
#include "pizzeria/coro/cancelled_error.hpp"
#include "pizzeria/coro/detail/waiter.hpp"
#include "pizzeria/coro/stop_token.hpp"
#include "pizzeria/coro/task.hpp"
#include "pizzeria/coro/timeout_error.hpp"

namespace pz {

template <typename T>
Task<T> timeout(Duration duration, Task<T> task) {
  const StopToken outer = co_await current_stop_token();
  StopSource scope(outer);
  bool expired = false;
  EventLoop& loop = detail::current_loop("pz::timeout");
  TimerHandle timer = loop.call_later(duration, [&expired, &scope] {
    expired = true;
    scope.request_stop();
  });
  struct CancelTimer {
    TimerHandle& timer;
    ~CancelTimer() { timer.cancel(); }
  } cancel_timer{timer};

  typename Task<T>::Awaiter awaiter(task.handle());
  awaiter.with_token(scope.token());
  try {
    co_return co_await awaiter;
  } catch (const CancelledError&) {
    if (!expired || outer.stop_requested()) {
      throw;
    }
  }
  throw TimeoutError("operation timed out after " + duration_text(duration));
}

namespace detail {

template <typename Awaitable>
auto await_as_task(Awaitable awaitable)
    -> Task<decltype(std::declval<Awaitable&>().await_resume())> {
  co_return co_await std::move(awaitable);
}

}  // namespace detail

// Any pizzeria awaitable (sleep, Event::wait, Queue::get, stream reads...).
template <typename Awaitable>
requires requires(Awaitable& awaitable) {
  awaitable.await_resume();
}
auto timeout(Duration duration, Awaitable awaitable) {
  return timeout(duration, detail::await_as_task(std::move(awaitable)));
}

}  // namespace pz
