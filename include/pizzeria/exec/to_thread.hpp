// pz::to_thread(fn, args...): run blocking code off the event loop, like
// asyncio.to_thread. Returns a Future (already submitted) that a coroutine
// co_awaits; the coroutine resumes on its loop thread (future_awaiter.hpp).
//
//   auto text = co_await pz::to_thread(read_file, path);
//
// The work runs on the process-wide default_thread_pool(), created on first
// use with max(4, hardware_concurrency) threads — blocking work waits on I/O,
// so more threads than cores is the point (Python uses min(32, cpus + 4)).
//
// Thread safety: callable from any thread.
#pragma once

#include <utility>

#include "pizzeria/exec/future_awaiter.hpp"
#include "pizzeria/exec/thread_pool.hpp"

namespace pz {

ThreadPool& default_thread_pool();

template <typename F, typename... Args>
auto to_thread(F&& fn, Args&&... args) {
  return default_thread_pool().submit(std::forward<F>(fn), std::forward<Args>(args)...);
}

}  // namespace pz
