// Seed 003's dining philosophers: `deadlock --force` with each strategy.
// `deadlock` prints no JSON, so its lines are read by label here, the one
// experiment that still depends on a sibling's wording.
#include <fmt/format.h>

#include <cmath>
#include <cstdlib>

#include "pizzeria/programs/lab/experiment_failure.hpp"
#include "programs/lab/experiments.hpp"

namespace pz::programs::lab {

namespace {

std::size_t position_of(const std::string& text, const std::string& label, std::size_t from = 0) {
  const auto at = text.find(label, from);
  if (at == std::string::npos) {
    throw ExperimentFailure(
        fmt::format("no \"{}\" in the output:\n{}", label, SiblingCommand::tail_of(text, 8)), {});
  }
  return at;
}

// The number right after `label` in `text` (searching from `from`).
double number_after(const std::string& text, const std::string& label, std::size_t from = 0) {
  const char* start = text.c_str() + position_of(text, label, from) + label.size();
  char* end = nullptr;
  const double value = std::strtod(start, &end);
  if (end == start || !std::isfinite(value)) {
    throw ExperimentFailure(fmt::format("no number after \"{}\" in the output", label), {});
  }
  return value;
}

// Outside the coroutine: GCC 12 rejects some of these initializers in a
// coroutine frame.
void report(const std::vector<SiblingCommand>& runs, const std::vector<std::string>& outputs,
            LabReport::Experiment& result) {
  result.columns = {"strategy", "deadlocks", "meals eaten", "exclusion violations",
                    "first circular wait"};
  result.charts.push_back({"Deadlocks caught", "", {}});
  std::vector<double> deadlocks;
  double violations = 0;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const std::string& out = outputs[i];
    const std::string& strategy = runs[i].argv()[4];
    const double count = number_after(out, "deadlocks: ");
    const double eaten = number_after(out, "meals eaten: ");
    const double of = number_after(out, " of ", position_of(out, "meals eaten: "));
    const double violated = number_after(out, "mutual exclusion violations: ");
    violations += violated;
    std::string cycle = "none";
    const std::string marker = "first deadlock, as a circular wait: ";
    if (const auto at = out.find(marker); at != std::string::npos) {
      const auto start = at + marker.size();
      cycle = out.substr(start, out.find('\n', start) - start);
    }
    result.rows.push_back({strategy, fmt::format("{:.0f}", count),
                           fmt::format("{:.0f} of {:.0f}", eaten, of),
                           fmt::format("{:.0f}", violated), cycle});
    result.charts[0].bars.push_back({strategy, count});
    deadlocks.push_back(count);
  }
  const bool holds = deadlocks[0] > 0 && deadlocks[1] == 0 && deadlocks[2] == 0 && violations == 0;
  result.verdict = fmt::format(
      "left-then-right deadlocked {:.0f} {} (all four conditions, cycle shown); "
      "ordered {:.0f}, both-at-once {:.0f}: {}",
      deadlocks[0], deadlocks[0] == 1 ? "time" : "times", deadlocks[1], deadlocks[2],
      holds ? "removing one Coffman condition prevents deadlock"
            : "unexpected: the claim did not hold here");
}

Task<void> measure(std::vector<SiblingCommand> runs, LabReport::Experiment& result) {
  std::vector<std::string> outputs;
  for (const SiblingCommand& run : runs) {
    outputs.push_back((co_await run.run(kLimit)).out);
  }
  report(runs, outputs, result);
}

}  // namespace

Plan deadlock_experiment(const Commands& commands) {
  auto experiment = make_experiment(
      "deadlock", "Deadlock: dining philosophers and the Coffman conditions", "seed 003, Deadlock",
      "Deadlock occurs when the Coffman conditions hold: mutual exclusion, hold and "
      "wait, no preemption and circular wait. Removing any one of them (ordered "
      "forks: no circular wait; both forks at once: no hold and wait) prevents it.");
  const std::string meals = commands.settings().quick ? "100" : "2000";
  std::vector<SiblingCommand> runs;
  for (const char* strategy : {"left-then-right", "ordered", "both-at-once"}) {
    runs.push_back(commands.make(
        "deadlock", {"deadlock", "--force", "--strategy", strategy, "--meals", meals}));
    experiment.commands.push_back(runs.back().line());
  }
  return {std::move(experiment),
          [runs](LabReport::Experiment& result) { return measure(runs, result); }};
}

}  // namespace pz::programs::lab
