#include "pizzeria/service/service_notify.hpp"

#include <systemd/sd-daemon.h>

#include <cstdlib>
#include <string>

#include "pizzeria/core/system_error.hpp"

namespace pz::service {

bool notify(std::string_view state) {
  if (std::getenv("NOTIFY_SOCKET") == nullptr) {
    return false;
  }
  const std::string text(state);
  // unset_environment 0: the program may notify more than once (READY,
  // then STOPPING).
  const int sent = ::sd_notify(0, text.c_str());
  if (sent < 0) {
    throw_errno("sd_notify(\"" + text + "\") to NOTIFY_SOCKET " + std::getenv("NOTIFY_SOCKET"),
                -sent);
  }
  return sent > 0;
}

bool notify_ready(std::string_view status) {
  std::string state = "READY=1";
  if (!status.empty()) {
    state += "\nSTATUS=";
    state += status;
  }
  return notify(state);
}

bool notify_stopping() {
  return notify("STOPPING=1");
}

}  // namespace pz::service
