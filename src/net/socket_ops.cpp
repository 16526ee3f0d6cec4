#include "pizzeria/net/socket_ops.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <string>

#include "pizzeria/core/system_error.hpp"

namespace pz {

void set_non_blocking(int fd, bool non_blocking) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) {
    throw_errno("fcntl F_GETFL on fd " + std::to_string(fd));
  }
  const int wanted = non_blocking ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
  if (wanted != flags && ::fcntl(fd, F_SETFL, wanted) != 0) {
    throw_errno("fcntl F_SETFL O_NONBLOCK on fd " + std::to_string(fd));
  }
}

void set_tcp_no_delay(int fd, bool no_delay) {
  const int value = no_delay ? 1 : 0;
  if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &value, sizeof(value)) != 0) {
    throw_errno("setsockopt TCP_NODELAY on fd " + std::to_string(fd));
  }
}

UniqueFd connect_tcp(const SocketAddress& address) {
  UniqueFd fd(::socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) {
    throw_errno("socket for " + address.to_string());
  }
  // Not retried on EINTR: the connection attempt goes on in the background
  // and a second connect() would only report EALREADY.
  if (::connect(fd.get(), address.data(), address.size()) != 0) {
    throw_errno("connect " + address.to_string());
  }
  return fd;
}

}  // namespace pz
