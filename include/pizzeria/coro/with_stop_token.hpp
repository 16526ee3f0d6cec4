// pz::with_stop_token(token, task): runs `task` so that stopping `token`
// cancels it, as well as anything that cancels the caller. The way to cancel
// one task of a group (asyncio's task.cancel()):
//
//   pz::StopSource order_cancelled;
//   group.spawn(pz::with_stop_token(order_cancelled.token(), cook(order)));
//   ...
//   order_cancelled.request_stop();  // that task raises CancelledError at its await
//
// The task runs under a StopSource of its own, linked to the caller's token
// and to `token`; the source lives in this wrapper's frame, so it outlives the
// task. `token`'s source must outlive the wrapper.
#pragma once

#include "pizzeria/coro/stop_token.hpp"
#include "pizzeria/coro/task.hpp"

namespace pz {

template <typename T>
Task<T> with_stop_token(StopToken token, Task<T> task) {
  StopSource scope(co_await current_stop_token());
  StopCallback link(token, [&scope]() noexcept { scope.request_stop(); });
  typename Task<T>::Awaiter awaiter(task.handle());
  awaiter.with_token(scope.token());
  co_return co_await awaiter;
}

}  // namespace pz
