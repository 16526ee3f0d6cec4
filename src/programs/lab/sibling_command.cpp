#include "pizzeria/programs/lab/sibling_command.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <utility>

#include "pizzeria/coro/sleep.hpp"
#include "pizzeria/coro/task_group.hpp"
#include "pizzeria/exec/subprocess.hpp"
#include "pizzeria/programs/lab/experiment_failure.hpp"
#include "pizzeria/programs/lab/lab_children.hpp"
#include "programs/lab/drain_pipe.hpp"

namespace pz::programs {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

Clock::time_point after(std::chrono::duration<double> limit) {
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(limit);
}

}  // namespace

SiblingCommand::SiblingCommand(std::string self, std::vector<std::string> arguments)
    : argv_(std::move(arguments)) {
  argv_.insert(argv_.begin(), std::move(self));
}

std::string SiblingCommand::line() const {
  std::string line = "pizzeria";
  for (std::size_t i = 1; i < argv_.size(); ++i) {
    line += ' ';
    line += argv_[i];
  }
  return line;
}

Task<SiblingCommand::Output> SiblingCommand::run(std::chrono::duration<double> limit,
                                                 std::function<void()> tick,
                                                 std::vector<int> accepted) const {
  Subprocess child = LabChildren::spawn(argv_);
  struct Forget {
    pid_t group;
    ~Forget() { LabChildren::forget(group); }
  } forget{child.pid()};
  Output output;
  int open = 2;
  TaskGroup readers;
  readers.spawn(lab_detail::drain_pipe(child.stdout_pipe(), output.out, open));
  readers.spawn(lab_detail::drain_pipe(child.stderr_pipe(), output.err, open));
  const auto deadline = after(limit);
  bool timed_out = false;
  std::optional<ExitStatus> status;
  while (!(status = co_await child.wait_for(milliseconds(10)))) {
    if (tick) {
      tick();
    }
    if (Clock::now() > deadline) {
      timed_out = true;
      child.kill_group();
      status = co_await child.wait();
    }
  }
  // Worker processes may still hold the pipes after the child exits; they
  // are given a moment, then the group is killed, which ends the pipes.
  const auto drain_until = after(std::chrono::seconds(2));
  while (open > 0 && Clock::now() < drain_until) {
    co_await sleep(milliseconds(10));
  }
  child.kill_group();
  co_await readers.join();
  output.status = status->shell_code();
  if (timed_out) {
    throw ExperimentFailure(
        fmt::format("`{}` did not finish within {:.3g} s and was killed", line(), limit.count()),
        tail_of(output.err));
  }
  if (std::find(accepted.begin(), accepted.end(), output.status) == accepted.end()) {
    throw ExperimentFailure(fmt::format("`{}` exited with status {}", line(), output.status),
                            tail_of(output.err));
  }
  co_return output;
}

Task<nlohmann::json> SiblingCommand::json(std::chrono::duration<double> limit) const {
  const Output output = co_await run(limit);
  try {
    co_return nlohmann::json::parse(output.out);
  } catch (const nlohmann::json::exception& error) {
    throw ExperimentFailure(fmt::format("`{}` printed no JSON: {}", line(), error.what()),
                            tail_of(output.err));
  }
}

std::string SiblingCommand::tail_of(const std::string& text, std::size_t lines) {
  std::size_t at = text.size();
  for (std::size_t seen = 0; at > 0 && seen <= lines;) {
    at = text.rfind('\n', at - 1);
    if (at == std::string::npos) {
      return text;
    }
    ++seen;
  }
  return at == 0 ? text : text.substr(at + 1);
}

std::string SiblingCommand::self_path() {
  std::vector<char> path(4096);
  const ssize_t length = ::readlink("/proc/self/exe", path.data(), path.size() - 1);
  if (length <= 0) {
    throw std::runtime_error(std::string("reading /proc/self/exe: ") + std::strerror(errno));
  }
  return std::string(path.data(), static_cast<std::size_t>(length));
}

}  // namespace pz::programs
