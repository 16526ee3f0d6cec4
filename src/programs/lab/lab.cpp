#include "pizzeria/programs/lab/lab.hpp"

#include <cstdio>
#include <exception>
#include <utility>

#include "pizzeria/programs/lab/experiment_failure.hpp"
#include "programs/lab/experiments.hpp"

namespace pz::programs {

Lab::Lab(LabSettings settings, std::string self)
    : settings_(std::move(settings)), self_(std::move(self)) {}

Task<LabReport> Lab::run() const {
  const lab::Commands commands(settings_, self_);
  LabReport report("pizzeria lab: the seeds' claims, measured");
  for (auto plan_of :
       {&lab::cpu_bound_experiment, &lab::io_bound_experiment, &lab::server_experiment,
        &lab::race_experiment, &lab::deadlock_experiment, &lab::distributed_locks_experiment}) {
    lab::Plan plan = plan_of(commands);
    if (!settings_.only.empty() && settings_.only != plan.experiment.id) {
      continue;
    }
    LabReport::Experiment experiment = std::move(plan.experiment);
    std::fprintf(stderr, "lab: %s...\n", experiment.title.c_str());
    try {
      co_await plan.measure(experiment);
    } catch (const ExperimentFailure& failure) {
      experiment.failed = true;
      experiment.failure = failure.what();
      experiment.stderr_tail = failure.stderr_tail;
    } catch (const std::exception& error) {
      experiment.failed = true;
      experiment.failure = error.what();
    }
    report.add(std::move(experiment));
  }
  co_return report;
}

}  // namespace pz::programs
