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
// exit); what() names the worker's pid, the cause and the task, and, for a
// task that was retried, every earlier attempt's cause.
class WorkerDied : public std::runtime_error {
 public:
  explicit WorkerDied(const std::string& what) : std::runtime_error(what) {}
};

// The task's worker died under it more often than the pool lets one input
// kill workers (ProcessPoolOptions::quarantine_after): it is not run again.
// what() says "quarantined after killing K workers" and lists every death.
class TaskQuarantined : public WorkerDied {
 public:
  explicit TaskQuarantined(const std::string& what) : WorkerDied(what) {}
};

}  // namespace pz
