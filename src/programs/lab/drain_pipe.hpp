// The lab's children write to pipes that must be read to their end while
// the lab waits for the child; drain_pipe is that reader, shared by
// SiblingCommand and LabServer (private to the lab).
#pragma once

#include <string>

#include "pizzeria/coro/task.hpp"
#include "pizzeria/exec/pipe_stream.hpp"

namespace pz::programs::lab_detail {

// Appends the pipe's bytes to `into` until end of file; `open` counts the
// pipes not yet at their end, and drops when this one ends or fails.
inline Task<void> drain_pipe(PipeStream& pipe, std::string& into, int& open) {
  struct Closed {
    int& open;
    ~Closed() { --open; }
  } closed{open};
  co_await pipe.read_all(into);
}

}  // namespace pz::programs::lab_detail
