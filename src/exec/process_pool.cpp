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
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include "pizzeria/core/system_error.hpp"
#include "pizzeria/core/unique_fd.hpp"
#include "pizzeria/exec/future_error.hpp"
#include "pizzeria/exec/process_worker.hpp"
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
    bool answered = false;   // has returned at least one result
    bool ready = false;      // sent kHello: it runs the worker loop
    bool timed_out = false;  // killed for not becoming ready in time
    std::chrono::steady_clock::time_point start_deadline;
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
  void handle_death(Worker& worker, bool expected) {
    worker.socket.reset();
    const int status = reap(worker.pid);
    std::string cause =
        status == -1 ? "ended (its exit status was collected elsewhere)" : describe_status(status);
    if (worker.timed_out) {
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
      std::lock_guard lock(mutex);
      ++counters.workers_died;
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
      auto error = std::make_exception_ptr(WorkerDied("process pool worker " + std::to_string(pid) +
                                                      " " + cause + " while running task '" +
                                                      worker.job->name + "'"));
      finish(*worker.job, nullptr, std::move(error));
      worker.job.reset();
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
              : std::make_exception_ptr(std::runtime_error(reason));
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

  // Milliseconds until the earliest start deadline of a worker that is not
  // ready yet, or -1 (wait forever) if every worker is ready.
  int start_wait_ms() const {
    int wait = -1;
    const auto now = std::chrono::steady_clock::now();
    for (const auto& worker : workers) {
      if (worker.socket && !worker.ready && !worker.timed_out) {
        const auto left =
            std::chrono::ceil<std::chrono::milliseconds>(worker.start_deadline - now).count();
        const int ms = static_cast<int>(std::max<long long>(0, left));
        wait = wait < 0 ? ms : std::min(wait, ms);
      }
    }
    return wait;
  }

  // SIGKILL for workers past their start deadline; their end of stream then
  // reports them as failed starts.
  void kill_late_starters() {
    const auto now = std::chrono::steady_clock::now();
    for (auto& worker : workers) {
      if (worker.socket && !worker.ready && !worker.timed_out && now >= worker.start_deadline) {
        worker.timed_out = true;
        ::kill(worker.pid, SIGKILL);
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
      if (::poll(fds.data(), fds.size(), start_wait_ms()) < 0) {
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
      kill_late_starters();
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
