// pz::programs::ExperimentFailure: an experiment of `pizzeria lab` that
// could not produce its numbers. The message is the reason the report
// shows; `stderr_tail` the end of the child's complaint, if any.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>

namespace pz::programs {

struct ExperimentFailure : std::runtime_error {
  ExperimentFailure(const std::string& what, std::string tail)
      : std::runtime_error(what), stderr_tail(std::move(tail)) {}
  std::string stderr_tail;
};

}  // namespace pz::programs
