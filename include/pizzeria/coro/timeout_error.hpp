// pz::TimeoutError: what pz::timeout raises when its deadline passes first
// (asyncio.TimeoutError). Deliberately not a CancelledError: the enclosing
// task was not cancelled and may go on awaiting.
#pragma once

#include <stdexcept>

namespace pz {

class TimeoutError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace pz
