// pz::run_sharded: runs an event-driven server on --workers shards: shard 0 on the calling
// thread with the context's listener, shards 1..N-1 on their own threads,
// each with its own SO_REUSEPORT listener on the same address, so the kernel
// spreads new connections over them and no two loops ever share a socket.
//
// A shard that throws stops the server: the kernel would go on handing its
// listener a share of the new connections, which nobody would accept, so
// the others are asked to shut down (gracefully: what they hold is still
// answered) and the first failure is rethrown once all have ended.
#pragma once

#include <pthread.h>

#include <algorithm>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pizzeria/server/server_context.hpp"

namespace pz {

// `serve(context, listener_fd)` runs one shard until shutdown is complete.
// `Context` is pz::ServerContext or a server's own type derived from it.
//
// Thread safety: call from one thread; `serve` runs on every shard's.
template <class Context, class Serve>
void run_sharded(Context& context, Serve serve) {
  ServerContext& framework = context;
  unsigned shards = framework.policy().workers;
  if (shards == 0) {
    shards = std::max(1U, std::thread::hardware_concurrency());
  }
  std::vector<UniqueFd> listeners;
  for (unsigned i = 1; i < shards; ++i) {
    listeners.push_back(context.open_shard_listener());
  }
  std::mutex failure_mutex;
  std::exception_ptr failure;
  auto guarded = [&](int listener) {
    try {
      serve(context, listener);
    } catch (...) {
      {
        std::lock_guard lock(failure_mutex);
        if (!failure) {
          failure = std::current_exception();
        }
      }
      context.request_shutdown();
    }
  };
  std::vector<std::thread> threads;
  threads.reserve(listeners.size());
  for (std::size_t i = 0; i < listeners.size(); ++i) {
    threads.emplace_back([&guarded, listener = listeners[i].get(), number = i + 1] {
      // "pz-shard-1"...: top -H, ps -L and gdb then tell the shards from
      // other threads (shard 0 is the main thread).
      const std::string name = "pz-shard-" + std::to_string(number);
      ::pthread_setname_np(::pthread_self(), name.substr(0, 15).c_str());
      guarded(listener);
    });
  }
  guarded(context.listener());
  for (auto& thread : threads) {
    thread.join();
  }
  if (failure) {
    std::rethrow_exception(failure);
  }
}

}  // namespace pz
