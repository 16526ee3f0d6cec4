// `select`: one thread that lets the kernel do the waiting, with select(2)
// (the seed's appendix: I/O multiplexing). No busy-wait any more; the costs
// are an O(n) scan of every descriptor per wakeup, on both sides of the
// syscall, and fd_set's fixed size: a descriptor >= FD_SETSIZE (1024) cannot
// be watched at all. Such clients get the busy reply, and the first refusal
// is logged, instead of the out-of-bounds write FD_SET would do.
#include <sys/select.h>

#include <algorithm>
#include <cerrno>
#include <list>
#include <stdexcept>
#include <string>

#include "pizza/models/models.hpp"
#include "pizza/models/pizza_connection.hpp"
#include "pizzeria/core/system_error.hpp"

namespace pz::pizza {

namespace {

void run_select(ServerContext& context) {
  using Clock = PizzaConnection::Clock;
  if (context.listener() >= FD_SETSIZE || context.shutdown_fd() >= FD_SETSIZE) {
    throw std::runtime_error(
        "select model: the listening socket or shutdown descriptor is >= "
        "FD_SETSIZE (" +
        std::to_string(FD_SETSIZE) + "); use --model poll");
  }
  std::list<PizzaConnection> connections;
  bool accepting = true;
  bool refusal_logged = false;
  const auto fits_fd_set = [&](const AcceptedClient& client) {
    if (client.fd.get() < FD_SETSIZE) {
      return true;
    }
    if (!refusal_logged) {
      refusal_logged = true;
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
      context.close_listener();
      accepting = false;
    }
    FD_ZERO(&readable);
    FD_ZERO(&writable);
    int max_fd = -1;
    const auto watch = [&max_fd](int fd, fd_set& set) {
      FD_SET(fd, &set);
      max_fd = std::max(max_fd, fd);
    };
    // During an accept pause (the kernel is short of memory) the listener
    // stays readable: leave it out, and wake when the pause ends.
    const auto resume_at = context.accept_paused_until();
    const bool listening = accepting && now >= resume_at;
    if (listening) {
      watch(context.listener(), readable);
    }
    if (accepting) {
      watch(context.shutdown_fd(), readable);
    }
    auto wake_at = accepting && !listening ? resume_at : Clock::time_point::max();
    bool draining = false;
    for (const PizzaConnection& connection : connections) {
      draining = draining || (stopping && connection.wants_read());
      if (connection.wants_read() && !stopping) {
        watch(connection.fd(), readable);
      }
      if (connection.wants_write()) {
        watch(connection.fd(), writable);
      }
      wake_at = std::min(wake_at, context.close_by(connection.last_activity()));
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
      if (it->done()) {
        it->close(context);
        it = connections.erase(it);
      } else if (now >= context.close_by(it->last_activity())) {
        it->close(context, stopping ? "shutdown deadline" : "idle timeout");
        it = connections.erase(it);
      } else {
        ++it;
      }
    }
    if (listening && ready > 0 && FD_ISSET(context.listener(), &readable)) {
      while (std::optional<AcceptedClient> client =
                 context.accept(context.listener(), fits_fd_set)) {
        context.verbose("Connected to {}", client->peer.to_string());
        connections.emplace_back(std::move(*client), context.options().max_order, now);
      }
    }
  }
}

}  // namespace

const ServerModel kSelectModel{
    .name = "select",
    .summary = "one thread waiting in select(2); refuses descriptors >= FD_SETSIZE (1024)",
    .run = run_select,
};

}  // namespace pz::pizza
