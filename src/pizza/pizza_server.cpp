#include "pizzeria/pizza/pizza_server.hpp"

#include <stdexcept>
#include <string>

#include "pizzeria/net/listen_socket.hpp"
#include "pizzeria/pizza/server_context.hpp"
#include "pizzeria/pizza/server_model.hpp"

namespace pz::pizza {

namespace {

const ServerModel& checked_model(const ServerOptions& options) {
  const ServerModel* model = find_server_model(options.model);
  if (model == nullptr) {
    throw std::invalid_argument("unknown server model '" + options.model + "': choose one of " +
                                server_model_names());
  }
  if (options.max_order < 1) {
    throw std::invalid_argument("--max-order must be at least 1, got " +
                                std::to_string(options.max_order));
  }
  if (options.max_connections < 1) {
    throw std::invalid_argument("--max-connections must be at least 1");
  }
  if (options.idle_timeout.count() < 0 || options.shutdown_timeout.count() < 0 ||
      options.request_timeout.count() < 0) {
    throw std::invalid_argument("timeouts cannot be negative");
  }
  if (options.workers > 1 && !model->reads_workers()) {
    throw std::invalid_argument("--workers " + std::to_string(options.workers) + ": the " +
                                options.model +
                                " model runs on one thread; --workers counts the shards of "
                                "select, poll, reactor, coro and uring and the threads of pool");
  }
  if (!options.kitchen_host.empty() && !model->supports_kitchen) {
    throw std::invalid_argument(
        "--kitchen needs a model that waits for the kitchen without blocking a thread per "
        "order: use --model coro (got '" +
        options.model + "')");
  }
  if (!options.kitchen_host.empty() && options.kitchen_port == 0) {
    throw std::invalid_argument("--kitchen needs a port other than 0");
  }
  return *model;
}

}  // namespace

UniqueFd open_server_listener(const ServerOptions& options) {
  const ServerModel& model = checked_model(options);
  if (model.check_available != nullptr) {
    model.check_available();
  }
  const SocketAddress address = SocketAddress::parse(options.host, options.port);
  const ListenOptions listen{.non_blocking = true};
  // Sharded models bind for their shards, yet fail like the others when
  // the port is in use (open_shared_listener).
  if (model.shards_with_reuseport && options.workers != 1) {
    return open_shared_listener(address, listen);
  }
  return open_listen_socket(address, listen);
}

void run_server(const ServerOptions& options, UniqueFd listener, ShutdownSignal& shutdown,
                std::ostream& log) {
  const ServerModel& model = checked_model(options);
  ServerContext context(options, std::move(listener), shutdown, log);
  context.log("Starting up at: " + context.local_address().to_string());
  context.log("Server listening for incoming connections");
  if (!options.kitchen_host.empty()) {
    context.log("Orders go to the kitchen at " + options.kitchen_host + ":" +
                std::to_string(options.kitchen_port) + ", stream " + options.kitchen_stream);
  }
  model.run(context);
  context.log("Server stopped.");
}

}  // namespace pz::pizza
