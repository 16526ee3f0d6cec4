// Runs a program to completion with given standard input and captures its
// standard output, standard error and exit status. Used to compare pizzeria's
// programs with the tools they imitate (GNU factor, find, dig).
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/pizzeria_binary.hpp"

extern char** environ;

namespace pz::test {

struct ProgramResult {
  int exit_status = -1;  // the exit code, or 128 + signal number
  std::string out;
  std::string err;
};

// `environment` entries ("NAME=value") are added to (and override) ours.
inline ProgramResult run_program(const std::vector<std::string>& argv,
                                 const std::string& input = {},
                                 const std::vector<std::string>& environment = {}) {
  // A child that exits before reading all its input must not kill the test.
  std::signal(SIGPIPE, SIG_IGN);
  int in_pipe[2];
  int out_pipe[2];
  int err_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0 || ::pipe2(out_pipe, O_CLOEXEC) != 0 ||
      ::pipe2(err_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error(std::string("pipe2 for a child process: ") + std::strerror(errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_pipe[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);

  std::vector<std::string> env_strings;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string text(*entry);
    bool overridden = false;
    for (const std::string& extra : environment) {
      const auto name = extra.substr(0, extra.find('=') + 1);
      overridden = overridden || text.rfind(name, 0) == 0;
    }
    if (!overridden) {
      env_strings.push_back(text);
    }
  }
  env_strings.insert(env_strings.end(), environment.begin(), environment.end());
  std::vector<char*> env_pointers;
  for (std::string& entry : env_strings) {
    env_pointers.push_back(entry.data());
  }
  env_pointers.push_back(nullptr);
  std::vector<std::string> argv_copy(argv);
  std::vector<char*> argv_pointers;
  for (std::string& arg : argv_copy) {
    argv_pointers.push_back(arg.data());
  }
  argv_pointers.push_back(nullptr);

  pid_t pid = 0;
  const int spawn_error = ::posix_spawnp(&pid, argv_pointers[0], &actions, nullptr,
                                         argv_pointers.data(), env_pointers.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (spawn_error != 0) {
    ::close(in_pipe[1]);
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    throw std::runtime_error("starting " + argv[0] + ": " + std::strerror(spawn_error));
  }

  ProgramResult result;
  std::size_t written = 0;
  int stdin_fd = in_pipe[1];
  if (input.empty()) {
    ::close(stdin_fd);
    stdin_fd = -1;
  } else {
    ::fcntl(stdin_fd, F_SETFL, O_NONBLOCK);
  }
  int open_outputs = 2;
  pollfd fds[3] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}, {stdin_fd, POLLOUT, 0}};
  char buffer[65536];
  while (open_outputs > 0 || fds[2].fd >= 0) {
    if (::poll(fds, 3, -1) < 0) {
      if (errno == EINTR) {
        continue;
      }
      throw std::runtime_error(std::string("poll on a child's pipes: ") + std::strerror(errno));
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd >= 0 && fds[i].revents != 0) {
        const ssize_t count = ::read(fds[i].fd, buffer, sizeof(buffer));
        if (count > 0) {
          (i == 0 ? result.out : result.err).append(buffer, static_cast<std::size_t>(count));
        } else if (count == 0 || errno != EINTR) {
          ::close(fds[i].fd);
          fds[i].fd = -1;
          --open_outputs;
        }
      }
    }
    if (fds[2].fd >= 0 && fds[2].revents != 0) {
      const ssize_t count = ::write(fds[2].fd, input.data() + written, input.size() - written);
      if (count > 0) {
        written += static_cast<std::size_t>(count);
      }
      if ((count < 0 && errno != EAGAIN && errno != EINTR) || written == input.size()) {
        ::close(fds[2].fd);  // also after EPIPE: the child stopped reading
        fds[2].fd = -1;
      }
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

}  // namespace pz::test
