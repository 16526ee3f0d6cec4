// `poll`: a thread waiting in poll(2), per --workers shard. Same shape as `select`, without
// FD_SETSIZE: the interest list is an array of any length. Still O(n) per
// wakeup (the whole array crosses into the kernel and is scanned back), which
// is what epoll (the reactor and coro models) removes.
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "pizza/models/models.hpp"
#include "pizza/models/pizza_connection.hpp"
#include "pizzeria/core/system_error.hpp"
#include "pizzeria/server/run_sharded.hpp"

namespace pz::pizza {

namespace {

// One shard: `listener` is the context's own listener (`owns_listener`, the
// shard that closes it at shutdown) or a shard listener of run_sharded.
void serve_poll_shard(ServerContext& context, int listener, bool owns_listener) {
  using Clock = PizzaConnection::Clock;
  // connections[i] is watched by fds[kFirstConnection + i].
  constexpr std::size_t kFirstConnection = 2;
  std::vector<PizzaConnection> connections;
  std::vector<pollfd> fds;
  bool accepting = true;
  while (true) {
    auto now = Clock::now();
    const bool stopping = context.stopping();
    if (stopping && accepting) {
      if (owns_listener) {
        context.close_listener();  // new clients are refused at once
      }
      accepting = false;
    }
    if (stopping && connections.empty()) {
      return;
    }
    // During an accept pause the listener is left out (it stays readable).
    const auto pause = context.listener_wait(now);
    const bool listening = accepting && pause.listening;
    fds.clear();
    // A negative fd makes poll skip the entry: the slots stay in place.
    fds.push_back({listening ? listener : -1, POLLIN, 0});
    fds.push_back({accepting ? context.shutdown_fd() : -1, POLLIN, 0});
    auto wake_at = accepting ? pause.wake_at : Clock::time_point::max();
    bool draining = false;
    for (const PizzaConnection& connection : connections) {
      draining = draining || (stopping && connection.wants_read());
      const bool read = connection.wants_read() && !stopping;
      fds.push_back(
          {connection.fd(),
           static_cast<short>((read ? POLLIN : 0) | (connection.wants_write() ? POLLOUT : 0)), 0});
      wake_at = std::min(wake_at, connection.close_by(context));
    }
    // A connection still to be drained for shutdown reads without waiting
    // for readiness: do not sleep while there is one.
    const int timeout_ms = draining ? 0 : poll_timeout_ms(wake_at, now);
    const int ready = ::poll(fds.data(), fds.size(), timeout_ms);
    if (ready < 0 && errno != EINTR) {
      throw_errno("poll");
    }
    now = Clock::now();
    // Serve, then compact the survivors to the front (order kept).
    std::size_t kept = 0;
    for (std::size_t i = 0; i < connections.size(); ++i) {
      PizzaConnection& connection = connections[i];
      const short revents = ready > 0 ? fds[kFirstConnection + i].revents : 0;
      if (revents != 0 || stopping) {
        connection.service((revents & (POLLIN | POLLHUP | POLLERR)) != 0, stopping, now);
      }
      if (!connection.close_if_over(context, now)) {
        if (kept != i) {
          connections[kept] = std::move(connection);
        }
        ++kept;
      }
    }
    connections.erase(connections.begin() + static_cast<std::ptrdiff_t>(kept), connections.end());
    if (listening && ready > 0 && (fds[0].revents & POLLIN) != 0) {
      while (std::optional<AcceptedClient> client = context.accept(listener)) {
        connections.emplace_back(std::move(*client), context.options().max_order, now);
      }
    }
  }
}

void run_poll(ServerContext& context) {
  // Read here, on the thread that may later close it, before any shard runs.
  const int own_listener = context.listener();
  run_sharded(context, [own_listener](ServerContext& shard_context, int listener) {
    serve_poll_shard(shard_context, listener, listener == own_listener);
  });
}

}  // namespace

const ServerModel kPollModel{
    .name = "poll",
    .summary =
        "a thread waiting in poll(2) per --workers shard; no descriptor limit, O(n) per "
        "wakeup",
    .shards_with_reuseport = true,
    .run = run_poll,
};

}  // namespace pz::pizza
