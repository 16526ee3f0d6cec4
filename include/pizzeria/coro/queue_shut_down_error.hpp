// pz::QueueShutDownError: a pz::Queue was shut down (Queue::shutdown): a put
// raises it at once, a get once the queue is empty (asyncio.QueueShutDown,
// Python 3.13). It is how consumers learn that no more items will come.
#pragma once

#include <stdexcept>

namespace pz {

class QueueShutDownError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace pz
