#include "pizzeria/programs/lab/process_stats.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

#include "pizzeria/programs/lab/experiment_failure.hpp"

namespace pz::programs {

std::optional<ProcessStats> ProcessStats::sample(pid_t pid) {
  std::ifstream status(fmt::format("/proc/{}/status", pid));
  if (!status) {
    return std::nullopt;
  }
  ProcessStats sample;
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Threads:", 0) == 0) {
      sample.threads = std::atol(line.c_str() + 8);
    } else if (line.rfind("VmRSS:", 0) == 0) {
      sample.rss_kib = std::atol(line.c_str() + 6);
    }
  }
  return sample;
}

double ProcessStats::cpu_seconds(pid_t pid) {
  std::ifstream stat(fmt::format("/proc/{}/stat", pid));
  const std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  // The command name in parentheses may contain spaces: count fields after
  // its closing parenthesis (utime and stime are fields 14 and 15).
  const auto close = text.rfind(')');
  if (close == std::string::npos) {
    throw ExperimentFailure(fmt::format("/proc/{}/stat could not be read", pid), {});
  }
  std::istringstream fields(text.substr(close + 1));
  std::string field;
  double ticks = 0;
  for (int index = 3; fields >> field && index <= 15; ++index) {
    if (index >= 14) {
      ticks += std::atof(field.c_str());
    }
  }
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

}  // namespace pz::programs
