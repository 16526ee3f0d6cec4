// `select`: a thread that lets the kernel do the waiting, with select(2)
// (the seed's appendix: I/O multiplexing), per --workers shard. No busy-wait any more; the costs
// are an O(n) scan of every descriptor per wakeup, on both sides of the
// syscall, and fd_set's fixed size: a descriptor >= FD_SETSIZE (1024) cannot
// be watched at all. Such clients get the busy reply, and the first refusal
// is logged, instead of the out-of-bounds write FD_SET would do.
#include <sys/select.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <iterator>
#include <list>
#include <stdexcept>
#include <string>

#include "pizza/models/models.hpp"
#include "pizza/models/pizza_connection.hpp"
#include "pizzeria/core/system_error.hpp"
#include "pizzeria/server/run_sharded.hpp"

namespace pz::pizza {

namespace {

// One shard: `listener` is the context's own listener (`owns_listener`, the
// shard that closes it at shutdown) or a shard listener of run_sharded.
// `refusal_logged` is shared by the shards: the FD_SETSIZE refusal is
// logged once per server.
void serve_select_shard(ServerContext& context, int listener, bool owns_listener,
                        std::atomic<bool>& refusal_logged) {
  using Clock = PizzaConnection::Clock;
  if (listener >= FD_SETSIZE || context.shutdown_fd() >= FD_SETSIZE) {
    throw std::runtime_error(
        "select model: the listening socket or shutdown descriptor is >= "
        "FD_SETSIZE (" +
        std::to_string(FD_SETSIZE) + "); use --model poll");
  }
  std::list<PizzaConnection> connections;
  bool accepting = true;
  const auto fits_fd_set = [&](const AcceptedClient& client) {
    if (client.fd.get() < FD_SETSIZE) {
      return true;
    }
    // relaxed: the flag guards only this log line; exchange lets one shard win.
    if (!refusal_logged.exchange(true, std::memory_order_relaxed)) {
      context.log("select model: refusing clients whose descriptor is >= FD_SETSIZE (" +
                  std::to_string(FD_SETSIZE) +
                  ") with the busy reply; use --model poll or an event-driven model for more "
                  "connections");
    }
    return false;
  };
  fd_set readable;
  fd_set writable;
  while (true) {
    auto now = Clock::now();
    const bool stopping = context.stopping();
    if (stopping && accepting) {
      if (owns_listener) {
        context.close_listener();  // new clients are refused at once
      }
      accepting = false;
    }
    FD_ZERO(&readable);
    FD_ZERO(&writable);
    int max_fd = -1;
    const auto watch = [&max_fd](int fd, fd_set& set) {
      FD_SET(fd, &set);
      max_fd = std::max(max_fd, fd);
    };
    // During an accept pause the listener is left out (it stays readable).
    const auto [listening, wake_at_pause] = context.listener_wait(now);
    if (accepting && listening) {
      watch(listener, readable);
    }
    if (accepting) {
      watch(context.shutdown_fd(), readable);
    }
    auto wake_at = accepting ? wake_at_pause : Clock::time_point::max();
    bool draining = false;
    for (const PizzaConnection& connection : connections) {
      draining = draining || (stopping && connection.wants_read());
      if (connection.wants_read() && !stopping) {
        watch(connection.fd(), readable);
      }
      if (connection.wants_write()) {
        watch(connection.fd(), writable);
      }
      wake_at = std::min(wake_at, connection.close_by(context));
    }
    if (stopping && connections.empty()) {
      return;
    }
    // A connection still to be drained for shutdown reads without waiting
    // for readiness: do not sleep while there is one.
    const int timeout_ms = draining ? 0 : poll_timeout_ms(wake_at, now);
    timeval timeout{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    const int ready =
        ::select(max_fd + 1, &readable, &writable, nullptr, timeout_ms < 0 ? nullptr : &timeout);
    if (ready < 0 && errno != EINTR) {
      throw_errno("select");
    }
    now = Clock::now();
    for (auto it = connections.begin(); it != connections.end();) {
      const bool is_readable = ready > 0 && FD_ISSET(it->fd(), &readable);
      const bool is_writable = ready > 0 && FD_ISSET(it->fd(), &writable);
      if (is_readable || is_writable || stopping) {
        it->service(is_readable, stopping, now);
      }
      it = it->close_if_over(context, now) ? connections.erase(it) : std::next(it);
    }
    if (accepting && listening && ready > 0 && FD_ISSET(listener, &readable)) {
      while (std::optional<AcceptedClient> client = context.accept(listener, fits_fd_set)) {
        connections.emplace_back(std::move(*client), context.options().max_order, now);
      }
    }
  }
}

void run_select(ServerContext& context) {
  // Read here, on the thread that may later close it, before any shard runs.
  const int own_listener = context.listener();
  std::atomic<bool> refusal_logged{false};
  run_sharded(context, [own_listener, &refusal_logged](ServerContext& shard_context, int listener) {
    serve_select_shard(shard_context, listener, listener == own_listener, refusal_logged);
  });
}

}  // namespace

const ServerModel kSelectModel{
    .name = "select",
    .summary =
        "a thread waiting in select(2) per --workers shard; refuses descriptors >= "
        "FD_SETSIZE (1024)",
    .shards_with_reuseport = true,
    .run = run_select,
};

}  // namespace pz::pizza
