#include "pizzeria/programs/distributed_locks_experiment.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>
#include <utility>

#include "pizzeria/core/unique_fd.hpp"

namespace pz::programs {

namespace {

using Strategy = DistributedPhilosophers::Strategy;

// A redis-server of the experiment's own on a free loopback port, with
// nothing on disk; killed when done.
class PrivateRedis {
 public:
  explicit PrivateRedis(const std::string& program) {
    if (::access(program.c_str(), X_OK) != 0) {
      throw std::runtime_error(program +
                               " not found (Debian redis-server, scripts/install-deps.sh)");
    }
    for (int attempt = 0; attempt < 3 && pid_ < 0; ++attempt) {
      port_ = free_port();
      start(program);
    }
    if (pid_ < 0) {
      throw std::runtime_error("redis-server did not start on a free loopback port");
    }
  }
  PrivateRedis(const PrivateRedis&) = delete;
  PrivateRedis& operator=(const PrivateRedis&) = delete;
  ~PrivateRedis() { stop(); }

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }

 private:
  static std::uint16_t free_port() {
    const UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (!fd || ::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      throw std::runtime_error(std::string("finding a free port for Redis: ") +
                               std::strerror(errno));
    }
    return ntohs(address.sin_port);
  }

  static bool accepts(std::uint16_t port) {
    const UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port);
    return fd && ::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  }

  void start(const std::string& program) {
    const std::string port = std::to_string(port_);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
      throw std::runtime_error(std::string("forking redis-server: ") + std::strerror(errno));
    }
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) {
        ::_exit(127);
      }
      const int null = ::open("/dev/null", O_WRONLY);
      ::dup2(null, STDOUT_FILENO);
      ::dup2(null, STDERR_FILENO);
      ::execl(program.c_str(), program.c_str(), "--port", port.c_str(), "--bind", "127.0.0.1",
              "--save", "", "--appendonly", "no", "--protected-mode", "no", "--dir", "/tmp",
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    // Up to 10 s for it to listen: a loaded machine starts it slowly.
    for (int i = 0; i < 1000; ++i) {
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        return;  // it exited: the port was taken, try another
      }
      if (accepts(port_)) {
        pid_ = pid;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }

  void stop() noexcept {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }

  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

const DistributedLocksExperiment::Run* find(
    const std::vector<DistributedLocksExperiment::Run>& runs, const std::string& name) {
  for (const auto& run : runs) {
    if (run.name == name) {
      return &run;
    }
  }
  return nullptr;
}

const DistributedPhilosophers::Result* result_of(
    const std::vector<DistributedLocksExperiment::Run>& runs, const std::string& name) {
  const auto* run = find(runs, name);
  return run != nullptr && run->result ? &*run->result : nullptr;
}

// "holds", "does not hold" or "inconclusive" for one claim.
enum class Finding { holds, fails, inconclusive };

std::string word(Finding finding) {
  switch (finding) {
    case Finding::holds:
      return "holds";
    case Finding::fails:
      return "does not hold";
    case Finding::inconclusive:
      return "inconclusive";
  }
  return "?";
}

}  // namespace

std::vector<DistributedLocksExperiment::Run> DistributedLocksExperiment::plan(
    const Options& options) {
  DistributedPhilosophers::Options base;
  base.host = options.host;
  base.port = options.port;
  base.credentials = options.credentials;
  base.processes = options.processes;
  base.meals = options.quick ? 5 : 20;
  base.time_limit = std::chrono::milliseconds(60'000);
  const auto with = [&](std::string name, Strategy strategy, bool force,
                        std::chrono::milliseconds lease, bool stall, bool fencing) {
    DistributedPhilosophers::Options o = base;
    o.strategy = strategy;
    o.force_first_meal = force;
    o.lease = lease;
    o.stall = stall;
    o.fencing = fencing;
    return Run{std::move(name), std::move(o), std::nullopt, {}};
  };
  using std::chrono::milliseconds;
  return {with("no-lease", Strategy::left_then_right, true, milliseconds(0), false, false),
          with("ordered", Strategy::ordered, true, milliseconds(0), false, false),
          with("both-at-once", Strategy::both_at_once, true, milliseconds(0), false, false),
          with("lease", Strategy::left_then_right, true, options.lease, false, false),
          with("stall", Strategy::left_then_right, false, options.lease, true, false),
          with("stall-fencing", Strategy::left_then_right, false, options.lease, true, true)};
}

DistributedLocksExperiment DistributedLocksExperiment::run(const Options& options) {
  DistributedLocksExperiment experiment;
  std::optional<PrivateRedis> redis;
  Options where = options;
  try {
    if (where.host.empty()) {
      redis.emplace(options.redis_server);
      where.host = "127.0.0.1";
      where.port = redis->port();
    }
  } catch (const std::exception& error) {
    experiment.failure = error.what();
    experiment.verdict = "inconclusive: no Redis to run on (" + experiment.failure + ")";
    return experiment;
  }
  experiment.runs = plan(where);
  for (Run& run : experiment.runs) {
    try {
      run.result = DistributedPhilosophers(run.options).run();
    } catch (const std::exception& error) {
      run.failure = error.what();
    }
  }
  experiment.verdict = judge(experiment.runs);
  return experiment;
}

std::string DistributedLocksExperiment::judge(const std::vector<Run>& runs) {
  const auto* no_lease = result_of(runs, "no-lease");
  const auto* ordered = result_of(runs, "ordered");
  const auto* both = result_of(runs, "both-at-once");
  const auto* lease = result_of(runs, "lease");
  const auto* stall = result_of(runs, "stall");
  const auto* fenced = result_of(runs, "stall-fencing");

  // 1. Without preemption, the four conditions deadlock; removing circular
  //    wait or hold and wait prevents it.
  Finding coffman = Finding::inconclusive;
  if (no_lease != nullptr && ordered != nullptr && both != nullptr) {
    const bool cures = ordered->completed && both->completed && !ordered->cycle && !both->cycle;
    if (no_lease->deadlocked && cures) {
      coffman = Finding::holds;
    } else if (!no_lease->timed_out && !ordered->timed_out && !both->timed_out) {
      coffman = Finding::fails;
    }
  }
  // 2. A lease (preemption) ends the deadlock.
  Finding preemption = Finding::inconclusive;
  if (lease != nullptr) {
    if (lease->completed && !lease->deadlocked) {
      preemption = Finding::holds;
    } else if (!lease->timed_out) {
      preemption = Finding::fails;
    }
  }
  // 3. A lease without fencing lets a stalled holder's late write in;
  //    fencing refuses it. Only a stall that happened can show it.
  Finding fencing = Finding::inconclusive;
  if (stall != nullptr && fenced != nullptr && stall->stalled && fenced->stalled) {
    if (stall->stale_accepted > 0 && fenced->stale_accepted == 0 && fenced->stale_refused > 0) {
      fencing = Finding::holds;
    } else if (fenced->stale_accepted > 0) {
      fencing = Finding::fails;
    }
  }

  std::string text;
  if (no_lease != nullptr) {
    text += no_lease->cycle ? fmt::format("no lease: {} ({})",
                                          no_lease->deadlocked ? "deadlock" : "a circular wait",
                                          ResourceTable::notation(*no_lease->cycle))
                            : std::string("no lease: no circular wait seen");
  } else {
    text += "no lease: the run failed";
  }
  if (ordered != nullptr && both != nullptr) {
    text += fmt::format("; ordered {} of {} meals, both-at-once {} of {}", ordered->meals_eaten,
                        ordered->meals_expected, both->meals_eaten, both->meals_expected);
  }
  text += fmt::format(": Coffman conditions {}", word(coffman));
  if (lease != nullptr) {
    text += fmt::format(". With leases: {} circular wait(s) broken, {} of {} meals",
                        lease->circular_waits_seen, lease->meals_eaten, lease->meals_expected);
  }
  text += fmt::format(": preemption ends deadlock {}", word(preemption));
  if (stall != nullptr && fenced != nullptr) {
    text += fmt::format(
        ". Stalled holder: {} stale write(s) accepted without fencing; with fencing {} accepted, "
        "{} refused",
        stall->stale_accepted, fenced->stale_accepted, fenced->stale_refused);
  }
  text += fmt::format(": fencing needed and sufficient {}", word(fencing));
  return text;
}

LabReport::Experiment DistributedLocksExperiment::experiment() const {
  LabReport::Experiment section;
  section.id = "distributed-locks";
  section.title = "Deadlock and locks across processes";
  section.seed = "seed 000, Distributed locking Redis; seed 003, Deadlock";
  section.claim =
      "Across processes, forks as Redis locks deadlock under the four Coffman conditions; "
      "ordered forks or taking both at once prevent it; a lease (preemption) ends it, but a "
      "holder paused past its lease then writes late, which only a fencing token lets the "
      "resource refuse.";
  for (const Run& run : runs) {
    const auto& o = run.options;
    std::string line = fmt::format(
        "pizzeria deadlock --redis {}:{} --processes {} --meals {} --strategy {}{}{}{}{}", o.host,
        o.port, o.processes, o.meals,
        o.strategy == Strategy::ordered        ? "ordered"
        : o.strategy == Strategy::both_at_once ? "both-at-once"
                                               : "left-then-right",
        o.force_first_meal ? " --force" : "",
        o.lease.count() > 0 ? fmt::format(" --lease {}", o.lease.count()) : std::string(),
        o.stall ? " --stall" : "", o.fencing ? " --fencing" : "");
    section.commands.push_back(std::move(line));
  }
  section.columns = {"run",     "outcome",        "circular wait", "meals eaten",
                     "meals/s", "stale accepted", "stale refused"};
  LabReport::Chart speed{"Meals per second", "", {}};
  LabReport::Chart stale{"Stale writes accepted", "", {}};
  for (const Run& run : runs) {
    if (!run.result) {
      section.rows.push_back({run.name, "failed: " + run.failure, "", "", "", "", ""});
      continue;
    }
    const auto& r = *run.result;
    const std::string outcome = r.deadlocked ? "deadlock" : r.timed_out ? "time limit" : "finished";
    section.rows.push_back({run.name, outcome,
                            r.cycle ? ResourceTable::notation(*r.cycle) : std::string("none"),
                            fmt::format("{} of {}", r.meals_eaten, r.meals_expected),
                            LabReport::number(r.meals_per_second()),
                            std::to_string(r.stale_accepted), std::to_string(r.stale_refused)});
    if (!r.deadlocked) {
      speed.bars.push_back({run.name, r.meals_per_second()});
    }
    if (run.options.stall) {
      stale.bars.push_back({run.name, static_cast<double>(r.stale_accepted)});
    }
  }
  section.charts = {speed, stale};
  section.verdict = verdict;
  if (!failure.empty()) {
    section.failed = true;
    section.failure = failure;
  }
  return section;
}

}  // namespace pz::programs
