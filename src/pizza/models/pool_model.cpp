// `pool`: a fixed pz::ThreadPool serves connections with blocking I/O, one
// connection per worker at a time. Threads stay bounded however many clients
// come, but a client that keeps its connection open holds a worker: with
// every worker busy, newly accepted clients wait in the pool's queue unserved
// (head-of-line blocking), which is why thread pools suit short tasks, not
// long-lived connections.
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <thread>

#include "pizza/models/blocking_connection.hpp"
#include "pizza/models/models.hpp"
#include "pizzeria/exec/thread_pool.hpp"

namespace pz::pizza {

namespace {

void run_pool(ServerContext& context) {
  // Blocking workers mostly wait on sockets, so more of them than cores.
  const unsigned fallback = 4 * std::max(1U, std::thread::hardware_concurrency());
  ThreadPool pool(ThreadPoolOptions{.threads = context.workers_or(fallback), .name = "pz-pizza"});
  while (!context.stopping()) {
    pollfd fds[2] = {{context.listener(), POLLIN, 0}, {context.shutdown_fd(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) {
      break;
    }
    if ((fds[0].revents & POLLIN) == 0 || context.stopping()) {
      continue;
    }
    if (std::optional<AcceptedClient> client = context.accept()) {
      pool.post([&context, client = std::move(*client)]() mutable {
        serve_connection_blocking(context, std::move(client));
      });
    }
  }
  context.close_listener();
  // Drain, not cancel: queued clients may hold complete orders, which
  // shutdown answers; past the deadline each of them closes at once.
  pool.shutdown(/*wait=*/true, /*cancel_pending=*/false);
}

}  // namespace

const ServerModel kPoolModel{
    .name = "pool",
    .summary = "a fixed thread pool (--workers, default 4 per core), blocking I/O",
    .run = run_pool,
};

}  // namespace pz::pizza
