// pz::serve_forever(listener, handler): accepts clients until the calling
// task is cancelled, running handler(stream) for each as a child of one
// TaskGroup (asyncio's start_server + serve_forever). On cancellation the
// accept loop ends, every connection task is cancelled, and the call returns
// once all of them have finished: no connection outlives the server.
//
//   co_await pz::serve_forever(listener, [](pz::TcpStream stream) { return echo(std::move(stream));
//   });
//
// Thread safety: loop thread only.
#pragma once

#include <utility>

#include "pizzeria/coro/cancelled_error.hpp"
#include "pizzeria/coro/task.hpp"
#include "pizzeria/coro/task_group.hpp"
#include "pizzeria/net/tcp_listener.hpp"
#include "pizzeria/net/tcp_stream.hpp"

namespace pz {

template <typename Handler>
Task<void> serve_forever(TcpListener& listener, Handler handler) {
  TaskGroup connections;
  for (;;) {
    TcpStream stream;
    try {
      stream = co_await listener.accept();
    } catch (const CancelledError&) {
      break;  // the server is stopping
    }
    connections.spawn(handler(std::move(stream)));
  }
  connections.cancel();
  try {
    co_await connections.join();
  } catch (const CancelledError&) {
    // Expected: the connections were cancelled on purpose.
  }
}

}  // namespace pz
