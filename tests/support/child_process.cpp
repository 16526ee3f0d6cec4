#include "support/child_process.hpp"

#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <stdexcept>
#include <system_error>
#include <utility>

extern char** environ;

namespace pz::test {

namespace {

// In the forked child, before exec; async-signal-safe calls only.
void deny_io_uring_setup() {
  constexpr auto kLoad = static_cast<std::uint16_t>(BPF_LD | BPF_W | BPF_ABS);
  constexpr auto kJumpIfEqual = static_cast<std::uint16_t>(BPF_JMP | BPF_JEQ | BPF_K);
  constexpr auto kReturn = static_cast<std::uint16_t>(BPF_RET | BPF_K);
  sock_filter program[] = {
      {kLoad, 0, 0, static_cast<std::uint32_t>(offsetof(seccomp_data, nr))},
      {kJumpIfEqual, 0, 1, static_cast<std::uint32_t>(SYS_io_uring_setup)},
      {kReturn, 0, 0, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)},
      {kReturn, 0, 0, SECCOMP_RET_ALLOW},
  };
  sock_fprog filter{static_cast<unsigned short>(std::size(program)), program};
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
      ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &filter) != 0) {
    ::_exit(126);
  }
}

}  // namespace

ChildProcess::ChildProcess(std::vector<std::string> argv, Output output, IoUring io_uring) {
  if (argv.empty()) {
    throw std::invalid_argument("ChildProcess: no program to run");
  }
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    throw std::system_error(errno, std::generic_category(), "pipe2 for " + argv[0]);
  }
  output_.reset(fds[0]);
  UniqueFd write_end(fds[1]);
  std::vector<char*> pointers;
  for (std::string& argument : argv) {
    pointers.push_back(argument.data());
  }
  pointers.push_back(nullptr);
  const bool with_stderr = output == Output::stdout_and_stderr;
  if (io_uring == IoUring::denied) {
    // posix_spawn cannot install a seccomp filter in the child: fork.
    pid_ = ::fork();
    if (pid_ < 0) {
      throw std::system_error(errno, std::generic_category(), "fork for " + argv[0]);
    }
    if (pid_ == 0) {
      ::dup2(write_end.get(), STDOUT_FILENO);
      if (with_stderr) {
        ::dup2(write_end.get(), STDERR_FILENO);
      }
      deny_io_uring_setup();
      ::execve(pointers[0], pointers.data(), environ);
      ::_exit(127);
    }
    return;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, write_end.get(), STDOUT_FILENO);
  if (with_stderr) {
    posix_spawn_file_actions_adddup2(&actions, write_end.get(), STDERR_FILENO);
  }
  const int error = ::posix_spawn(&pid_, pointers[0], &actions, nullptr, pointers.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) {
    pid_ = -1;
    throw std::system_error(error, std::generic_category(), "posix_spawn " + argv[0]);
  }
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

std::string ChildProcess::read_line(std::chrono::milliseconds timeout) {
  while (true) {
    if (const auto newline = pending_.find('\n'); newline != std::string::npos) {
      std::string line = pending_.substr(0, newline);
      pending_.erase(0, newline + 1);
      return line;
    }
    pollfd ready{output_.get(), POLLIN, 0};
    if (::poll(&ready, 1, static_cast<int>(timeout.count())) <= 0) {
      return std::exchange(pending_, {});
    }
    char chunk[4096];
    const ssize_t got = ::read(output_.get(), chunk, sizeof chunk);
    if (got <= 0) {
      return std::exchange(pending_, {});
    }
    pending_.append(chunk, static_cast<std::size_t>(got));
  }
}

void ChildProcess::signal(int number) const {
  if (pid_ > 0) {
    ::kill(pid_, number);
  }
}

int ChildProcess::wait() {
  int status = 0;
  if (pid_ > 0) {
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  return status;
}

}  // namespace pz::test
