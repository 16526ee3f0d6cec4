// Telling the service manager how a service is doing: sd_notify(3) from
// libsystemd. systemd starts a Type=notify unit with NOTIFY_SOCKET set and
// waits for READY=1 before it starts what depends on the unit; STOPPING=1
// says the service is shutting down by itself or on request.
//
//   pz::service::notify_ready("Serving on 127.0.0.1:12345");  // listener bound
//   ...
//   pz::service::notify_stopping();                           // shutdown began
//
// Every call is a no-op returning false when NOTIFY_SOCKET is unset (the
// program was not started by systemd with notify access), so a program calls
// them unconditionally.
//
// Thread safety: safe from any thread (not from a signal handler).
#pragma once

#include <string_view>

namespace pz::service {

// Sends `state` (newline-separated VAR=value assignments, as sd_notify takes
// them). True when it was sent; false when NOTIFY_SOCKET is unset. Throws
// std::system_error when NOTIFY_SOCKET is set but the message cannot be sent.
bool notify(std::string_view state);

// READY=1, with STATUS=<status> when status is not empty.
bool notify_ready(std::string_view status = {});

// STOPPING=1.
bool notify_stopping();

}  // namespace pz::service
