// pz::programs::LabChildren: how the lab starts its children, and how they
// end with it.
//
// Each experiment runs another subcommand of the same executable as a child
// in a process group of its own (pz::Subprocess), so a timeout kills it with
// the worker processes it started. Two more rules make sure no child
// outlives the lab:
// - a lab stopped by SIGINT, SIGTERM or SIGHUP kills the groups of its
//   running children before it dies (they are in groups of their own, so a
//   terminal's Ctrl-C would not reach them): stop_children_on_signals();
// - a lab killed by SIGKILL runs no handler, so each child asks the kernel
//   for a SIGKILL at the lab's death itself: the environment names the lab
//   (PZ_LAB_PARENT) and the child calls die_with_lab_if_requested() first
//   thing in main.
//
// Thread safety: the lab is single-threaded; the signal handler reads the
// group table with relaxed lock-free atomics, which a handler may.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "pizzeria/exec/subprocess.hpp"

namespace pz::programs {

class LabChildren {
 public:
  // The variable naming the lab's pid in each child's environment.
  static constexpr const char* kParentVariable = "PZ_LAB_PARENT";

  // Starts `argv` with stdin on /dev/null, stdout and stderr on pipes, in a
  // group of its own, SIGINT and SIGTERM at their defaults, dying with the
  // lab. Tracked for stop_children_on_signals() until `forget`.
  static Subprocess spawn(const std::vector<std::string>& argv);
  // The child's group is gone (killed or reaped): no longer tracked.
  static void forget(pid_t group) noexcept;

  // Installs the handler for SIGINT, SIGTERM and SIGHUP (each unless
  // ignored: nohup stays nohup).
  static void stop_children_on_signals();

  // In a child (PZ_LAB_PARENT set): arms PR_SET_PDEATHSIG(SIGKILL), then
  // checks that the lab is still its parent. An exit status when the
  // process must not go on (a malformed variable: 2).
  static std::optional<int> die_with_lab_if_requested();
};

}  // namespace pz::programs
