// A program the test starts (usually a `pizzeria` subcommand that serves)
// with its output on a pipe the test reads line by line; killed and reaped
// when the test is done with it, whatever happened.
//
//   test::ChildProcess server({pizzeria_binary(), "serve", "--port", "0"});
//   std::string first = server.read_line();     // "Starting up at: ..."
//   server.signal(SIGINT);
//   int status = server.wait();                 // waitpid status
//
// Reads are bounded (30 s by default): a program that never prints fails its
// test instead of hanging CI.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "pizzeria/core/unique_fd.hpp"

namespace pz::test {

class ChildProcess {
 public:
  enum class Output {
    stdout_only,        // stderr stays the test's own
    stdout_and_stderr,  // both on the pipe, interleaved as written
  };
  enum class IoUring {
    allowed,
    // io_uring_setup fails with ENOSYS in the child (a seccomp filter), as
    // on a kernel without io_uring or under a container's seccomp profile.
    denied,
  };
  // accept4 and accept fail with `error` in the child (0: they work): how a
  // server copes when the kernel is short of memory for new sockets (ENOMEM,
  // ENOBUFS) without making it so. A seccomp filter hands each call to a
  // thread of this process, which fails it and counts it (failed_accepts()),
  // so a test can tell a server that backs off from one that spins.
  // No default member initializers (GCC then rejects the `= {}` below):
  // members left out are zero.
  struct FailingAccept {
    int error;
    // The one call (counting from 1) that runs normally, as if the memory
    // came back for a moment; 0: none.
    std::uint64_t succeeding_call;
  };

  // argv[0] is the program's path.
  explicit ChildProcess(std::vector<std::string> argv, Output output = Output::stdout_and_stderr,
                        IoUring io_uring = IoUring::allowed, FailingAccept failing_accept = {});
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  // The next line without its '\n'; the rest of the output ("" if none) at
  // its end or after `timeout` without a byte.
  std::string read_line(std::chrono::milliseconds timeout = std::chrono::seconds(30));

  void signal(int number) const;
  // Waits for the exit; returns the waitpid status.
  int wait();

  // The accept calls failed so far (see FailingAccept); all of them once
  // wait() has returned.
  [[nodiscard]] std::uint64_t failed_accepts() const noexcept;

  // For reading the child's /proc entries (its memory, say).
  [[nodiscard]] pid_t pid() const noexcept { return pid_; }

 private:
  class AcceptFailer;

  // Destroyed after the destructor's body has killed and reaped the child,
  // so no accept call is left waiting for an answer.
  std::unique_ptr<AcceptFailer> accept_failer_;
  pid_t pid_ = -1;
  UniqueFd output_;
  std::string pending_;
};

}  // namespace pz::test
