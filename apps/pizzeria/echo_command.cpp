// `pizzeria echo-server` and `pizzeria echo-client`: the smallest useful
// programs on pizzeria's streams (asyncio's echo examples), for the docs, for
// smoke tests and as a load for benchmarks.
//
//   pizzeria echo-server --port 0          # prints "listening on 127.0.0.1:PORT"
//   pizzeria echo-client --port PORT --clients 100 --lines 1000
//
// The server runs one task per connection in a TaskGroup and stops cleanly
// on SIGINT/SIGTERM (the group cancels every connection, then it exits 0).
// A connection that neither sends nor takes bytes for --idle-timeout seconds
// is closed (as `pizzeria serve --idle-timeout`), so silent clients cannot
// hold descriptors for ever.
// The client runs its clients concurrently, checks that every byte comes
// back, and exits 1 if one did not. A client that fails (refused, reset,
// wrong bytes, a server silent for --timeout) says why on stderr, naming
// the server, and the others run on: the summary counts them all.
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "commands.hpp"
#include "pizzeria/core/event_loop.hpp"
#include "pizzeria/coro/cancelled_error.hpp"
#include "pizzeria/coro/run.hpp"
#include "pizzeria/coro/task_group.hpp"
#include "pizzeria/coro/timeout.hpp"
#include "pizzeria/coro/timeout_error.hpp"
#include "pizzeria/net/line_too_long_error.hpp"
#include "pizzeria/net/open_connection.hpp"
#include "pizzeria/net/serve_forever.hpp"
#include "pizzeria/net/tcp_listener.hpp"
#include "pizzeria/pizza/load_generator.hpp"

namespace pz::app {

namespace {

struct ServerArguments {
  std::string host = "127.0.0.1";
  std::uint16_t port = 12346;
  double idle_timeout = 60;  // seconds; 0 = never
};

struct ClientArguments {
  std::string host = "127.0.0.1";
  std::uint16_t port = 12346;
  int clients = 10;
  int lines = 100;
  std::size_t line_size = 32;
  double timeout = 30;  // seconds each connect, read or drain may wait
};

// Awaits make() (a read or a drain of `stream`) until it completes (true) or
// the client has neither sent nor taken a byte for `idle` (false; zero:
// never). A wait for one direction does not see the other move, except
// through the stream's buffers: input read ahead or output taken during a
// timed-out wait is progress, and the wait starts again. So a client silent
// while the server waits for its bytes is closed after `idle`; one that
// stops taking its echo, between `idle` and twice that after its last byte.
template <typename Make>
Task<bool> within_idle(TcpStream& stream, Duration idle, Make make) {
  if (idle <= Duration::zero()) {
    co_await make();
    co_return true;
  }
  for (;;) {
    const std::size_t input = stream.buffered_input();
    const std::size_t output = stream.queued_output();
    try {
      co_await timeout(idle, make());
      co_return true;
    } catch (const TimeoutError&) {
      // Below: no co_await in a handler.
    }
    if (stream.buffered_input() <= input && stream.queued_output() >= output) {
      co_return false;
    }
  }
}

Task<void> echo_connection(TcpStream stream, Duration idle) {
  std::string peer = "a client";
  try {
    peer = stream.peer_address().to_string();
  } catch (const std::exception&) {
    // Reset before we looked: the stream's own errors will say so.
  }
  std::string bytes;
  const auto read = [&]() -> Task<void> { bytes = co_await stream.read_some(); };
  const auto drain = [&]() -> Task<void> { co_await stream.drain(); };
  const auto flush = [&]() -> Task<void> { co_await stream.flush(); };
  bool progressing = true;
  for (;;) {
    progressing = co_await within_idle(stream, idle, read);
    if (!progressing || bytes.empty()) {
      break;  // silent, or the client ended its side
    }
    stream.write(bytes);
    // A client that does not read slows us down, not grows us.
    progressing = co_await within_idle(stream, idle, drain);
    if (!progressing) {
      break;
    }
  }
  if (progressing) {
    progressing = co_await within_idle(stream, idle, flush);
  }
  if (!progressing) {
    std::fprintf(stderr,
                 "echo-server: %s: no bytes either way for %g s (--idle-timeout); closing the "
                 "connection\n",
                 peer.c_str(), std::chrono::duration<double>(idle).count());
  }
}

Task<void> serve(TcpListener& listener, Duration idle) {
  co_await serve_forever(
      listener, [idle](TcpStream stream) { return echo_connection(std::move(stream), idle); });
}

int run_server(const ServerArguments& arguments) {
  EventLoop loop;
  StopSource stop;
  loop.add_signal_handler(SIGINT, [&stop] { stop.request_stop(); });
  loop.add_signal_handler(SIGTERM, [&stop] { stop.request_stop(); });
  TcpListener listener = TcpListener::bind(SocketAddress::parse(arguments.host, arguments.port));
  std::printf("listening on %s\n", listener.local_address().to_string().c_str());
  std::fflush(stdout);
  const auto idle =
      std::chrono::duration_cast<Duration>(std::chrono::duration<double>(arguments.idle_timeout));
  run(serve(listener, idle), {}, stop.token());
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

// Failures are reported as they happen, but no more than this many lines:
// a thousand clients refused by the same server would say the same thing a
// thousand times. The summary counts them all.
constexpr int kReportedFailures = 10;

struct ClientRun {
  const ClientArguments& arguments;
  Duration limit;  // each connect, read and drain
  int failures = 0;
  int reported = 0;

  void report(int id, const std::string& what) {
    ++failures;
    if (reported++ < kReportedFailures) {
      std::fprintf(stderr, "echo-client: client %d: %s\n", id, what.c_str());
    }
  }
};

// 0.2, 30, 1.5: as the option was given.
std::string format_seconds(double seconds) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", seconds);
  return text;
}

// One client's whole exchange; its failure is its own (reported, counted),
// never its siblings': they run on and are counted too.
Task<void> one_client(ClientRun& run, int id) {
  const ClientArguments& arguments = run.arguments;
  std::string peer = arguments.host + ":" + std::to_string(arguments.port);
  std::string step = "connecting to " + peer;
  std::string failure;
  bool connected = false;
  try {
    TcpStream stream = co_await timeout(run.limit, open_connection(arguments.host, arguments.port));
    connected = true;
    peer = stream.peer_address().to_string();
    for (int line = 0; line < arguments.lines && failure.empty(); ++line) {
      const std::string sent = line_for(id, line, arguments.line_size);
      step = "line " + std::to_string(line) + " to " + peer;
      stream.write(sent);
      co_await timeout(run.limit, stream.drain());
      step = "the echo of line " + std::to_string(line) + " from " + peer;
      // One byte over the line's length: an echo that long is wrong
      // anyway, and the client holds no more than that of it.
      const std::string echoed = co_await timeout(run.limit, stream.read_line(sent.size() + 1));
      if (echoed != sent) {
        failure = step + ": sent " + std::to_string(sent.size()) + " bytes, got back " +
                  std::to_string(echoed.size()) +
                  (echoed.empty() || echoed.back() != '\n' ? " before the end of stream"
                                                           : " different ones");
      }
    }
    if (failure.empty()) {
      step = "the end of stream from " + peer;
      stream.shutdown_write();
      const std::string extra = co_await timeout(run.limit, stream.read_some());
      if (!extra.empty()) {
        failure = peer + " sent " + std::to_string(extra.size()) +
                  " bytes after the last echo instead of closing";
      }
    }
  } catch (const TimeoutError&) {
    failure = step + ": nothing for " + format_seconds(run.arguments.timeout) + " s (--timeout)";
  } catch (const LineTooLongError& error) {
    failure = step + ": no end of line within " + std::to_string(error.limit()) +
              " bytes, longer than the line sent";
  } catch (const CancelledError&) {
    throw;
  } catch (const std::exception& error) {
    // open_connection's own message names the server already.
    failure = connected ? step + ": " + error.what() : error.what();
  }
  if (!failure.empty()) {
    run.report(id, failure);
  }
}

Task<int> run_clients(const ClientArguments& arguments, Duration limit) {
  ClientRun run{arguments, limit};
  TaskGroup group;
  for (int id = 0; id < arguments.clients; ++id) {
    group.spawn(one_client(run, id));
  }
  co_await group.join();
  if (run.reported > kReportedFailures) {
    std::fprintf(stderr, "echo-client: ... %d more failures not shown\n",
                 run.reported - kReportedFailures);
  }
  co_return run.failures;
}

int run_client(const ClientArguments& arguments) {
  // A client is a descriptor: a count that cannot fit would fail on the
  // machine's limit, not the server's, so it is refused before anything
  // connects (the soft limit is raised to the hard one first, as load does).
  if (const auto shortage =
          open_file_shortage("--clients", static_cast<std::uint64_t>(arguments.clients),
                             static_cast<std::uint64_t>(arguments.clients) + 16);
      !shortage.empty()) {
    std::fprintf(stderr, "echo-client: %s\n", shortage.c_str());
    return 1;
  }
  const auto start = SteadyClock::instance().now();
  const auto limit =
      std::chrono::duration_cast<Duration>(std::chrono::duration<double>(arguments.timeout));
  const int failures = run(run_clients(arguments, limit));
  const double seconds =
      std::chrono::duration<double>(SteadyClock::instance().now() - start).count();
  const double lines = static_cast<double>(arguments.clients) * arguments.lines;
  if (failures != 0) {
    std::printf("%d of %d clients failed (stderr says why)\n", failures, arguments.clients);
    return 1;
  }
  std::printf("%d clients x %d lines: every byte echoed; %.3f s, %.0f lines/s\n", arguments.clients,
              arguments.lines, seconds, lines / seconds);
  if (std::fflush(stdout) != 0 || std::ferror(stdout) != 0) {
    std::fprintf(stderr, "echo-client: writing the summary to standard output failed: %s\n",
                 std::strerror(errno));
    return 1;
  }
  return 0;
}

}  // namespace

void register_echo_commands(CLI::App& app, int& exit_code) {
  auto server_arguments = std::make_shared<ServerArguments>();
  CLI::App* server = app.add_subcommand("echo-server", "Echo every byte back (pizzeria streams)");
  server->add_option("--host", server_arguments->host, "Address to listen on");
  server->add_option("--port", server_arguments->port, "Port (0: any free one, printed)");
  server
      ->add_option("--idle-timeout", server_arguments->idle_timeout,
                   "Seconds a connection may neither send nor take bytes before it is closed "
                   "(default 60; 0 = never)")
      ->check(seconds_between(0, kMaxSeconds));
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
  client
      ->add_option("--timeout", client_arguments->timeout,
                   "Seconds a client waits for its connection, for the server to take a line "
                   "or to echo it, and for its close at the end, before it counts as failed "
                   "(default 30)")
      ->check(seconds_between(0.001, 1e6));
  client->callback([client_arguments, &exit_code] { exit_code = run_client(*client_arguments); });
}

}  // namespace pz::app
