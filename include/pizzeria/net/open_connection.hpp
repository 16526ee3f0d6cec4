// pz::open_connection(host, port): a TcpStream connected to host:port
// (asyncio.open_connection); pz::resolve(host, port): name resolution.
//
//   pz::TcpStream stream = co_await pz::open_connection("localhost", 12345);
//
// Resolution never blocks the loop: numeric addresses (and "localhost") are
// parsed in place; other names go to getaddrinfo on a short-lived thread of
// their own, whose answer comes back through call_soon_threadsafe. (A
// resolver pool from the exec layer may replace the thread later; the
// interface stays.) Cancelling abandons the lookup: the thread finishes on
// its own and its answer is dropped.
//
// Connecting is non-blocking too; each resolved address is tried in turn and
// the error of the last one is raised if none accepts, e.g.
// "connect 127.0.0.1:1: Connection refused". Cancellable at every step.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pizzeria/coro/task.hpp"
#include "pizzeria/net/socket_address.hpp"
#include "pizzeria/net/tcp_stream.hpp"

namespace pz {

[[nodiscard]] Task<std::vector<SocketAddress>> resolve(std::string host, std::uint16_t port);
// Always asks getaddrinfo (on its own thread), even for numeric hosts and
// "localhost": resolve() without the fast path.
[[nodiscard]] Task<std::vector<SocketAddress>> resolve_with_getaddrinfo(std::string host,
                                                                        std::uint16_t port);

[[nodiscard]] Task<TcpStream> open_connection(std::string host, std::uint16_t port,
                                              StreamOptions options = {});
[[nodiscard]] Task<TcpStream> open_connection(SocketAddress address, StreamOptions options = {});

}  // namespace pz
