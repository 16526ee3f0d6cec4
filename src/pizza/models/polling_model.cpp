// `polling`: one thread, non-blocking sockets, and a loop that asks every
// socket "anything for me?" again and again (seed 000's second server,
// Exercise 7). It serves many clients without threads, but it never sleeps:
// it burns a whole core even when nobody orders (docs/pizza-service.md shows
// how to see it). The seed's lesson is that waiting should be the kernel's
// job (select/poll/epoll); this model keeps the lesson and is otherwise
// correct (limits, timeouts, shutdown).
#include <sched.h>

#include <algorithm>
#include <iterator>
#include <list>

#include "pizza/models/models.hpp"
#include "pizza/models/pizza_connection.hpp"

namespace pz::pizza {

namespace {

void run_polling(ServerContext& context) {
  using Clock = PizzaConnection::Clock;
  std::list<PizzaConnection> connections;
  bool accepting = true;
  while (true) {
    const auto now = Clock::now();
    const bool stopping = context.stopping();
    if (stopping && accepting) {
      context.close_listener();
      accepting = false;
    }
    // During an accept pause (the kernel is short of memory) the listener is
    // skipped: this model's busy-wait is its lesson, but not on accept.
    if (accepting && !context.accept_paused(now)) {
      while (std::optional<AcceptedClient> client = context.accept()) {
        connections.emplace_back(std::move(*client), context.options().max_order, now);
      }
    }
    for (auto it = connections.begin(); it != connections.end();) {
      // No readiness information: just try (that is the busy-wait).
      it->service(/*readable=*/true, stopping, now);
      it = it->close_if_over(context, now) ? connections.erase(it) : std::next(it);
    }
    if (stopping && connections.empty()) {
      return;
    }
    // Still a busy-wait (100% CPU in top), but on a shared core let the
    // clients, and in tests the client threads, run between sweeps.
    ::sched_yield();
  }
}

}  // namespace

const ServerModel kPollingModel{
    .name = "polling",
    .summary =
        "one thread busy-waiting on non-blocking sockets (the seed's second server; burns "
        "a core)",
    .run = run_polling,
};

}  // namespace pz::pizza
