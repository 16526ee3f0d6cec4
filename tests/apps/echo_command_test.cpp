// `pizzeria echo-server` and `pizzeria echo-client`, as real processes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <string>
#include <system_error>
#include <vector>

#include "pizzeria/core/unique_fd.hpp"
#include "programs/program_runner.hpp"

namespace {

// `pizzeria echo-server ...` with its stdout (and stderr) on a pipe.
class EchoServerProcess {
 public:
  explicit EchoServerProcess(std::vector<std::string> arguments) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
      throw std::system_error(errno, std::generic_category(), "pipe2 for echo-server output");
    }
    output_.reset(fds[0]);
    pz::UniqueFd write_end(fds[1]);
    const std::string binary = pz::test::pizzeria_binary();
    arguments.insert(arguments.begin(), {binary, "echo-server"});
    std::vector<char*> argv;
    for (std::string& argument : arguments) {
      argv.push_back(argument.data());
    }
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, write_end.get(), STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, write_end.get(), STDERR_FILENO);
    const int error = ::posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (error != 0) {
      throw std::system_error(error, std::generic_category(), "posix_spawn pizzeria echo-server");
    }
  }
  EchoServerProcess(const EchoServerProcess&) = delete;
  EchoServerProcess& operator=(const EchoServerProcess&) = delete;
  ~EchoServerProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  // The next output line without its '\n'; "" when the output ends (or after
  // a generous safety timeout, so a broken server fails the test, not CI).
  std::string read_line() {
    for (;;) {
      if (const auto newline = pending_.find('\n'); newline != std::string::npos) {
        std::string line = pending_.substr(0, newline);
        pending_.erase(0, newline + 1);
        return line;
      }
      pollfd ready{output_.get(), POLLIN, 0};
      if (::poll(&ready, 1, 30000) <= 0) {
        return "";
      }
      char chunk[1024];
      const ssize_t got = ::read(output_.get(), chunk, sizeof(chunk));
      if (got <= 0) {
        return std::exchange(pending_, {});
      }
      pending_.append(chunk, static_cast<std::size_t>(got));
    }
  }

  void interrupt() const { ::kill(pid_, SIGINT); }

  int wait_for_exit() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

 private:
  pid_t pid_ = -1;
  pz::UniqueFd output_;
  std::string pending_;
};

TEST(EchoCommand, ServerEchoesEveryByteToTheClientAndStopsOnSigint) {
  EchoServerProcess server({"--port", "0"});
  const std::string listening = server.read_line();
  const std::string prefix = "listening on 127.0.0.1:";
  ASSERT_TRUE(listening.starts_with(prefix)) << listening;
  const std::string port = listening.substr(prefix.size());

  const auto client =
      pz::test::run_program({pz::test::pizzeria_binary(), "echo-client", "--port", port,
                             "--clients", "50", "--lines", "100", "--line-size", "40"});
  EXPECT_EQ(client.exit_status, 0) << client.out << client.err;
  EXPECT_NE(client.out.find("50 clients x 100 lines: every byte echoed"), std::string::npos)
      << client.out;

  server.interrupt();
  EXPECT_EQ(server.read_line(), "Server stopped.");
  const int status = server.wait_for_exit();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

TEST(EchoCommand, ClientReportsAServerThatIsNotThere) {
  const auto client = pz::test::run_program(
      {pz::test::pizzeria_binary(), "echo-client", "--port", "1", "--clients", "1"});
  EXPECT_NE(client.exit_status, 0);
  EXPECT_NE(client.err.find("connect"), std::string::npos) << client.err;
}

}  // namespace
