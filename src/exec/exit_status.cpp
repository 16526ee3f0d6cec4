#include "pizzeria/exec/exit_status.hpp"

#include <sys/wait.h>

#include <cstring>

namespace pz {

ExitStatus ExitStatus::from_wait_status(int status) noexcept {
  if (WIFSIGNALED(status)) {
    return {0, WTERMSIG(status)};
  }
  return {WEXITSTATUS(status), 0};
}

std::string ExitStatus::text() const {
  if (signal != 0) {
    return "killed by signal " + std::to_string(signal) + " (" + ::strsignal(signal) + ")";
  }
  return "exit code " + std::to_string(code);
}

}  // namespace pz
