// The processes whose parent is a given pid, read from /proc/PID/stat: for
// tests that find a program's workers or children to kill or count.
#pragma once

#include <sys/types.h>

#include <vector>

namespace pz::test {

[[nodiscard]] std::vector<pid_t> children_of(pid_t parent);

// The state letter of /proc/PID/stat ('R' running or runnable, 'S'
// sleeping, ...), or 0 when the process is gone.
[[nodiscard]] char process_state(pid_t pid);

}  // namespace pz::test
