// Small socket helpers the server models and clients share.
//
// Thread safety: free functions without shared state.
#pragma once

#include "pizzeria/core/unique_fd.hpp"
#include "pizzeria/net/socket_address.hpp"

namespace pz {

// Sets or clears O_NONBLOCK. Throws std::system_error on failure.
void set_non_blocking(int fd, bool non_blocking = true);

// TCP_NODELAY: small replies go out at once instead of waiting for the
// previous one's ACK (Nagle), which matters for pipelined request/response.
void set_tcp_no_delay(int fd, bool no_delay = true);

// A blocking, close-on-exec TCP connection to `address`. Throws
// std::system_error "connect 127.0.0.1:12345: Connection refused".
[[nodiscard]] UniqueFd connect_tcp(const SocketAddress& address);

}  // namespace pz
