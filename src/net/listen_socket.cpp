#include "pizzeria/net/listen_socket.hpp"

#include <netinet/in.h>

#include <string>

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

}  // namespace pz
