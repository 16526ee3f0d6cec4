// Errors a pz::Future can hold that do not come from the task itself.
//
// Thread safety: plain exception types.
#pragma once

#include <stdexcept>
#include <string>

namespace pz {

// The Promise (or the task that owned it) was destroyed without producing a
// value or an exception, so nobody will ever complete the future.
class BrokenPromise : public std::runtime_error {
 public:
  BrokenPromise()
      : std::runtime_error(
            "broken promise: the pz::Promise was destroyed before it set a value or an "
            "exception") {}
};

// The task was removed from its executor's queue before it started
// (ThreadPool::shutdown(..., cancel_pending=true), ProcessPool shutdown).
class TaskCancelled : public std::runtime_error {
 public:
  explicit TaskCancelled(const std::string& why) : std::runtime_error("task cancelled: " + why) {}
};

}  // namespace pz
