// pz::CancelledError: what an await raises in a task whose stop token was
// stopped (asyncio.CancelledError).
#pragma once

#include <stdexcept>

namespace pz {

class CancelledError : public std::runtime_error {
 public:
  CancelledError()
      : std::runtime_error("operation cancelled: the awaiting task's stop token was stopped") {}
  using std::runtime_error::runtime_error;
};

}  // namespace pz
