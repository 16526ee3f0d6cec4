#include "support/children_of.hpp"

#include <dirent.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

namespace pz::test {

namespace {

// State and parent pid from /proc/PID/stat; false when the process is gone.
bool read_stat(pid_t pid, char& state, long& ppid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
  const std::string stat{std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
  // The command name in parentheses may hold spaces: the state and the
  // parent's pid follow its closing parenthesis.
  const auto close = stat.rfind(')');
  return close != std::string::npos &&
         std::sscanf(stat.c_str() + close + 1, " %c %ld", &state, &ppid) == 2;
}

}  // namespace

char process_state(pid_t pid) {
  char state = 0;
  long ppid = 0;
  return read_stat(pid, state, ppid) ? state : 0;
}

std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> children;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) {
    return children;
  }
  while (const dirent* entry = ::readdir(proc)) {
    const pid_t pid = static_cast<pid_t>(std::atol(entry->d_name));
    if (pid <= 0) {
      continue;
    }
    char state = 0;
    long ppid = 0;
    if (read_stat(pid, state, ppid) && ppid == parent) {
      children.push_back(pid);
    }
  }
  ::closedir(proc);
  return children;
}

}  // namespace pz::test
