// pz::pizza::ServerOptions: everything `pizzeria serve` can be told.
//
// Thread safety: a value type; the server reads it, never writes it.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "pizzeria/net/redis_credentials.hpp"
#include "pizzeria/pizza/order_stream.hpp"
#include "pizzeria/pizza/protocol.hpp"
#include "pizzeria/server/server_policy.hpp"

namespace pz::pizza {

struct ServerOptions {
  std::string host{kDefaultHost};
  // 0 binds an ephemeral port; the startup line then shows the real one.
  std::uint16_t port = kDefaultPort;
  std::string model = "coro";
  // Event-driven models run this many shards (one loop and one SO_REUSEPORT
  // listener each); the pool model runs this many worker threads. 0 lets the
  // model choose (ServerContext::workers_or); models that have no use for it
  // ignore it.
  unsigned workers = 0;
  int max_order = kDefaultMaxOrder;
  // Open connections beyond this get the busy reply and are closed.
  std::size_t max_connections = 10000;
  // A connection that neither sends nor accepts bytes for this long is
  // closed. Zero disables the timeout.
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};
  // One order line, from its first byte to its end, and the wait for the
  // client to read its replies: see ServerPolicy::request_timeout.
  std::chrono::milliseconds request_timeout{std::chrono::seconds(10)};
  // After SIGINT/SIGTERM, connections get this long to have their complete
  // orders answered; whatever is still open then is closed.
  std::chrono::milliseconds shutdown_timeout{std::chrono::seconds(5)};
  // Per-connection log lines ("Connected to ...", "Connection with ... has
  // been closed"), as the seed prints them.
  bool verbose = false;
  // Where valid orders go before the customer is thanked (`--kitchen
  // HOST:PORT`): a Redis server, through pz::pizza::KitchenQueue. An empty
  // host: nowhere, as in the seed. Only models that can wait for the
  // kitchen without blocking their thread support it (ServerModel).
  std::string kitchen_host;
  std::uint16_t kitchen_port = 6379;
  RedisCredentials kitchen_credentials{};  // when that Redis wants a password
  std::string kitchen_stream{kDefaultOrderStream};

  // What the server framework enforces, with the pizza protocol's busy reply.
  [[nodiscard]] ServerPolicy policy() const {
    return ServerPolicy{.workers = workers,
                        .max_connections = max_connections,
                        .idle_timeout = idle_timeout,
                        .request_timeout = request_timeout,
                        .shutdown_timeout = shutdown_timeout,
                        .verbose = verbose,
                        .busy_reply = std::string(kBusyReply)};
  }
};

}  // namespace pz::pizza
