// `pizzeria serve`: the pizza-ordering service in any model.
#include <fmt/format.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <utility>

#include "commands.hpp"
#include "pizzeria/net/redis_credentials.hpp"
#include "pizzeria/net/socket_address.hpp"
#include "pizzeria/pizza/load_generator.hpp"
#include "pizzeria/pizza/pizza_server.hpp"
#include "pizzeria/pizza/server_model.hpp"
#include "pizzeria/server/server_policy.hpp"
#include "pizzeria/service/service_notify.hpp"
#include "pizzeria/service/socket_activation.hpp"
#include "pizzeria/service/stopping_notice.hpp"

namespace pz::app {

namespace {

// The signal handler's only way to the server. A plain pointer store/load
// would do on Linux, but an atomic makes the handoff well-defined; lock-free
// pointer atomics are async-signal-safe.
std::atomic<ShutdownSignal*> g_shutdown{nullptr};

extern "C" void request_shutdown(int /*signal*/) {
  // acquire: pairs with the release store that published the signal object.
  if (ShutdownSignal* shutdown = g_shutdown.load(std::memory_order_acquire)) {
    shutdown->request();
  }
}

// SA_RESETHAND: a second Ctrl-C kills at once, for when the graceful path is
// the thing that hangs.
void install_shutdown_handlers() {
  struct sigaction action {};
  action.sa_handler = request_shutdown;
  action.sa_flags = SA_RESTART | SA_RESETHAND;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
}

// Every connection is a descriptor: lift the soft limit to the hard one so a
// default `ulimit -n` of 1024 does not cap the server below --max-connections.
void raise_open_file_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

// The longest duration any timeout takes (ServerPolicy::kMaxTimeout).
constexpr double kMaxTimeoutSeconds =
    std::chrono::duration<double>(ServerPolicy::kMaxTimeout).count();

std::chrono::milliseconds to_milliseconds(double seconds) {
  return std::chrono::milliseconds(static_cast<long long>(seconds * 1000.0));
}

struct ServeArguments {
  pizza::ServerOptions options;
  double idle_timeout_seconds = 60.0;
  double shutdown_timeout_seconds = 5.0;
  double request_timeout_seconds = 10.0;
  std::string kitchen;  // [HOST:]PORT of the kitchen's Redis, or empty
};

}  // namespace

void register_serve_command(CLI::App& app, int& exit_code) {
  auto arguments = std::make_shared<ServeArguments>();
  auto* command = app.add_subcommand(
      "serve", "Run the pizza-ordering service (one order per line; see docs/pizza-service.md)");
  pizza::ServerOptions& options = arguments->options;
  std::string model_help = "How to serve connections:";
  for (const pizza::ServerModel& model : pizza::server_models()) {
    model_help += "\n  " + std::string(model.name) + ": " + std::string(model.summary);
  }
  command->add_option("--host", options.host, "Address to listen on (numeric IPv4/IPv6)")
      ->capture_default_str();
  command->add_option("--port,-p", options.port, "Port to listen on; 0 picks a free one")
      ->capture_default_str();
  command->add_option("--model,-m", options.model, model_help)->capture_default_str();
  command
      ->add_option("--workers,-w", options.workers,
                   "Shards (select, poll, reactor, coro, uring) or threads (pool); 0 = the model's "
                   "default. "
                   "The other models run on one thread and refuse more than 1")
      ->capture_default_str();
  command->add_option("--max-order", options.max_order, "Largest valid order")
      ->capture_default_str();
  command
      ->add_option("--max-connections", options.max_connections,
                   "Open connections beyond this get the busy reply")
      ->capture_default_str();
  command
      ->add_option("--idle-timeout", arguments->idle_timeout_seconds,
                   "Seconds a silent connection stays open; 0 = forever")
      ->capture_default_str()
      ->check(seconds_between(0, kMaxTimeoutSeconds));
  command
      ->add_option("--shutdown-timeout", arguments->shutdown_timeout_seconds,
                   "Seconds to finish answering after SIGINT/SIGTERM")
      ->capture_default_str()
      ->check(seconds_between(0, kMaxTimeoutSeconds));
  command
      ->add_option("--request-timeout", arguments->request_timeout_seconds,
                   "Seconds one order line may take from its first byte to its end, and its "
                   "replies may wait for the client to read them; 0 = no limit")
      ->capture_default_str()
      ->check(seconds_between(0, kMaxTimeoutSeconds));
  command->add_flag("--verbose,-v", options.verbose, "Log every connection");
  command
      ->add_option("--kitchen", arguments->kitchen,
                   "Put every valid order on a Redis stream at [HOST:]PORT before thanking the "
                   "customer (see `pizzeria kitchen`; --model coro). A password for it comes "
                   "from PIZZERIA_REDIS_PASSWORD (and an ACL user from PIZZERIA_REDIS_USER)")
      ->type_name("[HOST:]PORT");
  command->add_option("--stream", options.kitchen_stream, "The kitchen's Redis stream")
      ->capture_default_str();

  read_options_from_environment(*command, "PIZZERIA_");
  command->callback([arguments, &exit_code] {
    pizza::ServerOptions& server_options = arguments->options;
    server_options.idle_timeout = to_milliseconds(arguments->idle_timeout_seconds);
    server_options.shutdown_timeout = to_milliseconds(arguments->shutdown_timeout_seconds);
    server_options.request_timeout = to_milliseconds(arguments->request_timeout_seconds);
    if (!arguments->kitchen.empty()) {
      const SocketAddress kitchen = resolve_load_target(arguments->kitchen);
      server_options.kitchen_host = kitchen.host();
      server_options.kitchen_port = kitchen.port();
      server_options.kitchen_credentials = RedisCredentials::from_environment();
    }
    raise_open_file_limit();
    // Throws (unknown model, bad host, port in use) before printing anything;
    // main() reports the message.
    // Under systemd: a listener handed in by socket activation, READY=1 once
    // listening, STOPPING=1 when shutdown begins (docs/running-the-service.md).
    std::optional<UniqueFd> handed = service::activated_listener();
    UniqueFd listener = handed ? std::move(*handed) : pizza::open_server_listener(server_options);
    static ShutdownSignal shutdown;  // static: outlives any late signal
    g_shutdown.store(&shutdown, std::memory_order_release);
    install_shutdown_handlers();
    const service::StoppingNotice stopping(shutdown.fd());
    service::notify_ready();
    pizza::run_server(server_options, std::move(listener), shutdown, std::cout);
    exit_code = 0;
  });
}

}  // namespace pz::app
