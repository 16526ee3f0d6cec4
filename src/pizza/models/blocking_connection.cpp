#include "pizza/models/blocking_connection.hpp"

#include <poll.h>

#include <cerrno>

#include "pizza/models/pizza_connection.hpp"

namespace pz::pizza {

void serve_connection_blocking(ServerContext& context, AcceptedClient client) {
  using Clock = PizzaConnection::Clock;
  PizzaConnection connection(std::move(client), context.options().max_order, Clock::now());
  bool readable = false;
  while (true) {
    const auto now = Clock::now();
    const bool stopping = context.stopping();
    connection.service(readable, stopping, now);
    if (connection.close_if_over(context, now)) {
      return;
    }
    const auto close_by = connection.close_by(context);
    pollfd fds[2] = {
        {connection.fd(),
         static_cast<short>((connection.wants_read() ? POLLIN : 0) |
                            (connection.wants_write() ? POLLOUT : 0)),
         0},
        // Once stopping, the signal stays readable: stop waiting on it.
        {context.shutdown_fd(), POLLIN, 0},
    };
    const int ready = ::poll(fds, stopping ? 1 : 2, poll_timeout_ms(close_by, now));
    if (ready < 0 && errno != EINTR) {
      connection.close(context, "poll failed");
      return;
    }
    readable = ready > 0 && (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0;
  }
}

}  // namespace pz::pizza
