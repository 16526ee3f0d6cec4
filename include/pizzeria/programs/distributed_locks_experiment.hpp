// The lab's experiment "Deadlock and locks across processes": the
// distributed dining philosophers (DistributedPhilosophers) run six ways on
// one Redis, and a verdict computed from the numbers.
//
//   DistributedLocksExperiment lab = DistributedLocksExperiment::run({.quick = true});
//   LabReport::Experiment section = lab.experiment();   // table, chart, verdict
//
// The runs, each forced into the dangerous interleaving where it can be:
//   no-lease         left-then-right, no lease: a circular wait forms and lasts
//   ordered          ordered forks, no lease: no circular wait, every meal eaten
//   both-at-once     both forks together, no lease: no hold and wait
//   lease            left-then-right with leases: the circular wait is broken
//   stall            a holder paused past its lease, no fencing: a stale write
//                    is accepted
//   stall-fencing    the same with fencing: the stale write is refused
// Each claim is "holds" only when its runs show it, "inconclusive" when a run
// failed or did not show it (a stall that did not happen, say), and "does not
// hold" when the numbers contradict it.
//
// Without a Redis address, run() starts a private redis-server (Debian
// redis-server) on a free loopback port and stops it afterwards.
//
// Thread safety: run() forks (see DistributedPhilosophers); call it from a
// process with one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pizzeria/net/redis_credentials.hpp"
#include "pizzeria/programs/distributed_philosophers.hpp"
#include "pizzeria/programs/lab_report.hpp"

namespace pz::programs {

struct DistributedLocksExperiment {
  struct Options {
    std::string host;  // empty: start a private redis-server
    std::uint16_t port = 0;
    RedisCredentials credentials;
    bool quick = false;  // fewer meals
    unsigned processes = 5;
    std::chrono::milliseconds lease{200};
    std::string redis_server = "/usr/bin/redis-server";
  };

  struct Run {
    std::string name;
    DistributedPhilosophers::Options options;
    std::optional<DistributedPhilosophers::Result> result;  // none: it failed
    std::string failure;
  };

  std::vector<Run> runs;
  std::string failure;  // no Redis at all: nothing ran
  std::string verdict;

  // The six runs' options for `options` (host and port as given).
  [[nodiscard]] static std::vector<Run> plan(const Options& options);
  [[nodiscard]] static DistributedLocksExperiment run(const Options& options);
  // The verdict from the runs' numbers alone (a function of them, so it can
  // be tested without Redis).
  [[nodiscard]] static std::string judge(const std::vector<Run>& runs);
  // The lab report's section: the runs as a table, meals per second and
  // stale writes as charts, the verdict.
  [[nodiscard]] LabReport::Experiment experiment() const;
};

}  // namespace pz::programs
