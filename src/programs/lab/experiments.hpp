// The lab's six experiments, one file each (src/programs/lab/*_experiment.cpp),
// and what they share: how a plan is made and how a sibling command is
// named in the report.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "pizzeria/coro/task.hpp"
#include "pizzeria/programs/lab/lab_settings.hpp"
#include "pizzeria/programs/lab/sibling_command.hpp"
#include "pizzeria/programs/lab_report.hpp"

namespace pz::programs::lab {

// Every child's time limit.
constexpr std::chrono::seconds kLimit{60};

// An experiment's section before it ran (its claim and command lines) and
// the coroutine that measures it into that section.
struct Plan {
  LabReport::Experiment experiment;
  std::function<Task<void>(LabReport::Experiment&)> measure;
};

// Makes the sibling commands of one run.
class Commands {
 public:
  Commands(const LabSettings& settings, std::string self)
      : settings_(settings), self_(std::move(self)) {}

  // `arguments` of a subcommand, with an unknown option appended when
  // --inject-failure names `experiment_id`.
  [[nodiscard]] SiblingCommand make(const std::string& experiment_id,
                                    std::vector<std::string> arguments) const {
    if (settings_.inject_failure == experiment_id) {
      arguments.emplace_back("--lab-injected-failure");
    }
    return SiblingCommand(self_, std::move(arguments));
  }
  [[nodiscard]] const LabSettings& settings() const noexcept { return settings_; }

 private:
  const LabSettings& settings_;
  std::string self_;
};

inline LabReport::Experiment make_experiment(std::string id, std::string title, std::string seed,
                                             std::string claim) {
  LabReport::Experiment experiment;
  experiment.id = std::move(id);
  experiment.title = std::move(title);
  experiment.seed = std::move(seed);
  experiment.claim = std::move(claim);
  return experiment;
}

Plan cpu_bound_experiment(const Commands& commands);
Plan io_bound_experiment(const Commands& commands);
Plan server_experiment(const Commands& commands);
Plan race_experiment(const Commands& commands);
Plan deadlock_experiment(const Commands& commands);
Plan distributed_locks_experiment(const Commands& commands);

}  // namespace pz::programs::lab
