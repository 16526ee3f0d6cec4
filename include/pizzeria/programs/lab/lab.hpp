// pz::programs::Lab: the seeds' claims as measured experiments (threads vs
// processes, I/O-bound waits, thread per client vs reactor, races,
// deadlock). Each experiment runs sibling subcommands of this executable
// with --json where they have it (SiblingCommand) and turns their numbers
// into a section of a LabReport. An experiment that fails is reported as
// failed and the others still run.
//
//   LabReport report = pz::run(Lab(settings).run());
#pragma once

#include <string>

#include "pizzeria/coro/task.hpp"
#include "pizzeria/programs/lab/lab_settings.hpp"
#include "pizzeria/programs/lab_report.hpp"

namespace pz::programs {

class Lab {
 public:
  // `self`: this executable (SiblingCommand::self_path()).
  Lab(LabSettings settings, std::string self);

  Task<LabReport> run() const;

 private:
  LabSettings settings_;
  std::string self_;
};

}  // namespace pz::programs
