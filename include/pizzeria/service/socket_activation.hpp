// Socket activation: a listening socket handed in by the service manager.
// With a .socket unit, systemd binds the port itself (it can then be a
// privileged port, and connections queue while the service starts or
// restarts) and starts the service with the socket as descriptor 3,
// LISTEN_FDS=1 and LISTEN_PID=<its pid> (sd_listen_fds(3)).
//
//   std::optional<pz::UniqueFd> handed = pz::service::activated_listener();
//   pz::UniqueFd listener = handed ? std::move(*handed) : bind_my_own();
//
// Thread safety: call once, early, before starting threads: it reads and
// unsets LISTEN_FDS, LISTEN_PID and LISTEN_FDNAMES (so children do not
// inherit them).
#pragma once

#include <optional>

#include "pizzeria/core/unique_fd.hpp"

namespace pz::service {

// The handed-in listener, made non-blocking and close-on-exec; nullopt
// when none was handed in (LISTEN_FDS unset, or LISTEN_PID names another
// process). Throws std::runtime_error when more than one socket was handed
// in, or when descriptor 3 is not a listening stream socket, naming what
// was found.
[[nodiscard]] std::optional<UniqueFd> activated_listener();

}  // namespace pz::service
