#include "pizzeria/exec/subprocess.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "pizzeria/coro/gather.hpp"
#include "pizzeria/coro/run.hpp"
#include "pizzeria/coro/timeout.hpp"

namespace pz {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Stdio = Subprocess::Stdio;

// Bounds every await that waits on a child, so a broken test fails instead
// of hanging CI; far above what any of these children needs.
constexpr auto kBound = seconds(60);

Subprocess shell(const std::string& script, Subprocess::Options options = {}) {
  return Subprocess::spawn({"/bin/sh", "-c", script}, options);
}

Subprocess::Options piped_output() {
  Subprocess::Options options;
  options.stdout_mode = Stdio::pipe;
  options.stderr_mode = Stdio::pipe;
  return options;
}

TEST(Subprocess, AChildThatExitsReportsItsExitCode) {
  const ExitStatus status = run([]() -> Task<ExitStatus> {
    Subprocess child = shell("exit 3");
    co_return co_await timeout(kBound, child.wait());
  }());
  EXPECT_EQ(status, (ExitStatus{3, 0}));
  EXPECT_TRUE(status.exited());
  EXPECT_FALSE(status.success());
  EXPECT_EQ(status.shell_code(), 3);
  EXPECT_EQ(status.text(), "exit code 3");
}

TEST(Subprocess, AChildKilledByASignalReportsTheSignal) {
  const ExitStatus status = run([]() -> Task<ExitStatus> {
    Subprocess child = shell("kill -TERM $$; exit 0");
    co_return co_await timeout(kBound, child.wait());
  }());
  EXPECT_EQ(status, (ExitStatus{0, SIGTERM}));
  EXPECT_TRUE(status.signalled());
  EXPECT_EQ(status.shell_code(), 128 + SIGTERM);
  EXPECT_EQ(status.text().rfind("killed by signal 15 (", 0), 0U) << status.text();
}

TEST(Subprocess, WaitingByPollingReportsTheSameExitAsThePidfd) {
  const ExitStatus status = run([]() -> Task<ExitStatus> {
    Subprocess::Options options;
    options.poll_for_exit = true;
    Subprocess child = shell("exit 7", options);
    co_return co_await timeout(kBound, child.wait());
  }());
  EXPECT_EQ(status, (ExitStatus{7, 0}));
}

TEST(Subprocess, AWaitAfterTheExitReturnsTheSameStatusAgain) {
  run([]() -> Task<void> {
    Subprocess child = shell("exit 5");
    const ExitStatus first = co_await timeout(kBound, child.wait());
    EXPECT_EQ(first, (ExitStatus{5, 0}));
    EXPECT_EQ(child.returncode(), first);
    EXPECT_EQ(co_await child.wait(), first);
  }());
}

TEST(Subprocess, PipesCarryExactBytesBothWays) {
  // Every byte value, NULs included, and more than a pipe holds (64 KiB),
  // so the write must wait for the child to read.
  std::string sent;
  for (int i = 0; i < 300000; ++i) {
    sent += static_cast<char>((i * 7 + i / 256) & 0xff);
  }
  const std::string received = run([](std::string bytes) -> Task<std::string> {
    Subprocess::Options options;
    options.stdin_mode = Stdio::pipe;
    options.stdout_mode = Stdio::pipe;
    Subprocess child = Subprocess::spawn({"/bin/cat"}, options);
    auto write_then_close = [](Subprocess& to, std::string data) -> Task<void> {
      co_await to.stdin_pipe().write_all(std::move(data));
      to.stdin_pipe().close();  // cat ends at end of file
    };
    auto [nothing, echoed] = co_await timeout(
        kBound, gather(write_then_close(child, std::move(bytes)), child.stdout_pipe().read_all()));
    EXPECT_EQ(co_await timeout(kBound, child.wait()), (ExitStatus{0, 0}));
    co_return echoed;
  }(sent));
  EXPECT_EQ(received.size(), sent.size());
  EXPECT_TRUE(received == sent);
}

TEST(Subprocess, StandardErrorHasAPipeOfItsOwn) {
  run([]() -> Task<void> {
    Subprocess child = shell("printf 'to out\\n'; printf 'to err' >&2", piped_output());
    auto [out, err] = co_await timeout(
        kBound, gather(child.stdout_pipe().read_all(), child.stderr_pipe().read_all()));
    EXPECT_EQ(out, "to out\n");
    EXPECT_EQ(err, "to err");
    EXPECT_TRUE((co_await timeout(kBound, child.wait())).success());
  }());
}

TEST(Subprocess, AStreamThatWasNotPipedIsRefused) {
  run([]() -> Task<void> {
    Subprocess child = shell("exit 0");
    EXPECT_THROW(child.stdout_pipe(), std::logic_error);
    EXPECT_THROW(child.kill_group(), std::logic_error);
    co_await timeout(kBound, child.wait());
  }());
}

TEST(Subprocess, WritingToAChildThatClosedItsInputRaisesEpipeInsteadOfSigpipe) {
  run([]() -> Task<void> {
    Subprocess::Options options;
    options.stdin_mode = Stdio::pipe;
    Subprocess child = shell("exit 0", options);
    co_await timeout(kBound, child.wait());  // the pipe's only reader is gone
    try {
      co_await child.stdin_pipe().write_all("nobody reads this");
      ADD_FAILURE() << "the write succeeded";
    } catch (const std::system_error& error) {
      EXPECT_EQ(error.code().value(), EPIPE) << error.what();
    }
  }());
}

TEST(Subprocess, AChildThatNeverExitsIsKilledAtATimeout) {
  const ExitStatus status = run([]() -> Task<ExitStatus> {
    Subprocess child = shell("exec sleep 1000");
    const auto early = co_await child.wait_for(milliseconds(50));
    EXPECT_FALSE(early.has_value());
    EXPECT_FALSE(child.returncode().has_value());  // left running
    child.kill();
    co_return co_await timeout(kBound, child.wait());
  }());
  EXPECT_EQ(status, (ExitStatus{0, SIGKILL}));
}

// "Z" for a zombie, "" once the process is gone, else its state letter.
std::string state_of(pid_t pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
  const std::string stat{std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
  const auto close = stat.rfind(')');
  return close == std::string::npos || close + 2 >= stat.size() ? "" : stat.substr(close + 2, 1);
}

TEST(Subprocess, KillingTheGroupKillsTheGrandchildToo) {
  pid_t grandchild = 0;
  const ExitStatus status = run([&grandchild]() -> Task<ExitStatus> {
    Subprocess::Options options;
    options.stdout_mode = Stdio::pipe;
    options.new_process_group = true;
    // The shell starts a sleep that holds the same stdout, prints its pid and
    // waits for it.
    Subprocess child = shell("sleep 1000 & echo $!; wait", options);
    std::string out;
    while (out.find('\n') == std::string::npos) {
      const std::string chunk = co_await timeout(kBound, child.stdout_pipe().read_some());
      if (chunk.empty()) {
        break;
      }
      out += chunk;
    }
    grandchild = static_cast<pid_t>(std::atol(out.c_str()));
    EXPECT_GT(grandchild, 0) << out;
    child.kill_group();
    const ExitStatus ended = co_await timeout(kBound, child.wait());
    // The pipe ends only when its last writer, the grandchild, is dead.
    co_await timeout(kBound, child.stdout_pipe().read_all(out));
    co_return ended;
  }());
  EXPECT_EQ(status, (ExitStatus{0, SIGKILL}));
  // A killed process closes its files before the kernel marks it a zombie,
  // so the pipe's end can come while it still shows "R" for a moment: wait,
  // within the bound, for it to finish dying (a live sleep never does).
  std::string state = state_of(grandchild);
  for (auto waited = std::chrono::milliseconds{0};
       !(state.empty() || state == "Z") && waited < kBound;
       waited += std::chrono::milliseconds{5}) {
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
    state = state_of(grandchild);
  }
  EXPECT_TRUE(state.empty() || state == "Z") << "grandchild " << grandchild << " is " << state;
}

TEST(Subprocess, DestroyingARunningChildKillsAndReapsIt) {
  pid_t pid = 0;
  {
    Subprocess child = shell("exec sleep 1000");
    pid = child.pid();
  }
  errno = 0;
  EXPECT_EQ(::waitpid(pid, nullptr, WNOHANG), -1);  // not a child any more: reaped
  EXPECT_EQ(errno, ECHILD);
}

TEST(Subprocess, TheEnvironmentOptionIsTheChildsWholeEnvironment) {
  run([]() -> Task<void> {
    Subprocess::Options options = piped_output();
    options.environment = std::vector<std::string>{"PZ_GREETING=hello"};
    Subprocess child = shell("printf '%s|%s' \"$PZ_GREETING\" \"$HOME\"", options);
    EXPECT_EQ(co_await timeout(kBound, child.stdout_pipe().read_all()), "hello|");
    co_await timeout(kBound, child.wait());
  }());
}

TEST(Subprocess, ADefaultSignalIsRestoredInAChildOfAParentThatIgnoresIt) {
  struct IgnoreSigint {
    IgnoreSigint() { previous = ::signal(SIGINT, SIG_IGN); }
    ~IgnoreSigint() { ::signal(SIGINT, previous); }
    sighandler_t previous;
  } ignore;
  const auto status_with = [](std::vector<int> defaults) {
    return run([](std::vector<int> restored) -> Task<ExitStatus> {
      Subprocess::Options options;
      options.default_signals = std::move(restored);
      Subprocess child = shell("kill -INT $$; exit 0", options);
      co_return co_await timeout(kBound, child.wait());
    }(std::move(defaults)));
  };
  EXPECT_EQ(status_with({}), (ExitStatus{0, 0}));  // inherited: ignored
  EXPECT_EQ(status_with({SIGINT}), (ExitStatus{0, SIGINT}));
}

TEST(Subprocess, AProgramThatDoesNotExistIsRefusedWithItsName) {
  try {
    Subprocess child = Subprocess::spawn({"/nonexistent/program"}, {});
    ADD_FAILURE() << "spawned " << child.pid();
  } catch (const std::system_error& error) {
    EXPECT_EQ(error.code().value(), ENOENT);
    EXPECT_NE(std::string(error.what()).find("/nonexistent/program"), std::string::npos);
  }
  EXPECT_THROW(static_cast<void>(Subprocess::spawn({}, {})), std::invalid_argument);
}

}  // namespace
}  // namespace pz
