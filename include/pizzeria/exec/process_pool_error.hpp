// Errors a ProcessPool future can hold.
#pragma once

#include <stdexcept>
#include <string>

namespace pz {

// The task ran in a worker and threw; what() is "task 'name' failed: <the
// exception's message>" (the exception object itself cannot cross processes).
class RemoteTaskError : public std::runtime_error {
 public:
  explicit RemoteTaskError(const std::string& what) : std::runtime_error(what) {}
};

// The worker running the task died (a signal such as SIGSEGV or SIGKILL, or
// exit); what() names the worker's pid, the cause and the task.
class WorkerDied : public std::runtime_error {
 public:
  explicit WorkerDied(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace pz
