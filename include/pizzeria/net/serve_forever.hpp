// pz::serve_forever(listener, handler): accepts clients until the calling
// task is cancelled, running handler(stream) for each as a child of one
// TaskGroup (asyncio's start_server + serve_forever). On cancellation the
// accept loop ends, every connection task is cancelled, and the call returns
// once all of them have finished: no connection outlives the server.
//
// A connection whose handler throws (its client reset mid-reply, say) ends
// alone, with a line on stderr: a TaskGroup would take the first failure as
// the group's and cancel every other connection, and every later one the
// moment it started, so one client could take the whole server down.
//
//   co_await pz::serve_forever(listener, [](pz::TcpStream stream) { return echo(std::move(stream));
//   });
//
// Thread safety: loop thread only.
#pragma once

#include <cstdio>
#include <exception>
#include <utility>

#include "pizzeria/coro/cancelled_error.hpp"
#include "pizzeria/coro/task.hpp"
#include "pizzeria/coro/task_group.hpp"
#include "pizzeria/net/tcp_listener.hpp"
#include "pizzeria/net/tcp_stream.hpp"

namespace pz {

namespace detail {
// Runs one connection's task; its failure is logged, not propagated.
// (No peer address in the line: getpeername fails once the client has reset,
// and the stream's errors name its descriptor.)
inline Task<void> contain_connection(Task<void> connection) {
  try {
    co_await std::move(connection);
  } catch (const CancelledError&) {
    throw;  // the server is stopping
  } catch (const std::exception& error) {
    std::fprintf(stderr, "pizzeria: a connection failed: %s; closed it, serving the others\n",
                 error.what());
  }
}
}  // namespace detail

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
    connections.spawn(detail::contain_connection(handler(std::move(stream))));
  }
  connections.cancel();
  try {
    co_await connections.join();
  } catch (const CancelledError&) {
    // Expected: the connections were cancelled on purpose.
  }
}

}  // namespace pz
