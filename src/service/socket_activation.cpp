#include "pizzeria/service/socket_activation.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>

#include <stdexcept>
#include <string>

#include "pizzeria/core/system_error.hpp"

namespace pz::service {

std::optional<UniqueFd> activated_listener() {
  // unset_environment 1: the variables describe this process only.
  const int count = ::sd_listen_fds(1);
  if (count < 0) {
    throw_errno("sd_listen_fds (LISTEN_FDS/LISTEN_PID)", -count);
  }
  if (count == 0) {
    return std::nullopt;
  }
  if (count > 1) {
    // Ours first: closed with the exception, whatever their kind.
    for (int fd = SD_LISTEN_FDS_START + 1; fd < SD_LISTEN_FDS_START + count; ++fd) {
      ::close(fd);
    }
    ::close(SD_LISTEN_FDS_START);
    throw std::runtime_error("socket activation handed in " + std::to_string(count) +
                             " sockets (LISTEN_FDS); the service listens on exactly one: give "
                             "its .socket unit one ListenStream=");
  }
  UniqueFd listener(SD_LISTEN_FDS_START);
  const int is_listening = ::sd_is_socket(listener.get(), AF_UNSPEC, SOCK_STREAM, 1);
  if (is_listening < 0) {
    throw_errno("descriptor 3 from socket activation", -is_listening);
  }
  if (is_listening == 0) {
    throw std::runtime_error(
        "descriptor 3 from socket activation (LISTEN_FDS=1) is not a listening stream socket: "
        "use ListenStream= in the .socket unit");
  }
  const int flags = ::fcntl(listener.get(), F_GETFL);
  if (flags < 0 || ::fcntl(listener.get(), F_SETFL, flags | O_NONBLOCK) < 0 ||
      ::fcntl(listener.get(), F_SETFD, FD_CLOEXEC) < 0) {
    throw_errno("making the activated listener non-blocking");
  }
  return listener;
}

}  // namespace pz::service
