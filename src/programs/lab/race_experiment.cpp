// Seed 003's race condition: `race` running freely and in lockstep.
#include <fmt/format.h>

#include <utility>

#include "programs/lab/experiments.hpp"

namespace pz::programs::lab {

namespace {

struct Counts {
  double expected = 0;
  double lost = 0;
};

Counts counts_of(const nlohmann::json& out, const char* update) {
  const nlohmann::json& counts = out.at("updates").at(update);
  return {counts.at("expected").get<double>(), counts.at("lost").get<double>()};
}

void report(const nlohmann::json& a, const nlohmann::json& b, LabReport::Experiment& result) {
  // The JSON name of each update, its label in the table, and in the chart
  // (short: the chart's label column is narrow).
  const struct {
    const char* key;
    const char* label;
    const char* shown;
  } updates[] = {{"read_then_write", "read, then write", "read, write"},
                 {"atomic_add", "atomic fetch_add", "fetch_add"},
                 {"mutex", "under a mutex", "mutex"}};
  result.columns = {"run", "update", "expected", "lost", "lost %"};
  result.charts.push_back({"Updates lost, in percent", "%", {}});
  for (const auto& [name, out] : {std::pair{"free-running", &a}, {"lockstep", &b}}) {
    for (const auto& update : updates) {
      const Counts counts = counts_of(*out, update.key);
      const double percent = 100.0 * counts.lost / counts.expected;
      result.rows.push_back({name, update.label, fmt::format("{:.0f}", counts.expected),
                             fmt::format("{:.0f}", counts.lost), LabReport::number(percent)});
      result.charts[0].bars.push_back(
          {fmt::format("{} {}", out == &b ? "lockstep" : "free", update.shown), percent});
    }
  }
  const Counts free_racy = counts_of(a, "read_then_write");
  const Counts step_racy = counts_of(b, "read_then_write");
  const double safe_lost = counts_of(a, "atomic_add").lost + counts_of(a, "mutex").lost +
                           counts_of(b, "atomic_add").lost + counts_of(b, "mutex").lost;
  result.verdict = fmt::format(
      "read-then-write lost {:.0f} of {:.0f} updates running freely and {:.1f}% in "
      "lockstep; fetch_add and the mutex lost {:.0f}: {}",
      free_racy.lost, free_racy.expected, 100.0 * step_racy.lost / step_racy.expected, safe_lost,
      step_racy.lost > 0 && safe_lost == 0 ? "the race loses updates, synchronisation keeps them"
                                           : "unexpected: the claim did not hold here");
}

Task<void> measure(SiblingCommand free, SiblingCommand lockstep, LabReport::Experiment& result) {
  const nlohmann::json a = co_await free.json(kLimit);
  const nlohmann::json b = co_await lockstep.json(kLimit);
  report(a, b, result);
}

}  // namespace

Plan race_experiment(const Commands& commands) {
  auto experiment = make_experiment(
      "race", "Race condition: lost updates of a shared counter",
      "seed 003, Race condition; seed 002, section 0.3.1",
      "Race conditions arise when two threads reference the same object at the same "
      "time: a read, then a write, lets one thread overwrite another's update. "
      "Synchronisation (a lock) prevents it.");
  const bool quick = commands.settings().quick;
  SiblingCommand free = commands.make(
      "race", {"race", "--threads", "2", "--increments", quick ? "100000" : "1000000", "--json"});
  SiblingCommand lockstep = commands.make(
      "race",
      {"race", "--lockstep", "--threads", "2", "--increments", quick ? "1000" : "10000", "--json"});
  experiment.commands = {free.line(), lockstep.line()};
  return {std::move(experiment), [free, lockstep](LabReport::Experiment& result) {
            return measure(free, lockstep, result);
          }};
}

}  // namespace pz::programs::lab
