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

// The first listener of a sharded server: SO_REUSEPORT (so that its shards
// can add theirs, see pz::run_sharded), yet an error when the port is in
// use, as without it. SO_REUSEPORT alone would let a second server of the
// same user join the group, and the kernel would split the clients between
// the two. So the address is first bound by a probe socket without
// SO_REUSEPORT, which fails ("bind 127.0.0.1:12345: Address already in use")
// while anybody listens there, reuseport or not; the probe is closed and
// the real listener bound on the port it found (the chosen one for port 0).
// `options.reuse_port` is implied.
[[nodiscard]] UniqueFd open_shared_listener(const SocketAddress& address,
                                            ListenOptions options = {});

}  // namespace pz
