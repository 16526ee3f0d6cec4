#include "pizzeria/exec/subprocess.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <stdexcept>
#include <system_error>
#include <utility>

#include "exec/fd_ready.hpp"
#include "pizzeria/coro/sleep.hpp"
#include "pizzeria/coro/timeout.hpp"

extern char** environ;

namespace pz {

namespace {

// The pair (ours, the child's), both close-on-exec: the child's end reaches
// the child through posix_spawn's dup2, which clears the flag on the copy.
struct PipePair {
  UniqueFd ours;
  UniqueFd theirs;
};

PipePair make_pipe(bool child_reads, const std::string& program) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    throw std::system_error(errno, std::generic_category(), "pipe2 for " + program);
  }
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);
  if (child_reads) {
    return {std::move(write_end), std::move(read_end)};
  }
  return {std::move(read_end), std::move(write_end)};
}

// pidfd_open(2) by number: glibc has no wrapper before 2.36. Invalid when
// the kernel has none (ENOSYS) or a seccomp profile refuses it (EPERM):
// wait() then polls.
UniqueFd open_pidfd(pid_t pid) {
#ifdef SYS_pidfd_open
  return UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
#else
  (void)pid;
  return UniqueFd();
#endif
}

// posix_spawn's two argument blocks, destroyed however spawn() leaves.
struct SpawnAttributes {
  SpawnAttributes() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attributes);
  }
  SpawnAttributes(const SpawnAttributes&) = delete;
  SpawnAttributes& operator=(const SpawnAttributes&) = delete;
  ~SpawnAttributes() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
  }
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attributes;
};

std::vector<char*> pointers_to(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  pointers.reserve(strings.size() + 1);
  for (std::string& text : strings) {
    pointers.push_back(text.data());
  }
  pointers.push_back(nullptr);
  return pointers;
}

}  // namespace

Subprocess Subprocess::spawn(std::vector<std::string> argv, const Options& options) {
  if (argv.empty()) {
    throw std::invalid_argument("pz::Subprocess::spawn: no program to run");
  }
  const std::string& program = argv[0];
  Subprocess child;
  SpawnAttributes spawn;
  // The child's ends stay open until posix_spawn has duplicated them.
  UniqueFd child_ends[3];
  const Stdio modes[3] = {options.stdin_mode, options.stdout_mode, options.stderr_mode};
  PipeStream* ours[3] = {&child.stdin_, &child.stdout_, &child.stderr_};
  for (int fd = 0; fd < 3; ++fd) {
    if (modes[fd] == Stdio::pipe) {
      PipePair pair = make_pipe(fd == 0, program);
      *ours[fd] = PipeStream(std::move(pair.ours));
      child_ends[fd] = std::move(pair.theirs);
      posix_spawn_file_actions_adddup2(&spawn.actions, child_ends[fd].get(), fd);
      child.piped_[fd] = true;
    } else if (modes[fd] == Stdio::null) {
      posix_spawn_file_actions_addopen(&spawn.actions, fd, "/dev/null",
                                       fd == 0 ? O_RDONLY : O_WRONLY, 0);
    }
  }
  short flags = 0;
  if (!options.default_signals.empty()) {
    sigset_t defaults;
    sigemptyset(&defaults);
    for (const int number : options.default_signals) {
      sigaddset(&defaults, number);
    }
    posix_spawnattr_setsigdefault(&spawn.attributes, &defaults);
    flags |= POSIX_SPAWN_SETSIGDEF;
  }
  if (options.new_process_group) {
    posix_spawnattr_setpgroup(&spawn.attributes, 0);
    flags |= POSIX_SPAWN_SETPGROUP;
  }
  posix_spawnattr_setflags(&spawn.attributes, flags);
  std::vector<char*> arguments = pointers_to(argv);
  std::vector<std::string> environment;
  std::vector<char*> environment_pointers;
  if (options.environment) {
    environment = *options.environment;
    environment_pointers = pointers_to(environment);
  }
  char** child_environment = options.environment ? environment_pointers.data() : environ;
  pid_t pid = -1;
  const int error = ::posix_spawn(&pid, program.c_str(), &spawn.actions, &spawn.attributes,
                                  arguments.data(), child_environment);
  if (error != 0) {
    throw std::system_error(error, std::generic_category(), "starting " + program);
  }
  child.pid_ = pid;
  child.own_group_ = options.new_process_group;
  if (!options.poll_for_exit) {
    child.pidfd_ = open_pidfd(pid);
  }
  return child;
}

Subprocess::Subprocess(Subprocess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      pidfd_(std::move(other.pidfd_)),
      own_group_(other.own_group_),
      waiting_(other.waiting_),
      status_(other.status_),
      stdin_(std::move(other.stdin_)),
      stdout_(std::move(other.stdout_)),
      stderr_(std::move(other.stderr_)) {
  std::copy(std::begin(other.piped_), std::end(other.piped_), std::begin(piped_));
}

Subprocess& Subprocess::operator=(Subprocess&& other) noexcept {
  if (this != &other) {
    Subprocess gone(std::move(*this));  // kills and reaps what this held
    pid_ = std::exchange(other.pid_, -1);
    pidfd_ = std::move(other.pidfd_);
    own_group_ = other.own_group_;
    waiting_ = other.waiting_;
    status_ = other.status_;
    stdin_ = std::move(other.stdin_);
    stdout_ = std::move(other.stdout_);
    stderr_ = std::move(other.stderr_);
    std::copy(std::begin(other.piped_), std::end(other.piped_), std::begin(piped_));
  }
  return *this;
}

Subprocess::~Subprocess() {
  if (pid_ <= 0) {
    return;
  }
  if (own_group_) {
    // Also what the child left running in its group after it exited.
    ::kill(-pid_, SIGKILL);
  } else if (!status_) {
    ::kill(pid_, SIGKILL);
  }
  if (status_) {
    return;
  }
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
}

PipeStream& Subprocess::stdin_pipe() {
  if (!piped_[0]) {
    throw std::logic_error("pz::Subprocess: stdin is not a pipe (Options::stdin_mode)");
  }
  return stdin_;
}

PipeStream& Subprocess::stdout_pipe() {
  if (!piped_[1]) {
    throw std::logic_error("pz::Subprocess: stdout is not a pipe (Options::stdout_mode)");
  }
  return stdout_;
}

PipeStream& Subprocess::stderr_pipe() {
  if (!piped_[2]) {
    throw std::logic_error("pz::Subprocess: stderr is not a pipe (Options::stderr_mode)");
  }
  return stderr_;
}

void Subprocess::reap(int status) noexcept {
  status_ = ExitStatus::from_wait_status(status);
  pidfd_.reset();
}

std::optional<ExitStatus> Subprocess::reap_if_ended() noexcept {
  if (!status_ && pid_ > 0) {
    int status = 0;
    pid_t done = 0;
    do {
      done = ::waitpid(pid_, &status, WNOHANG);
    } while (done < 0 && errno == EINTR);
    if (done == pid_) {
      reap(status);
    }
  }
  return status_;
}

std::optional<ExitStatus> Subprocess::returncode() {
  return reap_if_ended();
}

Task<ExitStatus> Subprocess::wait() {
  if (status_) {
    co_return *status_;
  }
  if (pid_ <= 0) {
    throw std::logic_error("pz::Subprocess::wait: no process (moved from)");
  }
  if (waiting_) {
    throw std::logic_error("pz::Subprocess::wait: another coroutine is already waiting");
  }
  waiting_ = true;
  struct Done {
    bool& waiting;
    ~Done() { waiting = false; }
  } done{waiting_};
  auto delay = std::chrono::milliseconds(1);
  while (!reap_if_ended()) {
    if (pidfd_) {
      co_await detail::FdReady(pidfd_.get(), Interest::readable);
    } else {
      co_await sleep(delay);
      delay = std::min(delay * 2, std::chrono::milliseconds(50));
    }
  }
  co_return *status_;
}

Task<std::optional<ExitStatus>> Subprocess::wait_for(Duration limit) {
  try {
    co_return co_await timeout(limit, wait());
  } catch (const TimeoutError&) {
  }
  co_return std::nullopt;
}

void Subprocess::send_signal(int number) const noexcept {
  if (pid_ > 0 && !status_) {
    ::kill(pid_, number);
  }
}

void Subprocess::terminate() const noexcept {
  send_signal(SIGTERM);
}

void Subprocess::kill() const noexcept {
  send_signal(SIGKILL);
}

void Subprocess::kill_group(int number) const {
  if (!own_group_) {
    throw std::logic_error(
        "pz::Subprocess::kill_group: the child has no group of its own "
        "(Options::new_process_group)");
  }
  // The group id stays taken while any member lives, so this reaches what
  // is left of the group after its leader was reaped; with no member left
  // it fails with ESRCH and does nothing.
  if (pid_ > 0) {
    ::kill(-pid_, number);
  }
}

}  // namespace pz
