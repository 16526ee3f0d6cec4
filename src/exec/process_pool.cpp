// ProcessPool's parent side: one manager thread owns every worker (spawn,
// dispatch, results, death, reaping); other threads only queue jobs under a
// mutex and wake it through an eventfd.
#include "pizzeria/exec/process_pool.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include "pizzeria/core/system_error.hpp"
#include "pizzeria/core/unique_fd.hpp"
#include "pizzeria/coro/timeout_error.hpp"
#include "pizzeria/exec/future_error.hpp"
#include "pizzeria/exec/process_worker.hpp"
#include "pizzeria/exec/wire_summary.hpp"
#include "process_protocol.hpp"

extern char** environ;  // NOLINT: POSIX declares it nowhere else

namespace pz {

namespace {

// The fd number a worker finds its connection on (0-2 stay stdio).
constexpr int kWorkerFd = kProcessWorkerFd;
// A pool whose fresh workers die this many times in a row before running
// anything is broken (bad executable, crashing initializer).
constexpr int kMaxStartupFailures = 3;

std::string describe_status(int status) {
  if (WIFSIGNALED(status)) {
    const int signal = WTERMSIG(status);
    const char* abbreviation = ::sigabbrev_np(signal);
    return "was killed by signal " + std::to_string(signal) + " (SIG" +
           (abbreviation != nullptr ? abbreviation : "?") + ": " + ::strsignal(signal) + ")";
  }
  if (WIFEXITED(status)) {
    return "exited with status " + std::to_string(WEXITSTATUS(status));
  }
  return "ended with wait status " + std::to_string(status);
}

// A worker's resident set in bytes from /proc/PID/statm (its second field,
// in pages), or 0 if it cannot be read (the worker is gone).
std::size_t resident_bytes(pid_t pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/statm";
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return 0;
  }
  char text[128];
  const ssize_t got = ::read(fd, text, sizeof text - 1);
  ::close(fd);
  if (got <= 0) {
    return 0;
  }
  text[got] = '\0';
  unsigned long long size_pages = 0;
  unsigned long long resident_pages = 0;
  if (std::sscanf(text, "%llu %llu", &size_pages, &resident_pages) != 2) {
    return 0;
  }
  return static_cast<std::size_t>(resident_pages) *
         static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

std::string mebibytes(std::size_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return text;
}

// "(arguments: 42)" for one item, "(first of 7 items: 42)" for a message of
// several; read only when a message about the job is written.
std::string argument_summary(const detail::ProcessJob& job) {
  WireReader items(job.items);
  try {
    const std::uint32_t size = items.get_u32();
    const std::string summary = wire_summary(items.get_bytes(size));
    return job.count == 1 ? "(arguments: " + summary + ")"
                          : "(first of " + std::to_string(job.count) + " items: " + summary + ")";
  } catch (const WireError&) {
    return "(arguments unreadable)";
  }
}

// "1) cause; 2) cause" for an error that lists every attempt.
std::string numbered(const std::vector<std::string>& failures) {
  std::string text;
  for (std::size_t i = 0; i < failures.size(); ++i) {
    text += (i == 0 ? "" : "; ") + std::to_string(i + 1) + ") " + failures[i];
  }
  return text;
}

int reap(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      // ECHILD: someone else reaped it (a waitpid(-1) elsewhere in the
      // program); the cause is lost but the pool must go on.
      return -1;
    }
  }
  return status;
}

}  // namespace

struct ProcessPool::Impl {
  struct Worker {
    pid_t pid = -1;
    UniqueFd socket;
    std::string input;                      // received bytes that do not yet form a whole frame
    std::optional<detail::ProcessJob> job;  // the message in flight, if any
    std::uint64_t job_id = 0;
    bool job_started = false;  // the worker acknowledged the job (kStarted)
    std::size_t messages_done = 0;
    bool answered = false;  // has returned at least one result
    bool ready = false;     // sent kHello: it runs the worker loop
    // Why the pool sent it a fatal signal, if it did.
    enum class Kill { none, start_timeout, deadline, memory } killed_for = Kill::none;
    std::chrono::steady_clock::time_point start_deadline;
    // Set only while a job with a deadline runs (from its kStarted): the
    // time of the next step, SIGTERM or SIGKILL.
    std::optional<std::chrono::steady_clock::time_point> job_deadline;
    bool term_sent = false;
    std::chrono::milliseconds job_budget{0};  // the deadline it was given, for the message
    std::size_t resident_at_kill = 0;         // for the hard memory cap's message
    bool over_soft_memory = false;            // replace once its job is done
  };

  ProcessPoolOptions options;
  std::size_t worker_count = 0;

  mutable std::mutex mutex;
  std::deque<detail::ProcessJob> pending;  // guarded by mutex
  bool accepting = true;                   // guarded by mutex
  bool cancel_pending = false;             // guarded by mutex
  std::string broken;                      // guarded by mutex; why the pool cannot run tasks
  std::vector<pid_t> pids;                 // guarded by mutex; snapshot for worker_pids()
  Counters counters;                       // guarded by mutex

  UniqueFd wake;                  // eventfd: "look at the queue/flags again"
  std::vector<Worker> workers;    // manager thread only
  std::uint64_t next_job_id = 1;  // manager thread only
  int startup_failures = 0;       // manager thread only
  // Times of recent unexpected deaths, for the restart intensity; manager
  // thread only.
  std::deque<TimePoint> recent_deaths;
  // When busy workers' memory is read next (only with a cap); manager only.
  std::chrono::steady_clock::time_point next_memory_check{};
  std::mutex join_mutex;
  std::thread manager;

  void notify() const {
    const std::uint64_t one = 1;
    // An eventfd write only fails if the counter would overflow, which needs
    // 2^64 unread wake-ups; ignore.
    [[maybe_unused]] const ssize_t n = ::write(wake.get(), &one, sizeof one);
  }

  Worker spawn() {
    int ends[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) != 0) {
      throw_errno("process pool: socketpair for a worker connection");
    }
    UniqueFd parent_end(ends[0]);
    UniqueFd child_end(ends[1]);
    if (child_end.get() == kWorkerFd) {
      // dup2(3, 3) would keep FD_CLOEXEC and the worker would lose it at exec.
      child_end = UniqueFd(::fcntl(child_end.get(), F_DUPFD_CLOEXEC, kWorkerFd + 1));
      if (!child_end) {
        throw_errno("process pool: fcntl(F_DUPFD_CLOEXEC) for a worker connection");
      }
    }

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    struct Cleanup {
      posix_spawn_file_actions_t* actions;
      posix_spawnattr_t* attributes;
      ~Cleanup() {
        posix_spawn_file_actions_destroy(actions);
        posix_spawnattr_destroy(attributes);
      }
    } cleanup{&actions, &attributes};
    // dup2 clears FD_CLOEXEC on the copy; closefrom makes sure no other
    // descriptor of the parent (one opened without O_CLOEXEC by any library)
    // leaks into the worker.
    posix_spawn_file_actions_adddup2(&actions, child_end.get(), kWorkerFd);
    // Inherited descriptors go to 4, 5, ... in order. They are first copied
    // above every target number, so no dup2 can overwrite a source that a
    // later one still needs.
    std::vector<UniqueFd> copies;
    const int first_free = kFirstInheritedFd + static_cast<int>(options.inherited_fds.size());
    for (std::size_t i = 0; i < options.inherited_fds.size(); ++i) {
      UniqueFd copy(::fcntl(options.inherited_fds[i], F_DUPFD_CLOEXEC, first_free));
      if (!copy) {
        throw_errno("process pool: duplicating inherited descriptor " +
                    std::to_string(options.inherited_fds[i]));
      }
      posix_spawn_file_actions_adddup2(&actions, copy.get(),
                                       kFirstInheritedFd + static_cast<int>(i));
      copies.push_back(std::move(copy));
    }
    posix_spawn_file_actions_addclosefrom_np(&actions, first_free);
    // The parent may block signals (an event loop's signalfd does) or have
    // handlers; the worker starts with none blocked and all defaults.
    sigset_t none;
    sigemptyset(&none);
    sigset_t all;
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attributes, &none);
    posix_spawnattr_setsigdefault(&attributes, &all);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

    std::vector<std::string> environment;
    const std::string fd_prefix = std::string(kProcessWorkerFdVariable) + "=";
    const std::string parent_prefix = std::string(kProcessWorkerParentVariable) + "=";
    for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
      const std::string_view text(*entry);
      if (!text.starts_with(fd_prefix) && !text.starts_with(parent_prefix) &&
          !text.starts_with(std::string(kProcessWorkerInheritedVariable) + "=")) {
        environment.emplace_back(text);
      }
    }
    environment.push_back(fd_prefix + std::to_string(kWorkerFd));
    environment.push_back(parent_prefix + std::to_string(::getpid()));
    if (!options.inherited_fds.empty()) {
      environment.push_back(std::string(kProcessWorkerInheritedVariable) + "=" +
                            std::to_string(options.inherited_fds.size()));
    }
    std::vector<char*> envp;
    for (auto& text : environment) {
      envp.push_back(text.data());
    }
    envp.push_back(nullptr);
    std::string program = options.executable;
    std::vector<std::string> arguments = options.arguments;
    std::vector<char*> argv{program.data()};
    for (auto& argument : arguments) {
      argv.push_back(argument.data());
    }
    argv.push_back(nullptr);

    pid_t pid = -1;
    const int rc =
        ::posix_spawn(&pid, program.c_str(), &actions, &attributes, argv.data(), envp.data());
    if (rc != 0) {
      throw_errno("process pool: starting worker '" + program + "' with posix_spawn", rc);
    }
    Worker worker;
    worker.pid = pid;
    worker.socket = std::move(parent_end);
    worker.start_deadline = std::chrono::steady_clock::now() + options.start_timeout;
    {
      std::lock_guard lock(mutex);
      ++counters.workers_started;
    }
    if (!options.initializer.empty()) {
      WireWriter init;
      init.put_u8(process_protocol::kInit);
      wire_encode<std::string>(init, options.initializer);
      init.put_bytes(options.initializer_arguments);
      try {
        process_protocol::write_frame(worker.socket.get(), init.data());
      } catch (const std::system_error&) {
        // The worker died already; the read side will notice and report it.
      }
    }
    return worker;
  }

  void publish_pids() {
    std::vector<pid_t> live;
    for (const auto& worker : workers) {
      if (worker.pid > 0) {
        live.push_back(worker.pid);
      }
    }
    std::lock_guard lock(mutex);
    pids = std::move(live);
  }

  static void finish(detail::ProcessJob& job, WireReader* results, std::exception_ptr error) {
    // A callback must not take the manager down with it.
    try {
      job.done(results, std::move(error));
    } catch (...) {
    }
  }

  bool should_respawn() {
    std::lock_guard lock(mutex);
    return broken.empty() && (accepting || !pending.empty());
  }

  void mark_broken(const std::string& reason) {
    std::lock_guard lock(mutex);
    if (broken.empty()) {
      broken = reason;
    }
  }

  // The worker's connection ended (or failed): reap it, fail its task,
  // replace it.
  // OTP's restart intensity: more than max_restarts deaths within
  // restart_window mean the pool is restarting workers into the same fault.
  void count_death_for_intensity(pid_t pid, const std::string& cause) {
    if (options.max_restarts == 0) {
      return;
    }
    const Clock& clock = options.clock != nullptr ? *options.clock : SteadyClock::instance();
    const TimePoint now = clock.now();
    recent_deaths.push_back(now);
    while (!recent_deaths.empty() && now - recent_deaths.front() >= options.restart_window) {
      recent_deaths.pop_front();
    }
    if (recent_deaths.size() > options.max_restarts) {
      mark_broken(
          "process pool stopped restarting workers: " + std::to_string(recent_deaths.size()) +
          " worker deaths within " + std::to_string(options.restart_window.count()) +
          " ms is more than its limit of " + std::to_string(options.max_restarts) +
          " (ProcessPoolOptions::max_restarts, restart_window; last: worker " +
          std::to_string(pid) + " " + cause + ")");
    }
  }

  // A job whose worker died while running it: retried, quarantined or
  // failed, by its policy (docs/exec.md, "Supervision").
  void job_died(Worker& worker, const std::string& cause) {
    detail::ProcessJob job = std::move(*worker.job);
    worker.job.reset();
    const std::string pid = std::to_string(worker.pid);
    std::exception_ptr error;
    if (worker.killed_for == Worker::Kill::deadline) {
      {
        std::lock_guard lock(mutex);
        ++counters.timed_out;
      }
      // Not retried: a task that hung once will most likely hang again, and
      // a retry would hold a worker for another whole deadline.
      error = std::make_exception_ptr(
          TimeoutError("process pool task '" + job.name + "' " + argument_summary(job) +
                       " ran past its deadline of " + std::to_string(worker.job_budget.count()) +
                       " ms; its worker " + pid + " was stopped by the pool and " + cause +
                       ", and was replaced"));
      finish(job, nullptr, std::move(error));
      return;
    }
    const std::string what =
        "process pool worker " + pid + " " + cause + " while running task '" + job.name + "'";
    job.failures.push_back(what);
    const std::size_t deaths = job.failures.size();
    if (job.policy.max_retries == 0) {
      error = std::make_exception_ptr(WorkerDied(what));
    } else if (deaths > job.policy.max_retries) {
      error = std::make_exception_ptr(
          WorkerDied("process pool task '" + job.name + "' " + argument_summary(job) +
                     " failed on all " + std::to_string(deaths) +
                     " attempts, each time because its worker died: " + numbered(job.failures)));
    } else if (options.quarantine_after != 0 && deaths >= options.quarantine_after) {
      {
        std::lock_guard lock(mutex);
        ++counters.quarantined;
      }
      error = std::make_exception_ptr(
          TaskQuarantined("process pool task '" + job.name + "' " + argument_summary(job) +
                          " quarantined after killing " + std::to_string(deaths) +
                          " workers (it is not run again): " + numbered(job.failures)));
    } else {
      // At the head of the queue: it has waited longest, and imap's
      // in-order results wait for it.
      std::lock_guard lock(mutex);
      ++counters.retried;
      pending.push_front(std::move(job));
      return;
    }
    finish(job, nullptr, std::move(error));
  }

  void handle_death(Worker& worker, bool expected) {
    worker.socket.reset();
    const int status = reap(worker.pid);
    std::string cause =
        status == -1 ? "ended (its exit status was collected elsewhere)" : describe_status(status);
    if (worker.killed_for == Worker::Kill::memory) {
      cause += " by the pool: its resident memory of " + mebibytes(worker.resident_at_kill) +
               " was over the hard memory cap of " + mebibytes(options.memory_hard_limit);
    }
    if (worker.killed_for == Worker::Kill::start_timeout) {
      cause = "did not reach its worker loop within " +
              std::to_string(options.start_timeout.count()) +
              " ms and was killed (does the program's main() begin with "
              "pz::run_process_worker_if_requested()?)";
    } else if (!worker.ready) {
      // Most often the program's own main() ran in the worker and died (it
      // created a pool there, which throws) or exited: say what to check.
      cause +=
          " before reaching its worker loop (does the program's main() begin with "
          "pz::run_process_worker_if_requested()?)";
    }
    const pid_t pid = worker.pid;
    worker.pid = -1;
    if (!expected) {
      {
        std::lock_guard lock(mutex);
        ++counters.workers_died;
      }
      count_death_for_intensity(pid, cause);
    }
    if (worker.job && !worker.job_started) {
      // It died before taking the job (killed while idle, a crashing
      // initializer, a broken executable): the job never ran, so it goes back
      // to the head of the queue instead of failing.
      {
        std::lock_guard lock(mutex);
        pending.push_front(std::move(*worker.job));
      }
      worker.job.reset();
      if (!expected && !worker.answered && ++startup_failures >= kMaxStartupFailures) {
        mark_broken(
            "process pool worker processes keep dying before running any task (last: "
            "worker " +
            std::to_string(pid) + " " + cause + ")");
      }
    } else if (worker.job) {
      startup_failures = 0;  // the task killed it, not the start-up
      worker.pid = pid;      // for the message
      job_died(worker, cause);
      worker.pid = -1;
    } else if (!expected && !worker.answered) {
      if (++startup_failures >= kMaxStartupFailures) {
        mark_broken(
            "process pool worker processes keep dying before running any task (last: "
            "worker " +
            std::to_string(pid) + " " + cause + ")");
      }
    }
    if (should_respawn()) {
      try {
        Worker fresh = spawn();
        worker = std::move(fresh);
      } catch (const std::exception& error) {
        mark_broken(error.what());
      }
    }
    publish_pids();
  }

  // From the job's kStarted: the deadline counts time running, not time
  // spent queued. Reads the clock only for a job that has a deadline.
  void start_deadline_clock(Worker& worker) {
    const auto per_item = worker.job->policy.deadline.count() != 0 ? worker.job->policy.deadline
                                                                   : options.task_deadline;
    if (per_item.count() <= 0) {
      return;
    }
    worker.job_budget = per_item * worker.job->count;
    worker.job_deadline = std::chrono::steady_clock::now() + worker.job_budget;
    worker.term_sent = false;
  }

  void handle_message(Worker& worker, std::string_view frame) {
    WireReader reader(frame);
    const std::uint8_t kind = reader.get_u8();
    if (kind == process_protocol::kInitFailed) {
      mark_broken("process pool initializer '" + options.initializer + "' failed in worker " +
                  std::to_string(worker.pid) + ": " + wire_decode<std::string>(reader));
      return;  // the worker exits next; handle_death follows on end of stream
    }
    if (kind == process_protocol::kHello) {
      worker.ready = true;
      return;
    }
    if (kind == process_protocol::kStarted) {
      if (!worker.job || reader.get_u64() != worker.job_id) {
        throw WireError("a worker started a task it was not given");
      }
      worker.job_started = true;
      start_deadline_clock(worker);
      return;
    }
    if (kind != process_protocol::kResults) {
      throw WireError("unexpected message kind " + std::to_string(kind) + " from a worker");
    }
    const std::uint64_t id = reader.get_u64();
    const std::uint32_t count = reader.get_u32();
    if (!worker.job || id != worker.job_id || count != worker.job->count) {
      throw WireError("a worker answered a task it was not given (id " + std::to_string(id) + ")");
    }
    detail::ProcessJob job = std::move(*worker.job);
    worker.job.reset();
    worker.job_deadline.reset();
    worker.answered = true;
    ++worker.messages_done;
    startup_failures = 0;
    {
      // Counted before the futures complete, so whoever sees a result also
      // sees it counted (the other order made a test that read counters()
      // after result() fail now and then).
      std::lock_guard lock(mutex);
      counters.tasks_completed += count;
    }
    finish(job, &reader, nullptr);
    if (options.memory_soft_limit != 0 && !worker.over_soft_memory &&
        resident_bytes(worker.pid) > options.memory_soft_limit) {
      worker.over_soft_memory = true;
    }
    if (worker.over_soft_memory) {
      {
        std::lock_guard lock(mutex);
        ++counters.over_memory;
      }
      worker.socket.reset();
      handle_death(worker, true);
      return;
    }
    if (options.max_tasks_per_child != 0 && worker.messages_done >= options.max_tasks_per_child) {
      // Retire: end of stream makes it exit; then it is reaped and replaced.
      worker.socket.reset();
      handle_death(worker, true);
    }
  }

  // Reads what is available; returns false if the connection ended.
  bool read_from(Worker& worker) {
    char buffer[65536];
    const ssize_t got = ::read(worker.socket.get(), buffer, sizeof buffer);
    if (got < 0) {
      return errno == EINTR || errno == EAGAIN;
    }
    if (got == 0) {
      return false;
    }
    worker.input.append(buffer, static_cast<std::size_t>(got));
    // The frames are handled where they lie, not copied out first (a batch
    // of results can be megabytes). handle_message may retire the worker
    // and put a fresh one in its place, input buffer and all, so the bytes
    // are taken out of `worker` while they are read.
    std::string input = std::move(worker.input);
    worker.input.clear();
    const pid_t pid = worker.pid;
    std::size_t at = 0;
    while (input.size() - at >= 4) {
      WireReader header(std::string_view(input).substr(at, 4));
      const std::uint32_t size = header.get_u32();
      if (size > process_protocol::kMaxFrame) {
        throw WireError("a worker sent a frame of " + std::to_string(size) + " bytes");
      }
      if (input.size() - at - 4 < size) {
        break;
      }
      const std::string_view frame = std::string_view(input).substr(at + 4, size);
      at += 4 + static_cast<std::size_t>(size);
      handle_message(worker, frame);
      if (!worker.socket || worker.pid != pid) {
        return true;  // retired (and replaced) inside handle_message: the rest was its
      }
    }
    input.erase(0, at);
    worker.input = std::move(input);
    return true;
  }

  void dispatch(Worker& worker) {
    for (;;) {
      detail::ProcessJob job;
      {
        std::lock_guard lock(mutex);
        if (pending.empty() || !broken.empty()) {
          return;
        }
        job = std::move(pending.front());
        pending.pop_front();
      }
      WireWriter message;
      message.put_u8(process_protocol::kTask);
      worker.job_id = next_job_id++;
      worker.job_started = false;
      message.put_u64(worker.job_id);
      wire_encode<std::string>(message, job.name);
      message.put_u32(job.count);
      worker.job = std::move(job);
      try {
        // The items follow the header in the same frame without being
        // copied into it.
        process_protocol::write_frame(worker.socket.get(), message.data(), worker.job->items);
        return;
      } catch (const WireError& error) {
        // Over the frame limit, refused before a byte was sent: the job
        // fails with the reason and the worker, still idle, takes the next.
        finish(*worker.job, nullptr,
               std::make_exception_ptr(WireError(std::string(error.what()) +
                                                 " (submit fewer or smaller items per call)")));
        worker.job.reset();
      } catch (const std::system_error&) {
        // EPIPE/ECONNRESET: it died between tasks. It never started this job
        // (no kStarted came), so handle_death puts the job back at the head
        // of the queue for the worker that replaces it.
        handle_death(worker, false);
        return;
      }
    }
  }

  void fail_queued() {
    std::deque<detail::ProcessJob> doomed;
    std::string reason;
    {
      std::lock_guard lock(mutex);
      if (!broken.empty()) {
        reason = broken;
      } else if (cancel_pending) {
        reason.clear();
      } else {
        return;
      }
      doomed.swap(pending);
    }
    for (auto& job : doomed) {
      auto error =
          reason.empty()
              ? std::make_exception_ptr(TaskCancelled(
                    "the ProcessPool was shut down before task '" + job.name + "' started"))
              : std::make_exception_ptr(std::runtime_error(
                    job.failures.empty()
                        ? reason
                        : reason + "; task '" + job.name +
                              "' had been retried after: " + numbered(job.failures)));
      finish(job, nullptr, std::move(error));
    }
  }

  bool finished() {
    for (const auto& worker : workers) {
      if (worker.job) {
        return false;
      }
    }
    std::lock_guard lock(mutex);
    return !accepting && pending.empty();
  }

  [[nodiscard]] bool memory_capped() const {
    return options.memory_soft_limit != 0 || options.memory_hard_limit != 0;
  }

  // Milliseconds until the earliest timed step (a start deadline, a task
  // deadline, a memory reading), or -1 (wait forever) when there is none:
  // then the clock is not even read.
  int next_wait_ms() const {
    std::optional<std::chrono::steady_clock::time_point> earliest;
    const auto consider = [&](std::chrono::steady_clock::time_point at) {
      earliest = earliest ? std::min(*earliest, at) : at;
    };
    const bool capped = memory_capped();
    for (const auto& worker : workers) {
      if (!worker.socket || worker.killed_for != Worker::Kill::none) {
        continue;
      }
      if (!worker.ready) {
        consider(worker.start_deadline);
      }
      if (worker.job_deadline) {
        consider(*worker.job_deadline);
      }
      if (capped && worker.job) {
        consider(next_memory_check);
      }
    }
    // A SIGTERMed worker that outlives its grace gets SIGKILL.
    for (const auto& worker : workers) {
      if (worker.socket && worker.term_sent && worker.job_deadline) {
        consider(*worker.job_deadline);
      }
    }
    if (!earliest) {
      return -1;
    }
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(*earliest - std::chrono::steady_clock::now())
            .count();
    return static_cast<int>(std::clamp<long long>(left, 0, 60'000));
  }

  // Signals for workers past a start deadline or a task deadline, or over a
  // memory cap; their end of stream then reports why (handle_death).
  void enforce_limits() {
    bool timed = false;
    for (const auto& worker : workers) {
      timed = timed || (worker.socket && (!worker.ready || worker.job_deadline));
    }
    const bool capped = memory_capped();
    if (!timed && !capped) {
      return;  // nothing is timed: the common case reads no clock
    }
    const auto now = std::chrono::steady_clock::now();
    const bool read_memory = capped && now >= next_memory_check;
    if (read_memory) {
      next_memory_check = now + options.memory_check_interval;
    }
    for (auto& worker : workers) {
      if (!worker.socket) {
        continue;
      }
      if (worker.killed_for == Worker::Kill::none && !worker.ready &&
          now >= worker.start_deadline) {
        worker.killed_for = Worker::Kill::start_timeout;
        ::kill(worker.pid, SIGKILL);
        continue;
      }
      if (worker.job_deadline && now >= *worker.job_deadline) {
        if (worker.killed_for == Worker::Kill::none && options.term_grace.count() > 0) {
          worker.killed_for = Worker::Kill::deadline;
          worker.term_sent = true;
          worker.job_deadline = now + options.term_grace;
          ::kill(worker.pid, SIGTERM);
        } else {
          worker.killed_for = Worker::Kill::deadline;
          worker.job_deadline.reset();
          ::kill(worker.pid, SIGKILL);
        }
        continue;
      }
      if (read_memory && worker.job && worker.killed_for == Worker::Kill::none) {
        const std::size_t resident = resident_bytes(worker.pid);
        if (options.memory_hard_limit != 0 && resident > options.memory_hard_limit) {
          worker.killed_for = Worker::Kill::memory;
          worker.resident_at_kill = resident;
          {
            std::lock_guard lock(mutex);
            ++counters.over_memory;
          }
          ::kill(worker.pid, SIGKILL);
        } else if (options.memory_soft_limit != 0 && resident > options.memory_soft_limit) {
          worker.over_soft_memory = true;
        }
      }
    }
  }

  void run() {
    try {
      for (std::size_t i = 0; i < worker_count; ++i) {
        workers.push_back(spawn());
      }
    } catch (const std::exception& error) {
      mark_broken(error.what());
    }
    publish_pids();
    std::vector<pollfd> fds;
    for (;;) {
      fail_queued();
      for (auto& worker : workers) {
        if (worker.socket && worker.ready && !worker.job) {
          dispatch(worker);
        }
      }
      if (finished()) {
        break;
      }
      fds.clear();
      fds.push_back({wake.get(), POLLIN, 0});
      for (const auto& worker : workers) {
        fds.push_back({worker.socket ? worker.socket.get() : -1, POLLIN, 0});
      }
      if (::poll(fds.data(), fds.size(), next_wait_ms()) < 0) {
        if (errno == EINTR) {
          continue;
        }
        mark_broken(std::string("process pool: poll failed: ") + std::strerror(errno));
        continue;
      }
      if ((fds[0].revents & POLLIN) != 0) {
        std::uint64_t count = 0;
        [[maybe_unused]] const ssize_t n = ::read(wake.get(), &count, sizeof count);
      }
      enforce_limits();
      for (std::size_t i = 0; i < workers.size(); ++i) {
        if (fds[i + 1].fd < 0 || fds[i + 1].revents == 0) {
          continue;
        }
        Worker& worker = workers[i];
        bool alive = false;
        try {
          alive = read_from(worker);
        } catch (const WireError&) {
          // A corrupt stream: the worker cannot be trusted; kill it so its
          // task fails with a cause and a fresh one takes over.
          ::kill(worker.pid, SIGKILL);
          alive = false;
        }
        if (!alive && worker.socket) {
          handle_death(worker, false);
        }
      }
    }
    // Every task is done and nothing more will come: end of stream tells each
    // worker to exit, then reap them all so no zombie remains.
    for (auto& worker : workers) {
      worker.socket.reset();
    }
    for (auto& worker : workers) {
      if (worker.pid > 0) {
        reap(worker.pid);
        worker.pid = -1;
      }
    }
    publish_pids();
  }
};

ProcessPool::ProcessPool(std::size_t workers)
    : ProcessPool([workers] {
        ProcessPoolOptions options;
        options.workers = workers;
        return options;
      }()) {}

ProcessPool::ProcessPool(ProcessPoolOptions options) : impl_(std::make_unique<Impl>()) {
  if (std::getenv(kProcessWorkerFdVariable) != nullptr) {
    // run_process_worker_if_requested() removes the variable; seeing it here
    // means this is a worker whose main() lacks the hook and went on to
    // create a pool of its own: refuse, instead of spawning recursively.
    throw std::logic_error(
        "pz::ProcessPool created inside a ProcessPool worker whose main() does not begin with "
        "pz::run_process_worker_if_requested()");
  }
  impl_->worker_count =
      options.workers != 0 ? options.workers : std::max(1U, std::thread::hardware_concurrency());
  impl_->options = std::move(options);
  impl_->wake = UniqueFd(::eventfd(0, EFD_CLOEXEC));
  if (!impl_->wake) {
    throw_errno("process pool: eventfd");
  }
  impl_->manager = std::thread([impl = impl_.get()] { impl->run(); });
}

ProcessPool::~ProcessPool() {
  shutdown(true, true);
}

void ProcessPool::enqueue(detail::ProcessJob job) {
  std::string broken;
  {
    std::lock_guard lock(impl_->mutex);
    if (!impl_->accepting) {
      throw std::runtime_error("pz::ProcessPool: cannot accept task '" + job.name +
                               "' after shutdown()");
    }
    broken = impl_->broken;
    if (broken.empty()) {
      impl_->pending.push_back(std::move(job));
    }
  }
  if (!broken.empty()) {
    Impl::finish(job, nullptr, std::make_exception_ptr(std::runtime_error(broken)));
    return;
  }
  impl_->notify();
}

void ProcessPool::shutdown(bool wait, bool cancel_pending) {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->accepting = false;
    if (cancel_pending) {
      impl_->cancel_pending = true;
    }
  }
  impl_->notify();
  if (!wait) {
    return;
  }
  std::lock_guard lock(impl_->join_mutex);
  if (impl_->manager.get_id() == std::this_thread::get_id()) {
    throw std::logic_error(
        "pz::ProcessPool::shutdown(wait=true) called from a future callback on the pool's own "
        "manager thread: it would wait for itself");
  }
  if (impl_->manager.joinable()) {
    impl_->manager.join();
  }
}

std::size_t ProcessPool::worker_count() const noexcept {
  return impl_->worker_count;
}

std::vector<pid_t> ProcessPool::worker_pids() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->pids;
}

ProcessPool::Counters ProcessPool::counters() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->counters;
}

}  // namespace pz
