// `pizzeria sort-server` and `pizzeria sort-client`: the seed's remote sort
// (seed 002, sections 0.14 and 0.15), TCP port 2015 by default.
//
// Frame: an 8-byte big-endian length, then that many bytes of a JSON array of
// numbers as Python's json.dumps writes it. Reply: the same array sorted
// (pz::programs::sort_json_numbers: same texts and separators, so exactly the
// request's length), with no length prefix; then the server closes. The
// sorting runs in a pz::ProcessPool, off the event loop, as the seed's
// run_in_executor with a ProcessPoolExecutor does. A frame over --max-frame,
// a short frame, invalid JSON or a non-number closes only that connection,
// with a logged error.
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <random>
#include <string>

#include "commands.hpp"
#include "pizzeria/core/event_loop.hpp"
#include "pizzeria/coro/cancelled_error.hpp"
#include "pizzeria/coro/run.hpp"
#include "pizzeria/coro/stop_token.hpp"
#include "pizzeria/coro/task_group.hpp"
#include "pizzeria/exec/future_awaiter.hpp"
#include "pizzeria/exec/process_pool.hpp"
#include "pizzeria/exec/task_registry.hpp"
#include "pizzeria/net/open_connection.hpp"
#include "pizzeria/net/serve_forever.hpp"
#include "pizzeria/net/tcp_listener.hpp"
#include "pizzeria/programs/json_number_sort.hpp"

namespace pz::app {

namespace {

constexpr std::uint16_t kSortPort = 2015;  // the seed's port

// The wire format carries std::string, not string_view: a by-value wrapper.
std::string sort_json_task(std::string json) {
  return programs::sort_json_numbers(json);
}
const auto kSortJson = register_task("pizzeria.sort.json", &sort_json_task);

struct SortServerArguments {
  std::string host = "127.0.0.1";
  std::uint16_t port = kSortPort;
  std::size_t workers = 0;
  std::uint64_t max_frame = 16 * 1024 * 1024;
};

struct SortClientArguments {
  std::string host = "127.0.0.1";
  std::uint16_t port = kSortPort;
  int count = 10000;      // the seed's list of 10,000 numbers below 10,000
  int connections = 0;    // > 0: load mode (see load_sorts)
  double duration = 5.0;  // load mode: seconds
};

Task<void> sort_connection(TcpStream stream, ProcessPool& pool, std::uint64_t max_frame,
                           std::string peer) {
  // Everything is caught here: one bad client must not cancel its siblings.
  try {
    const std::string header = co_await stream.read_exactly(8);
    std::uint64_t length = 0;
    for (const char byte : header) {
      length = (length << 8) | static_cast<unsigned char>(byte);
    }
    if (length > max_frame) {
      std::fprintf(stderr,
                   "sort-server: %s: frame of %llu bytes exceeds --max-frame %llu; closing\n",
                   peer.c_str(), static_cast<unsigned long long>(length),
                   static_cast<unsigned long long>(max_frame));
      co_return;
    }
    const std::string body = co_await stream.read_exactly(static_cast<std::size_t>(length));
    const std::string sorted = co_await pool.run(kSortJson, body);
    stream.write(sorted);
    co_await stream.flush();
  } catch (const CancelledError&) {
    throw;  // the server is stopping
  } catch (const std::exception& error) {
    std::fprintf(stderr, "sort-server: %s: %s; closing the connection\n", peer.c_str(),
                 error.what());
  }
}

Task<void> serve_sorts(TcpListener& listener, ProcessPool& pool, std::uint64_t max_frame) {
  co_await serve_forever(listener, [&pool, max_frame](TcpStream stream) {
    std::string peer = "a client";
    try {
      peer = SocketAddress::peer_of(stream.fd()).to_string();
    } catch (const std::exception&) {
      // The peer already left; its reads will report that.
    }
    return sort_connection(std::move(stream), pool, max_frame, std::move(peer));
  });
}

int run_sort_server(const SortServerArguments& arguments) {
  EventLoop loop;
  StopSource stop;
  loop.add_signal_handler(SIGINT, [&stop] { stop.request_stop(); });
  loop.add_signal_handler(SIGTERM, [&stop] { stop.request_stop(); });
  // After the handlers: the signals are blocked before the pool starts its
  // threads, which inherit the mask, so only the loop's signalfd sees them.
  ProcessPool pool(arguments.workers);
  TcpListener listener = TcpListener::bind(SocketAddress::parse(arguments.host, arguments.port));
  std::printf("sort-server: listening on %s\n", listener.local_address().to_string().c_str());
  std::fflush(stdout);
  run(serve_sorts(listener, pool, arguments.max_frame), {}, stop.token());
  std::printf("Server stopped.\n");
  return 0;
}

// The seed's remote_sort client.
Task<int> remote_sort(const SortClientArguments& arguments) {
  TcpStream stream = co_await open_connection(arguments.host, arguments.port);
  std::printf("Generating random list...\n");
  std::mt19937 random(std::random_device{}());
  std::string data = "[";
  for (int i = 0; i < arguments.count; ++i) {
    data += (i == 0 ? "" : ", ") + std::to_string(random() % 10000);
  }
  data += "]";
  std::printf("List Generated, Sending data\n");
  std::string header(8, '\0');
  for (int i = 0; i < 8; ++i) {
    header[static_cast<std::size_t>(i)] =
        static_cast<char>((static_cast<std::uint64_t>(data.size()) >> (56 - 8 * i)) & 0xFF);
  }
  stream.write(header);
  stream.write(data);
  std::printf("Waiting for data...\n");
  std::fflush(stdout);
  const std::string sorted = co_await stream.read_exactly(data.size());
  std::printf("Received data\n%s\n\n", sorted.c_str());
  co_return 0;
}

std::string random_list(int count) {
  std::mt19937 random(std::random_device{}());
  std::string data = "[";
  for (int i = 0; i < count; ++i) {
    data += (i == 0 ? "" : ", ") + std::to_string(random() % 10000);
  }
  data += "]";
  return data;
}

std::string frame_header(std::size_t size) {
  std::string header(8, '\0');
  for (int i = 0; i < 8; ++i) {
    header[static_cast<std::size_t>(i)] =
        static_cast<char>((static_cast<std::uint64_t>(size) >> (56 - 8 * i)) & 0xFF);
  }
  return header;
}

// Load mode: `connections` coroutines each send the same list on a fresh
// connection, check the reply, and repeat until the deadline; prints the
// number of checked replies (a native client, so that the client is not what
// a benchmark measures).
Task<int> load_sorts(const SortClientArguments& arguments) {
  const std::string data = random_list(arguments.count);
  const std::string expected = programs::sort_json_numbers(data);
  const std::string request = frame_header(data.size()) + data;
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                            std::chrono::duration<double>(arguments.duration));
  std::uint64_t replies = 0;
  std::uint64_t wrong = 0;
  auto one = [&]() -> Task<void> {
    while (std::chrono::steady_clock::now() < deadline) {
      TcpStream stream = co_await open_connection(arguments.host, arguments.port);
      stream.write(request);
      const std::string reply = co_await stream.read_exactly(data.size());
      ++(reply == expected ? replies : wrong);
    }
  };
  TaskGroup group;
  for (int i = 0; i < arguments.connections; ++i) {
    group.spawn(one());
  }
  co_await group.join();
  std::printf("%llu\n", static_cast<unsigned long long>(replies));
  if (wrong != 0) {
    std::fprintf(stderr, "sort-client: %llu replies were not the sorted list\n",
                 static_cast<unsigned long long>(wrong));
  }
  co_return wrong == 0 ? 0 : 1;
}

}  // namespace

void register_sort_commands(CLI::App& app, int& exit_code) {
  auto server = std::make_shared<SortServerArguments>();
  auto* server_command = app.add_subcommand(
      "sort-server", "Sort JSON arrays of numbers for clients, in a process pool (seed 002, 0.14)");
  server_command->add_option("--host", server->host, "Address to listen on (default 127.0.0.1)");
  server_command->add_option("--port", server->port, "TCP port (default 2015; 0: any free port)");
  server_command->add_option("--workers", server->workers,
                             "Sorting processes (default: one per core)");
  server_command->add_option("--max-frame", server->max_frame,
                             "Largest request accepted, in bytes (default 16 MiB)");
  server_command->callback([server, &exit_code] { exit_code = run_sort_server(*server); });

  auto client = std::make_shared<SortClientArguments>();
  auto* client_command = app.add_subcommand(
      "sort-client", "Send a random list to sort-server and print it sorted (seed 002, 0.15)");
  client_command->add_option("--host", client->host, "Server address (default 127.0.0.1)");
  client_command->add_option("--port", client->port, "Server port (default 2015)");
  client_command->add_option("--count", client->count, "Numbers to send (default 10000)");
  client_command->add_option("--connections", client->connections,
                             "Load mode: this many concurrent clients, each sending the same "
                             "list again and again; prints the number of correct replies");
  client_command->add_option("--duration", client->duration,
                             "Load mode: seconds to run (default 5)");
  client_command->callback([client, &exit_code] {
    exit_code = client->connections > 0 ? run(load_sorts(*client)) : run(remote_sort(*client));
  });
}

}  // namespace pz::app
