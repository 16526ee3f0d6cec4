// pz::AcceptedClient: a client pz::ServerContext::accept admitted: its
// socket (close-on-exec, blocking, TCP_NODELAY), its address and its slot.
#pragma once

#include "pizzeria/core/unique_fd.hpp"
#include "pizzeria/net/socket_address.hpp"
#include "pizzeria/server/connection_slot.hpp"

namespace pz {

struct AcceptedClient {
  UniqueFd fd;
  SocketAddress peer;
  ConnectionSlot slot;
};

}  // namespace pz
