// `pizzeria echo-server` and `pizzeria echo-client`: the smallest useful
// programs on pizzeria's streams (asyncio's echo examples), for the docs, for
// smoke tests and as a load for benchmarks.
//
//   pizzeria echo-server --port 0          # prints "listening on 127.0.0.1:PORT"
//   pizzeria echo-client --port PORT --clients 100 --lines 1000
//
// The server runs one task per connection in a TaskGroup and stops cleanly
// on SIGINT/SIGTERM (the group cancels every connection, then it exits 0).
// The client runs its clients concurrently, checks that every byte comes
// back, and exits 1 if one did not.
#include <csignal>
#include <cstdio>
#include <string>

#include "commands.hpp"
#include "pizzeria/core/event_loop.hpp"
#include "pizzeria/coro/cancelled_error.hpp"
#include "pizzeria/coro/run.hpp"
#include "pizzeria/coro/task_group.hpp"
#include "pizzeria/net/open_connection.hpp"
#include "pizzeria/net/serve_forever.hpp"
#include "pizzeria/net/tcp_listener.hpp"

namespace pz::app {

namespace {

struct ServerArguments {
  std::string host = "127.0.0.1";
  std::uint16_t port = 12346;
};

struct ClientArguments {
  std::string host = "127.0.0.1";
  std::uint16_t port = 12346;
  int clients = 10;
  int lines = 100;
  std::size_t line_size = 32;
};

Task<void> echo_connection(TcpStream stream) {
  for (;;) {
    std::string bytes = co_await stream.read_some();
    if (bytes.empty()) {
      break;  // the client ended its side
    }
    stream.write(bytes);
    co_await stream.drain();  // a client that does not read slows us down, not grows us
  }
  co_await stream.flush();
}

Task<void> serve(TcpListener& listener) {
  co_await serve_forever(listener,
                         [](TcpStream stream) { return echo_connection(std::move(stream)); });
}

int run_server(const ServerArguments& arguments) {
  EventLoop loop;
  StopSource stop;
  loop.add_signal_handler(SIGINT, [&stop] { stop.request_stop(); });
  loop.add_signal_handler(SIGTERM, [&stop] { stop.request_stop(); });
  TcpListener listener = TcpListener::bind(SocketAddress::parse(arguments.host, arguments.port));
  std::printf("listening on %s\n", listener.local_address().to_string().c_str());
  std::fflush(stdout);
  run(serve(listener), {}, stop.token());
  std::printf("Server stopped.\n");
  return 0;
}

std::string line_for(int client, int line, std::size_t size) {
  std::string text = std::to_string(client) + ":" + std::to_string(line) + ":";
  if (text.size() + 1 < size) {
    text.append(size - text.size() - 1, static_cast<char>('a' + (client + line) % 26));
  }
  text += '\n';
  return text;
}

Task<bool> one_client(const ClientArguments& arguments, int id) {
  TcpStream stream = co_await open_connection(arguments.host, arguments.port);
  for (int line = 0; line < arguments.lines; ++line) {
    const std::string sent = line_for(id, line, arguments.line_size);
    stream.write(sent);
    co_await stream.drain();
    const std::string echoed = co_await stream.read_line(sent.size() + 1);
    if (echoed != sent) {
      std::fprintf(stderr, "client %d, line %d: sent %zu bytes, got back %zu different ones\n", id,
                   line, sent.size(), echoed.size());
      co_return false;
    }
  }
  stream.shutdown_write();
  co_return (co_await stream.read_some()).empty();
}

Task<int> run_clients(const ClientArguments& arguments) {
  int failures = 0;
  auto counted = [&](int id) -> Task<void> {
    if (!co_await one_client(arguments, id)) {
      ++failures;
    }
  };
  TaskGroup group;
  for (int id = 0; id < arguments.clients; ++id) {
    group.spawn(counted(id));
  }
  co_await group.join();
  co_return failures;
}

int run_client(const ClientArguments& arguments) {
  const auto start = SteadyClock::instance().now();
  const int failures = run(run_clients(arguments));
  const double seconds =
      std::chrono::duration<double>(SteadyClock::instance().now() - start).count();
  const double lines = static_cast<double>(arguments.clients) * arguments.lines;
  if (failures != 0) {
    std::printf("%d of %d clients got back wrong bytes\n", failures, arguments.clients);
    return 1;
  }
  std::printf("%d clients x %d lines: every byte echoed; %.3f s, %.0f lines/s\n", arguments.clients,
              arguments.lines, seconds, lines / seconds);
  return 0;
}

}  // namespace

void register_echo_commands(CLI::App& app, int& exit_code) {
  auto server_arguments = std::make_shared<ServerArguments>();
  CLI::App* server = app.add_subcommand("echo-server", "Echo every byte back (pizzeria streams)");
  server->add_option("--host", server_arguments->host, "Address to listen on");
  server->add_option("--port", server_arguments->port, "Port (0: any free one, printed)");
  server->callback([server_arguments, &exit_code] { exit_code = run_server(*server_arguments); });

  auto client_arguments = std::make_shared<ClientArguments>();
  CLI::App* client =
      app.add_subcommand("echo-client", "Concurrent clients that check every echoed byte");
  client->add_option("--host", client_arguments->host, "Server host (name or address)");
  client->add_option("--port", client_arguments->port, "Server port");
  client->add_option("--clients", client_arguments->clients, "Concurrent connections")
      ->check(CLI::Range(1, 100000));
  client->add_option("--lines", client_arguments->lines, "Lines each client sends")
      ->check(CLI::Range(0, 100000000));
  client->add_option("--line-size", client_arguments->line_size, "Bytes per line, newline included")
      ->check(CLI::Range(2, 1 << 20));
  client->callback([client_arguments, &exit_code] { exit_code = run_client(*client_arguments); });
}

}  // namespace pz::app
