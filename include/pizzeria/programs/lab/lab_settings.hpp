// pz::programs::LabSettings: what a `pizzeria lab` run measures, from its
// options (the command's --help says each).
#pragma once

#include <string>

namespace pz::programs {

struct LabSettings {
  bool quick = false;          // small runs: the whole lab in a few seconds
  unsigned connections = 0;    // the server experiment's; 0: 1000, or 100 when quick
  std::string inject_failure;  // an experiment id whose child gets an unknown option
  std::string only;            // run just the experiment with this id
};

}  // namespace pz::programs
