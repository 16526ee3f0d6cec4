// The entry point of a ProcessPool worker process.
//
// ProcessPool starts workers by re-executing the program itself
// (/proc/self/exe) with the environment variable PZ_PROCESS_WORKER_FD set (see
// docs/exec.md for why not fork). Every program that creates a ProcessPool
// must therefore begin main() with:
//
//   int main(int argc, char** argv) {
//     if (auto status = pz::run_process_worker_if_requested()) return *status;
//     ...
//   }
//
// In a normal start the variable is absent and the call returns std::nullopt
// at once. In a worker it serves tasks until the pool closes the connection
// and returns the exit status. It must run before the program starts threads
// or touches its arguments, and after static initialisation (which is when
// tasks are registered) — the top of main() is exactly that point.
#pragma once

#include <optional>

namespace pz {

inline constexpr const char* kProcessWorkerFdVariable = "PZ_PROCESS_WORKER_FD";
inline constexpr const char* kProcessWorkerParentVariable = "PZ_PROCESS_WORKER_PARENT";
inline constexpr const char* kProcessWorkerInheritedVariable = "PZ_PROCESS_WORKER_INHERITED";
// A worker's connection to its pool, then ProcessPoolOptions::inherited_fds.
inline constexpr int kProcessWorkerFd = 3;
inline constexpr int kFirstInheritedFd = 4;

std::optional<int> run_process_worker_if_requested();

}  // namespace pz
