// Seeds 000 and 003 across processes: DistributedLocksExperiment (forks as
// Redis locks, leases, fencing) as one section of the lab.
//
// The experiment is library code that runs its own event loops (pz::run)
// and forks its philosophers, so it cannot run on the lab's loop, which is
// already running. The lab forks a child for it instead (the lab has one
// thread, and a forked child starts without a loop: EventLoop::current()),
// and the child sends its finished section back as JSON on a pipe, read
// like a sibling command's output.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "pizzeria/core/system_error.hpp"
#include "pizzeria/core/unique_fd.hpp"
#include "pizzeria/exec/pipe_stream.hpp"
#include "pizzeria/programs/distributed_locks_experiment.hpp"
#include "pizzeria/programs/lab/experiment_failure.hpp"
#include "programs/lab/experiments.hpp"

namespace pz::programs {

// The section's shape on the pipe: every field, so the report shows it as
// the child made it.
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(LabReport::Bar, label, value)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(LabReport::Chart, title, unit, bars)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(LabReport::Experiment, id, title, seed, claim, commands, columns,
                                   rows, charts, verdict, failed, failure, stderr_tail)

namespace lab {

namespace {

// In the child: the whole experiment, its section written to `out`. Never
// returns; _exit so that nothing of the lab copied into the child (its
// loop, its report so far) is destroyed or flushed here.
[[noreturn]] void run_in_child(const DistributedLocksExperiment::Options& options, int out) {
  int status = 0;
  try {
    const std::string json =
        nlohmann::json(DistributedLocksExperiment::run(options).experiment()).dump();
    for (std::size_t written = 0; written < json.size();) {
      const ssize_t n = ::write(out, json.data() + written, json.size() - written);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        status = 3;
        break;
      }
      written += static_cast<std::size_t>(n);
    }
  } catch (const std::exception& error) {
    std::fprintf(stderr, "pizzeria lab: distributed-locks: %s\n", error.what());
    status = 2;
  }
  ::_exit(status);
}

Task<void> measure(DistributedLocksExperiment::Options options, LabReport::Experiment& result) {
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0) {
    throw_errno("pipe for the distributed-locks experiment");
  }
  UniqueFd read_end(ends[0]);
  UniqueFd write_end(ends[1]);
  std::fflush(nullptr);  // nothing buffered is written twice
  const pid_t child = ::fork();
  if (child < 0) {
    throw_errno("fork for the distributed-locks experiment");
  }
  if (child == 0) {
    run_in_child(options, write_end.get());
  }
  write_end.reset();
  PipeStream pipe(std::move(read_end));
  std::string json;
  co_await pipe.read_all(json);
  // The child is at or past its end once its pipe is: this wait is short.
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw ExperimentFailure(
        fmt::format("the distributed-locks child ended with status {:#x} (its errors are on the "
                    "lab's standard error)",
                    status),
        {});
  }
  try {
    result = nlohmann::json::parse(json).get<LabReport::Experiment>();
  } catch (const nlohmann::json::exception& error) {
    throw ExperimentFailure(
        fmt::format("the distributed-locks child's section is not valid: {}", error.what()), {});
  }
}

}  // namespace

Plan distributed_locks_experiment(const Commands& commands) {
  DistributedLocksExperiment::Options options;
  options.quick = commands.settings().quick;
  if (commands.settings().inject_failure == "distributed-locks") {
    // A redis-server that cannot start: the section must say so and fail.
    options.redis_server = "/nonexistent/redis-server";
  }
  // The section's commands and numbers are known only once it ran (its
  // Redis port among them); until then, only its heading.
  LabReport::Experiment planned =
      make_experiment("distributed-locks", "Deadlock and locks across processes",
                      "seed 000, Distributed locking Redis; seed 003, Deadlock", "");
  return {std::move(planned),
          [options](LabReport::Experiment& result) { return measure(options, result); }};
}

}  // namespace lab
}  // namespace pz::programs
