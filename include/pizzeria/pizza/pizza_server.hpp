// Running the pizza server: bind, then serve until a ShutdownSignal.
//
//   ServerOptions options;  options.port = 0;  options.model = "poll";
//   UniqueFd listener = open_server_listener(options);     // port now known
//   ShutdownSignal shutdown;
//   std::thread server([&] { run_server(options, std::move(listener), shutdown, log); });
//   ... talk to SocketAddress::local_of(listener) ...
//   shutdown.request();  server.join();
//
// The split mirrors mini-redis's server::run(listener, shutdown): a test
// binds port 0, learns the port, and drives shutdown itself.
//
// Thread safety: free functions; run_server blocks its calling thread.
#pragma once

#include <ostream>

#include "pizzeria/core/unique_fd.hpp"
#include "pizzeria/pizza/server_options.hpp"
#include "pizzeria/server/shutdown_signal.hpp"

namespace pz::pizza {

// Checks the options (throws std::invalid_argument naming the bad one, e.g.
// an unknown model together with the list of known ones) and binds the
// listening socket on options.host:options.port.
[[nodiscard]] UniqueFd open_server_listener(const ServerOptions& options);

// Prints the startup lines as the seed does ("Starting up at:
// 127.0.0.1:12345", "Server listening for incoming connections"), serves
// with options.model until `shutdown` is requested, finishes per the
// graceful shutdown rules, and prints "Server stopped.".
void run_server(const ServerOptions& options, UniqueFd listener, ShutdownSignal& shutdown,
                std::ostream& log);

}  // namespace pz::pizza
