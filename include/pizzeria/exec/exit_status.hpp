// pz::ExitStatus: how a child process ended, decoded from a wait status
// (asyncio's returncode, without the sign trick: the signal has its own
// field).
//
//   pz::ExitStatus status = co_await child.wait();
//   if (status.signalled()) std::printf("killed by signal %d\n", status.signal);
#pragma once

#include <string>

namespace pz {

struct ExitStatus {
  int code = 0;    // the exit code, when it exited
  int signal = 0;  // the signal that ended it, or 0 when it exited

  // From a waitpid(2) status of a process that has ended.
  [[nodiscard]] static ExitStatus from_wait_status(int status) noexcept;

  [[nodiscard]] bool exited() const noexcept { return signal == 0; }
  [[nodiscard]] bool signalled() const noexcept { return signal != 0; }
  [[nodiscard]] bool success() const noexcept { return signal == 0 && code == 0; }
  // The shell's `$?`: the exit code, or 128 + the signal.
  [[nodiscard]] int shell_code() const noexcept { return signal != 0 ? 128 + signal : code; }
  // "exit code 3", "killed by signal 9 (Killed)".
  [[nodiscard]] std::string text() const;

  friend bool operator==(const ExitStatus&, const ExitStatus&) = default;
};

}  // namespace pz
