#include "pizzeria/programs/lab/lab_children.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

extern char** environ;

namespace pz::programs {

namespace {

// The process groups of the running children (a server and its load
// generator at most). Relaxed atomics suffice: the lab is single-threaded,
// the handler runs on that same thread, and lock-free atomics are safe to
// read in a handler.
std::array<std::atomic<pid_t>, 4> running_groups{};

void track(pid_t group, bool running) noexcept {
  for (auto& slot : running_groups) {
    pid_t expected = running ? 0 : group;
    if (slot.compare_exchange_strong(expected, running ? group : 0, std::memory_order_relaxed)) {
      return;
    }
  }
}

extern "C" void stop_children_and_exit(int number) {
  for (auto& slot : running_groups) {
    if (const pid_t group = slot.load(std::memory_order_relaxed); group > 0) {
      ::kill(-group, SIGKILL);
    }
  }
  ::signal(number, SIG_DFL);
  ::raise(number);
}

// This process's environment without any inherited PZ_LAB_PARENT, plus one
// naming this process.
std::vector<std::string> child_environment() {
  const std::string prefix = std::string(LabChildren::kParentVariable) + "=";
  std::vector<std::string> environment;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    if (std::string_view(*entry).rfind(prefix, 0) != 0) {
      environment.emplace_back(*entry);
    }
  }
  environment.push_back(prefix + std::to_string(::getpid()));
  return environment;
}

}  // namespace

Subprocess LabChildren::spawn(const std::vector<std::string>& argv) {
  Subprocess::Options options;
  options.stdin_mode = Subprocess::Stdio::null;
  options.stdout_mode = Subprocess::Stdio::pipe;
  options.stderr_mode = Subprocess::Stdio::pipe;
  options.new_process_group = true;
  // A shell starting the lab in the background may have set SIGINT and
  // SIGTERM to ignored, which exec keeps: the servers must still stop.
  options.default_signals = {SIGINT, SIGTERM};
  options.environment = child_environment();
  Subprocess child = Subprocess::spawn(argv, options);
  track(child.pid(), true);
  return child;
}

void LabChildren::forget(pid_t group) noexcept {
  track(group, false);
}

void LabChildren::stop_children_on_signals() {
  struct sigaction action {};
  action.sa_handler = stop_children_and_exit;
  sigemptyset(&action.sa_mask);
  for (const int number : {SIGINT, SIGTERM, SIGHUP}) {
    struct sigaction previous {};
    if (::sigaction(number, nullptr, &previous) == 0 && previous.sa_handler != SIG_IGN) {
      ::sigaction(number, &action, nullptr);
    }
  }
}

// Why the child asks, and not the lab: posix_spawn runs no code of ours
// between fork and exec, so the request is made at the top of the child's
// main, the first code of ours it runs. Alternatives weighed: fork, prctl and
// exec by hand would lose posix_spawn's file actions and its vfork-style
// start; a wrapper argument would change the command lines the report shows;
// a subreaper or a watchdog process cannot act once it is itself killed; a
// cgroup needs a delegated hierarchy. The death signal follows the *thread*
// that spawned the child: the lab is single-threaded and spawns from its main
// thread, which lives as long as the lab. The variable is removed, so the
// child's own children (a ProcessPool's workers, which arm their own death
// signal) never compare their parent with the lab.
std::optional<int> LabChildren::die_with_lab_if_requested() {
  const char* text = std::getenv(kParentVariable);
  if (text == nullptr) {
    return std::nullopt;
  }
  const std::string value(text);
  ::unsetenv(kParentVariable);
  char* end = nullptr;
  errno = 0;
  const long lab = std::strtol(value.c_str(), &end, 10);
  if (end == value.c_str() || *end != '\0' || errno != 0 || lab <= 0 || lab > INT_MAX) {
    std::fprintf(stderr,
                 "pizzeria: %s=%s is not a process id (the variable names the `pizzeria lab` "
                 "that started this process)\n",
                 kParentVariable, value.c_str());
    return 2;
  }
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) {
    std::fprintf(stderr, "pizzeria: asking to die with the lab (prctl PR_SET_PDEATHSIG): %s\n",
                 std::strerror(errno));
    return 1;
  }
  if (::getppid() != static_cast<pid_t>(lab)) {
    // The lab died before the request: end as its death signal would have
    // ended this process. Its pipes may have no reader left; the message is
    // best effort and must not turn into a SIGPIPE death instead.
    ::signal(SIGPIPE, SIG_IGN);
    std::fprintf(stderr,
                 "pizzeria: the lab that started this process (pid %ld) has exited; stopping\n",
                 lab);
    ::raise(SIGKILL);
  }
  return std::nullopt;
}

}  // namespace pz::programs
