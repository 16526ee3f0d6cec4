// Opening listening TCP sockets: the one piece of setup every server model
// shares (and TcpListener builds on).
//
//   UniqueFd fd = pz::open_listen_socket(SocketAddress::parse("127.0.0.1", 0));
//   std::uint16_t port = SocketAddress::local_of(fd.get()).port();
//
// Thread safety: free functions without shared state.
#pragma once

#include <sys/socket.h>

#include "pizzeria/core/unique_fd.hpp"
#include "pizzeria/net/socket_address.hpp"

namespace pz {

struct ListenOptions {
  // SO_REUSEADDR: restart a server at once although old connections to its
  // port still sit in TIME_WAIT.
  bool reuse_address = true;
  // SO_REUSEPORT: several sockets (one per shard) may bind the same address
  // and the kernel spreads new connections over them. Off by default because
  // it also lets a second, unrelated server silently share the port.
  bool reuse_port = false;
  int backlog = SOMAXCONN;
  // O_NONBLOCK on the listening socket, for event loops.
  bool non_blocking = false;
};

// socket + setsockopt + bind + listen; the socket is close-on-exec. Port 0
// binds an ephemeral port (read it with SocketAddress::local_of). Throws
// std::system_error whose message names the step and the address, e.g.
// "bind 127.0.0.1:12345: Address already in use".
[[nodiscard]] UniqueFd open_listen_socket(const SocketAddress& address,
                                          const ListenOptions& options = {});

}  // namespace pz
