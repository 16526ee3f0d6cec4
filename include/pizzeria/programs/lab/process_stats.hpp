// pz::programs::ProcessStats: what the lab reads of a running process in
// /proc: its threads and resident memory (/proc/PID/status), and the CPU
// time it has used (/proc/PID/stat).
#pragma once

#include <sys/types.h>

#include <optional>

namespace pz::programs {

struct ProcessStats {
  long threads = 0;
  long rss_kib = 0;

  // Threads and resident set of `pid`; nullopt once it is gone.
  static std::optional<ProcessStats> sample(pid_t pid);
  // User plus system CPU seconds of `pid`; ExperimentFailure if unreadable.
  static double cpu_seconds(pid_t pid);
};

}  // namespace pz::programs
