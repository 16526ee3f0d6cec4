// Serving one connection on the calling thread until it ends: the body of the
// `threads` and `pool` models (private to the pizza layer).
#pragma once

#include "pizzeria/pizza/server_context.hpp"

namespace pz::pizza {

// Blocks the calling thread while it serves `client`: waits in poll(2) on the
// client's socket and the shutdown signal, so a stop request or the idle
// timeout wakes it where a plain blocking recv() would sleep on.
void serve_connection_blocking(ServerContext& context, AcceptedClient client);

}  // namespace pz::pizza
