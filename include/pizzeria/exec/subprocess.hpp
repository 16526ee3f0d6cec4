// pz::Subprocess: a child process started with exec, its pipes read and
// written by coroutines and its exit awaited on the event loop (asyncio's
// create_subprocess_exec and Process).
//
//   pz::Subprocess::Options options;
//   options.stdout_mode = pz::Subprocess::Stdio::pipe;
//   options.new_process_group = true;
//   pz::Subprocess child = pz::Subprocess::spawn({"/bin/ls", "-l"}, options);
//   std::string listing = co_await child.stdout_pipe().read_all();
//   pz::ExitStatus status = co_await child.wait();
//
//   if (!co_await child.wait_for(5s)) {  // still running after 5 s
//     child.kill_group();                // it and everything it started
//     co_await child.wait();
//   }
//
// - spawn() is posix_spawn (vfork-style: no copy of a large parent), with
//   every pipe close-on-exec on our side, so concurrent spawns never leak
//   one child's pipe into another.
// - wait() sleeps on a pidfd (pidfd_open, Linux 5.3): the kernel makes it
//   readable when the child exits, so waiting costs no signal handler and no
//   polling, and the pid cannot be reused while we hold it. Where
//   pidfd_open is missing (ENOSYS, or refused by a seccomp profile) wait()
//   polls waitpid(WNOHANG) on a timer instead, from 1 ms doubling to 50 ms;
//   Options::poll_for_exit asks for that fallback on purpose (its tests).
// - With new_process_group the child leads a group of its own, so
//   kill_group() reaches its children too (a server's worker processes), and
//   a terminal's Ctrl-C does not reach it: the owner decides when it ends.
// - The destructor kills the child with SIGKILL and reaps it if it still
//   runs, and kills what is left of its group if it has one: no zombie and
//   no stray worker outlives the object, whatever path left the scope.
//
// Thread safety: loop thread only for the awaits; pid(), the signals and
// returncode() from any one thread at a time.
#pragma once

#include <sys/types.h>

#include <csignal>
#include <optional>
#include <string>
#include <vector>

#include "pizzeria/core/clock.hpp"
#include "pizzeria/core/unique_fd.hpp"
#include "pizzeria/coro/task.hpp"
#include "pizzeria/exec/exit_status.hpp"
#include "pizzeria/exec/pipe_stream.hpp"

namespace pz {

class Subprocess {
 public:
  // What one of the child's standard streams is connected to.
  enum class Stdio {
    inherit,  // this process's own
    pipe,     // a pipe, our end in stdin_pipe()/stdout_pipe()/stderr_pipe()
    null,     // /dev/null
  };

  struct Options {
    Stdio stdin_mode = Stdio::inherit;
    Stdio stdout_mode = Stdio::inherit;
    Stdio stderr_mode = Stdio::inherit;
    // The child leads a new process group (see kill_group()).
    bool new_process_group = false;
    // Signals set back to their default action in the child. exec keeps an
    // ignored signal ignored: a parent started in the background (SIGINT
    // ignored) would otherwise pass that on to a server it must stop.
    std::vector<int> default_signals;
    // The child's whole environment ("NAME=value"); unset: this process's.
    std::optional<std::vector<std::string>> environment;
    // Wait for the exit by polling waitpid even when pidfds exist.
    bool poll_for_exit = false;
  };

  // Starts argv[0] (a path: no search of PATH) with `argv`. Throws
  // std::invalid_argument for an empty argv and std::system_error naming the
  // program when it cannot be started (ENOENT for a missing file).
  [[nodiscard]] static Subprocess spawn(std::vector<std::string> argv, const Options& options);

  Subprocess(Subprocess&& other) noexcept;
  Subprocess& operator=(Subprocess&& other) noexcept;
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;
  ~Subprocess();

  [[nodiscard]] pid_t pid() const noexcept { return pid_; }

  // Our ends of the pipes asked for in Options (std::logic_error otherwise).
  PipeStream& stdin_pipe();
  PipeStream& stdout_pipe();
  PipeStream& stderr_pipe();

  // The exit status if the child has ended (reaping it), without waiting.
  std::optional<ExitStatus> returncode();
  // Suspends until the child ends; its exit status. Once reaped, returns the
  // same status at once. One wait at a time.
  Task<ExitStatus> wait();
  // As wait(), for at most `limit` on the loop's clock: nullopt if the child
  // is still running then (it is left running: kill it, then wait()).
  Task<std::optional<ExitStatus>> wait_for(Duration limit);

  // Signals the child (nothing once it is reaped: its pid may be reused).
  void send_signal(int number) const noexcept;
  void terminate() const noexcept;  // SIGTERM
  void kill() const noexcept;       // SIGKILL
  // Signals the child's whole process group: the child and every process it
  // started that stayed in its group, even after the child itself has
  // exited. Requires Options::new_process_group (std::logic_error).
  void kill_group(int number = SIGKILL) const;

 private:
  Subprocess() noexcept = default;
  void reap(int status) noexcept;
  std::optional<ExitStatus> reap_if_ended() noexcept;

  pid_t pid_ = -1;
  UniqueFd pidfd_;  // invalid: poll for the exit instead
  bool own_group_ = false;
  bool waiting_ = false;
  std::optional<ExitStatus> status_;
  PipeStream stdin_;
  PipeStream stdout_;
  PipeStream stderr_;
  bool piped_[3] = {false, false, false};
};

}  // namespace pz
