#include "pizzeria/programs/lab/lab_server.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <optional>
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

constexpr std::string_view kMarker = "Starting up at: 127.0.0.1:";

}  // namespace

// On the heap: the readers hold references into it while the LabServer
// moves.
struct LabServer::State {
  explicit State(const SiblingCommand& command)
      : line(command.line()), child(LabChildren::spawn(command.argv())) {
    readers.spawn(lab_detail::drain_pipe(child.stdout_pipe(), out, open));
    readers.spawn(lab_detail::drain_pipe(child.stderr_pipe(), err, open));
  }
  ~State() { LabChildren::forget(child.pid()); }

  // Kills what is left of the group, which ends the pipes, and waits for
  // the readers.
  Task<void> finish() {
    child.kill_group();
    co_await readers.join();
  }

  std::string line;
  Subprocess child;
  std::string out;
  std::string err;
  int open = 2;
  int port = 0;
  TaskGroup readers;  // last: its readers use the members above
};

LabServer::LabServer(std::unique_ptr<State> state) noexcept : state_(std::move(state)) {}
LabServer::LabServer(LabServer&&) noexcept = default;
LabServer& LabServer::operator=(LabServer&&) noexcept = default;
LabServer::~LabServer() = default;

int LabServer::port() const noexcept {
  return state_->port;
}
pid_t LabServer::pid() const noexcept {
  return state_->child.pid();
}

Task<LabServer> LabServer::start(const SiblingCommand& serve, std::chrono::duration<double> limit) {
  auto state = std::make_unique<State>(serve);
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(limit);
  while (state->port == 0) {
    for (const std::string* text : {&state->out, &state->err}) {
      const auto at = text->find(kMarker);
      if (at != std::string::npos && text->find('\n', at) != std::string::npos) {
        state->port = std::atoi(text->c_str() + at + kMarker.size());
      }
    }
    if (state->port != 0) {
      break;
    }
    if (state->open == 0 || state->child.returncode() || Clock::now() > deadline) {
      co_await state->finish();
      throw ExperimentFailure(fmt::format("`{}` did not print \"{}PORT\"", state->line, kMarker),
                              SiblingCommand::tail_of(state->err + state->out));
    }
    co_await sleep(milliseconds(10));
  }
  co_return LabServer(std::move(state));
}

Task<void> LabServer::stop(std::chrono::duration<double> limit) {
  State& state = *state_;
  state.child.terminate();
  std::optional<ExitStatus> status =
      co_await state.child.wait_for(std::chrono::duration_cast<Duration>(limit));
  if (!status) {
    co_await state.finish();
    throw ExperimentFailure(
        fmt::format("`{}` did not stop within {:.3g} s of SIGTERM", state.line, limit.count()),
        SiblingCommand::tail_of(state.err));
  }
  const auto drain_until = Clock::now() + std::chrono::seconds(1);
  while (state.open > 0 && Clock::now() < drain_until) {
    co_await sleep(milliseconds(10));
  }
  co_await state.finish();
  if (!status->success()) {
    throw ExperimentFailure(
        fmt::format("`{}` exited with status {}", state.line, status->shell_code()),
        SiblingCommand::tail_of(state.err));
  }
}

}  // namespace pz::programs
