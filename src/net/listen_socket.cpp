#include "pizzeria/net/listen_socket.hpp"

#include <netinet/in.h>

#include <cerrno>
#include <string>
#include <system_error>

#include "pizzeria/core/system_error.hpp"

namespace pz {

namespace {

void enable_option(int fd, int option, const char* name, const SocketAddress& address) {
  const int on = 1;
  if (::setsockopt(fd, SOL_SOCKET, option, &on, sizeof(on)) != 0) {
    throw_errno(std::string("setsockopt ") + name + " for " + address.to_string());
  }
}

}  // namespace

UniqueFd open_listen_socket(const SocketAddress& address, const ListenOptions& options) {
  int type = SOCK_STREAM | SOCK_CLOEXEC;
  if (options.non_blocking) {
    type |= SOCK_NONBLOCK;
  }
  UniqueFd fd(::socket(address.family(), type, 0));
  if (!fd) {
    throw_errno("socket for " + address.to_string());
  }
  if (options.reuse_address) {
    enable_option(fd.get(), SO_REUSEADDR, "SO_REUSEADDR", address);
  }
  if (options.reuse_port) {
    enable_option(fd.get(), SO_REUSEPORT, "SO_REUSEPORT", address);
  }
  if (::bind(fd.get(), address.data(), address.size()) != 0) {
    throw_errno("bind " + address.to_string());
  }
  if (::listen(fd.get(), options.backlog) != 0) {
    throw_errno("listen on " + address.to_string());
  }
  return fd;
}

UniqueFd open_shared_listener(const SocketAddress& address, ListenOptions options) {
  options.reuse_port = true;
  // Port 0: another program may take the probe's ephemeral port between
  // the probe's close and our bind (then that bind fails): try a few.
  const int attempts = address.port() == 0 ? 8 : 1;
  for (int attempt = 1;; ++attempt) {
    SocketAddress probed = address;
    {
      UniqueFd probe(::socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
      if (!probe) {
        throw_errno("socket for " + address.to_string());
      }
      if (options.reuse_address) {
        enable_option(probe.get(), SO_REUSEADDR, "SO_REUSEADDR", address);
      }
      if (::bind(probe.get(), address.data(), address.size()) != 0) {
        throw_errno("bind " + address.to_string());
      }
      probed = SocketAddress::local_of(probe.get());
    }
    try {
      return open_listen_socket(probed, options);
    } catch (const std::system_error& error) {
      if (attempt >= attempts || error.code().value() != EADDRINUSE) {
        throw;
      }
    }
  }
}

}  // namespace pz
