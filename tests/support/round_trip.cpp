#include "support/round_trip.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>

#include "pizzeria/core/unique_fd.hpp"

namespace pz::test {

std::string round_trip(std::uint16_t port, std::string_view request) {
  const UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) {
    throw std::system_error(errno, std::generic_category(), "test client: socket");
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    throw std::system_error(errno, std::generic_category(),
                            "test client: connect to 127.0.0.1:" + std::to_string(port));
  }
  for (std::string_view rest = request; !rest.empty();) {
    const ssize_t sent = ::send(fd.get(), rest.data(), rest.size(), MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) {
      continue;
    }
    if (sent <= 0) {
      throw std::system_error(errno, std::generic_category(), "test client: send");
    }
    rest.remove_prefix(static_cast<std::size_t>(sent));
  }
  ::shutdown(fd.get(), SHUT_WR);
  std::string replies;
  char buffer[4096];
  for (;;) {
    const ssize_t got = ::recv(fd.get(), buffer, sizeof buffer, 0);
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got <= 0) {
      return replies;  // the close, or a reset: what came is the answer
    }
    replies.append(buffer, static_cast<std::size_t>(got));
  }
}

}  // namespace pz::test
