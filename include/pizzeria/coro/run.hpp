// pz::run(task): runs a Task to completion on this thread's event loop
// (asyncio.run) and returns its value or rethrows its exception.
//
//   int main() { return pz::run(serve()); }
//
// Uses the thread's EventLoop if it has one (it must not be running: a
// coroutine awaits instead), otherwise creates one with `options` for the
// duration of the call. The task's first step runs as a loop callback.
//
// The task gets its own stop source; `stop`, when given, is linked to it, so
// stopping that source (from a signal handler, say) cancels the task.
#pragma once

#include <optional>
#include <stdexcept>

#include "pizzeria/core/event_loop.hpp"
#include "pizzeria/coro/stop_token.hpp"
#include "pizzeria/coro/task.hpp"

namespace pz {

template <typename T>
T run(Task<T> task, EventLoopOptions options = {}, StopToken stop = {}) {
  if (!task.valid()) {
    throw std::invalid_argument("pz::run: the task is empty (moved from or default-constructed)");
  }
  EventLoop* existing = EventLoop::current();
  if (existing != nullptr && existing->running()) {
    throw std::logic_error(
        "pz::run: this thread's event loop is already running; co_await the task instead");
  }
  std::optional<EventLoop> own;
  EventLoop& loop = existing != nullptr ? *existing : own.emplace(options);

  // Declared after the loop and the source so that, if the loop throws, the
  // frame (whose awaits refer to both) is destroyed before them.
  StopSource source(stop);
  Task<T> owned = std::move(task);
  auto handle = owned.handle();
  handle.promise().start(nullptr, source.token());
  pz::Handle first = loop.call_soon([handle] { detail::resume(handle); });
  struct CancelFirst {
    pz::Handle& first;
    // If the loop throws before the first step ran, the step must not run
    // later against a destroyed frame (a reused loop keeps its queue).
    ~CancelFirst() { first.cancel(); }
  } guard{first};
  while (!handle.done()) {
    loop.run_once();
  }
  return handle.promise().take_result();
}

}  // namespace pz
