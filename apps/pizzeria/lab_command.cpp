// `pizzeria lab`: the claims of the seeds as measured experiments. Every
// experiment is another subcommand of this same executable, run as a child
// process (bounded in time, killed on timeout) whose output is parsed into
// one self-contained HTML report (pz::programs::LabReport). An experiment
// that fails is reported as failed and the others still run.
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "commands.hpp"
#include "pizzeria/core/unique_fd.hpp"
#include "pizzeria/programs/lab_report.hpp"

extern char** environ;

namespace pz::app {

namespace {

using programs::LabReport;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// An experiment that cannot produce its numbers; the message is the reason
// the report shows.
struct ExperimentFailure : std::runtime_error {
  ExperimentFailure(const std::string& what, std::string tail)
      : std::runtime_error(what), stderr_tail(std::move(tail)) {}
  std::string stderr_tail;
};

std::string self_path() {
  std::vector<char> path(4096);
  const ssize_t length = ::readlink("/proc/self/exe", path.data(), path.size() - 1);
  if (length <= 0) {
    throw std::runtime_error(std::string("reading /proc/self/exe: ") + std::strerror(errno));
  }
  return std::string(path.data(), static_cast<std::size_t>(length));
}

std::string tail_of(const std::string& text, std::size_t lines = 15) {
  std::size_t at = text.size();
  for (std::size_t seen = 0; at > 0 && seen <= lines;) {
    at = text.rfind('\n', at - 1);
    if (at == std::string::npos) {
      return text;
    }
    ++seen;
  }
  return at == 0 ? text : text.substr(at + 1);
}

// The process groups of the running children (a server and its load
// generator at most), so that a lab stopped by a signal takes them along:
// they run in groups of their own and would not get the terminal's Ctrl-C.
// Relaxed atomics suffice: the lab is single-threaded, the handler runs on
// that same thread, and lock-free atomics are safe to read in a handler.
std::array<std::atomic<pid_t>, 4> running_groups{};

void track_group(pid_t group, bool running) {
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

void stop_children_on_signals() {
  struct sigaction action {};
  action.sa_handler = stop_children_and_exit;
  sigemptyset(&action.sa_mask);
  for (const int number : {SIGINT, SIGTERM, SIGHUP}) {
    struct sigaction previous {};
    // A signal the caller chose to ignore (nohup, a background job) stays
    // ignored.
    if (::sigaction(number, nullptr, &previous) == 0 && previous.sa_handler != SIG_IGN) {
      ::sigaction(number, &action, nullptr);
    }
  }
}

// Names the lab's pid in the environment of each child it starts; see
// die_with_lab_if_requested() below.
constexpr const char* kLabParentVariable = "PZ_LAB_PARENT";

// This process's environment without any inherited kLabParentVariable, plus
// one naming this process.
std::vector<std::string> child_environment() {
  const std::string prefix = std::string(kLabParentVariable) + "=";
  std::vector<std::string> environment;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    if (std::string_view(*entry).rfind(prefix, 0) != 0) {
      environment.emplace_back(*entry);
    }
  }
  environment.push_back(prefix + std::to_string(::getpid()));
  return environment;
}

// A child process with its standard output and error on pipes. It runs in
// its own process group so a timeout can kill it together with any worker
// processes it started, and it dies with the lab (kLabParentVariable).
class Child {
 public:
  explicit Child(const std::vector<std::string>& argv) {
    int out_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
      throw std::runtime_error(std::string("pipe2 for a child's output: ") + std::strerror(errno));
    }
    fds_[0].reset(out_pipe[0]);
    UniqueFd out_write(out_pipe[1]);
    int err_pipe[2];
    if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
      throw std::runtime_error(std::string("pipe2 for a child's errors: ") + std::strerror(errno));
    }
    fds_[1].reset(err_pipe[0]);
    UniqueFd err_write(err_pipe[1]);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out_write.get(), 1);
    posix_spawn_file_actions_adddup2(&actions, err_write.get(), 2);
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    // A shell starting the lab in the background may have set SIGINT and
    // SIGTERM to ignored, which exec keeps: the servers must still stop.
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    posix_spawnattr_setsigdefault(&attributes, &defaults);
    posix_spawnattr_setpgroup(&attributes, 0);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
    std::vector<std::string> copy(argv);
    std::vector<char*> pointers;
    for (std::string& arg : copy) {
      pointers.push_back(arg.data());
    }
    pointers.push_back(nullptr);
    std::vector<std::string> environment = child_environment();
    std::vector<char*> environment_pointers;
    for (std::string& entry : environment) {
      environment_pointers.push_back(entry.data());
    }
    environment_pointers.push_back(nullptr);
    const int error = ::posix_spawn(&pid_, pointers[0], &actions, &attributes, pointers.data(),
                                    environment_pointers.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    if (error != 0) {
      throw std::runtime_error("starting " + argv[0] + ": " + std::strerror(error));
    }
    track_group(pid_, true);
  }

  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  ~Child() {
    if (!reaped_) {
      kill_group();
      wait_exit();
    }
    track_group(pid_, false);
  }

  pid_t pid() const { return pid_; }
  const std::string& out() const { return text_[0]; }
  const std::string& err() const { return text_[1]; }

  // Reads whatever the child writes for at most `wait`; false once both
  // pipes are closed.
  bool pump(milliseconds wait) {
    // poll skips the negative descriptor of a pipe already at its end.
    pollfd polled[2] = {{fds_[0].get(), POLLIN, 0}, {fds_[1].get(), POLLIN, 0}};
    if (!fds_[0] && !fds_[1]) {
      return false;
    }
    const int ready = ::poll(polled, 2, static_cast<int>(wait.count()));
    if (ready < 0 && errno != EINTR) {
      throw std::runtime_error(std::string("poll on a child's pipes: ") + std::strerror(errno));
    }
    char buffer[16384];
    for (int i = 0; i < 2 && ready > 0; ++i) {
      if (fds_[i] && polled[i].revents != 0) {
        const ssize_t count = ::read(fds_[i].get(), buffer, sizeof(buffer));
        if (count > 0) {
          text_[i].append(buffer, static_cast<std::size_t>(count));
        } else if (count == 0 || errno != EINTR) {
          fds_[i].reset();
        }
      }
    }
    return fds_[0] || fds_[1];
  }

  void signal(int number) const { ::kill(pid_, number); }
  void kill_group() const { ::kill(-pid_, SIGKILL); }

  // The exit code, or 128 + the signal that ended it.
  int wait_exit() {
    if (!reaped_) {
      int status = 0;
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
      record(status);
    }
    return status_;
  }

  // Whether it has exited, without waiting.
  bool exited() {
    if (reaped_) {
      return true;
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      record(status);
    }
    return reaped_;
  }

 private:
  void record(int status) {
    reaped_ = true;
    status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  pid_t pid_ = -1;
  std::array<UniqueFd, 2> fds_;  // the read ends of stdout and stderr
  std::string text_[2];
  bool reaped_ = false;
  int status_ = -1;
};

std::string command_line(const std::vector<std::string>& argv) {
  std::string line = "pizzeria";
  for (std::size_t i = 1; i < argv.size(); ++i) {
    line += ' ';
    line += argv[i];
  }
  return line;
}

struct Finished {
  int status = -1;
  std::string out;
  std::string err;
};

// Runs `argv` to its end within `limit`, calling `tick` about every 10 ms
// while it runs; kills it on timeout. `accepted` exit codes count as success.
Finished run_bounded(const std::vector<std::string>& argv, std::chrono::duration<double> limit,
                     const std::function<void()>& tick = {}, std::vector<int> accepted = {0}) {
  Child child(argv);
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(limit);
  bool timed_out = false;
  // Ends when the child has exited, or closed its output and then exited.
  while (!child.exited()) {
    if (!child.pump(milliseconds(10))) {
      std::this_thread::sleep_for(milliseconds(10));
    }
    if (tick) {
      tick();
    }
    if (Clock::now() > deadline) {
      timed_out = true;
      child.kill_group();
      break;
    }
  }
  // Worker processes may still hold the pipes after the child exits; they
  // are given a moment, then the group is killed.
  const auto drain_until = Clock::now() + milliseconds(2000);
  while (child.pump(milliseconds(10)) && Clock::now() < drain_until) {
  }
  child.kill_group();
  Finished finished{child.wait_exit(), child.out(), child.err()};
  if (timed_out) {
    throw ExperimentFailure(fmt::format("`{}` did not finish within {:.3g} s and was killed",
                                        command_line(argv), limit.count()),
                            tail_of(finished.err));
  }
  if (std::find(accepted.begin(), accepted.end(), finished.status) == accepted.end()) {
    throw ExperimentFailure(
        fmt::format("`{}` exited with status {}", command_line(argv), finished.status),
        tail_of(finished.err));
  }
  return finished;
}

std::size_t position_of(const std::string& text, const std::string& label, std::size_t from = 0) {
  const auto at = text.find(label, from);
  if (at == std::string::npos) {
    throw ExperimentFailure(fmt::format("no \"{}\" in the output:\n{}", label, tail_of(text, 8)),
                            {});
  }
  return at;
}

// The number right after `label` in `text` (searching from `from`).
double number_after(const std::string& text, const std::string& label, std::size_t from = 0) {
  const char* start = text.c_str() + position_of(text, label, from) + label.size();
  char* end = nullptr;
  const double value = std::strtod(start, &end);
  if (end == start || !std::isfinite(value)) {
    throw ExperimentFailure(fmt::format("no number after \"{}\" in the output", label), {});
  }
  return value;
}

LabReport::Experiment make_experiment(std::string id, std::string title, std::string seed,
                                      std::string claim) {
  LabReport::Experiment experiment;
  experiment.id = std::move(id);
  experiment.title = std::move(title);
  experiment.seed = std::move(seed);
  experiment.claim = std::move(claim);
  return experiment;
}

struct Settings {
  bool quick = false;
  unsigned connections = 0;  // 0: 1000, or 100 with --quick
  std::string out = "lab-report.html";
  std::string inject_failure;  // hidden: an experiment id whose child gets a bad option
  std::string only;            // hidden: run just the experiment with this id
};

class Lab {
 public:
  explicit Lab(const Settings& settings) : settings_(settings), self_(self_path()) {}

  LabReport run() {
    LabReport report("pizzeria lab: the seeds' claims, measured");
    for (auto plan : {&Lab::cpu_bound_experiment, &Lab::io_bound_experiment,
                      &Lab::server_experiment, &Lab::race_experiment, &Lab::deadlock_experiment}) {
      Plan planned = (this->*plan)();
      if (settings_.only.empty() || settings_.only == planned.experiment.id) {
        attempt(report, std::move(planned));
      }
    }
    return report;
  }

 private:
  using Measure = std::function<void(LabReport::Experiment&)>;
  struct Plan {
    LabReport::Experiment experiment;
    Measure measure;
  };

  void attempt(LabReport& report, Plan plan) {
    LabReport::Experiment experiment = std::move(plan.experiment);
    std::fprintf(stderr, "lab: %s...\n", experiment.title.c_str());
    try {
      plan.measure(experiment);
    } catch (const ExperimentFailure& failure) {
      experiment.failed = true;
      experiment.failure = failure.what();
      experiment.stderr_tail = failure.stderr_tail;
    } catch (const std::exception& error) {
      experiment.failed = true;
      experiment.failure = error.what();
    }
    report.add(std::move(experiment));
  }

  // The argv of a subcommand of this executable, with the injected bad
  // option when the hidden --inject-failure names this experiment.
  std::vector<std::string> command(const std::string& experiment_id,
                                   std::vector<std::string> arguments) const {
    arguments.insert(arguments.begin(), self_);
    if (settings_.inject_failure == experiment_id) {
      arguments.emplace_back("--lab-injected-failure");
    }
    return arguments;
  }

  std::chrono::duration<double> limit() const { return std::chrono::seconds(60); }

  Plan cpu_bound_experiment() {
    auto experiment = make_experiment(
        "cpu-bound", "CPU-bound work: threads vs processes, with and without a GIL",
        "seed 002, section 0.3.2 (Global Interpreter Lock) and 0.4 (MuchCPU)",
        "The GIL prevents any two threads from doing work at the exact same time: "
        "threads are useless in Python for parallel processing, so CPU-bound work "
        "goes to processes. C++ has no GIL; --gil adds one to show the difference.");
    const std::string iterations = settings_.quick ? "20000000" : "200000000";
    auto free = command("cpu-bound", {"cpu-demo", "--workers", "2", "--iterations", iterations});
    auto gil =
        command("cpu-bound", {"cpu-demo", "--workers", "2", "--iterations", iterations, "--gil"});
    experiment.commands = {command_line(free), command_line(gil)};
    return {std::move(experiment), [this, free, gil](LabReport::Experiment& result) {
              const std::string a = run_bounded(free, limit()).out;
              const std::string b = run_bounded(gil, limit()).out;
              const double alone = number_after(a, "one worker alone");
              const double threads_s = number_after(a, "2 threads");
              const double threads = number_after(a, "speed-up", position_of(a, "2 threads"));
              const double processes_s = number_after(a, "2 processes");
              const double processes = number_after(a, "speed-up", position_of(a, "2 processes"));
              const double gil_alone = number_after(b, "one worker alone");
              const double gil_s = number_after(b, "2 threads (GIL)");
              const double gil_up = number_after(b, "speed-up", position_of(b, "2 threads (GIL)"));
              result.columns = {"run", "seconds", "speed-up (ideal 2)"};
              result.rows = {
                  {"one worker alone", LabReport::number(alone), "1"},
                  {"2 threads", LabReport::number(threads_s), LabReport::number(threads)},
                  {"2 processes", LabReport::number(processes_s), LabReport::number(processes)},
                  {"one worker alone (--gil run)", LabReport::number(gil_alone), "1"},
                  {"2 threads (GIL)", LabReport::number(gil_s), LabReport::number(gil_up)},
              };
              result.charts = {{"Speed-up of 2 workers over one (ideal 2)",
                                "x",
                                {{"2 threads", threads},
                                 {"2 processes", processes},
                                 {"2 threads with a GIL", gil_up}}}};
              result.verdict = fmt::format(
                  "threads scaled {:.2f} of 2 and processes {:.2f} of 2: {}; with --gil threads "
                  "scaled {:.2f} of 2: {}",
                  threads, processes,
                  threads > 1.5 ? "no GIL in C++, threads run CPU work in parallel"
                                : "threads did not scale here (a busy or single-core machine?)",
                  gil_up,
                  gil_up < 1.3 ? "a global lock serialises them, as the seed says"
                               : "the lock did not serialise them, unlike the seed's claim");
            }};
  }

  Plan io_bound_experiment() {
    auto experiment = make_experiment(
        "io-bound", "I/O-bound work: sequential vs threads vs coroutines",
        "seed 004 (Threading) and seed 002, section 0.9",
        "For I/O-bound concurrency problems the GIL does not matter much: while one "
        "operation waits on the I/O subsystem another can run, so threads (and "
        "coroutines) overlap the waits that sequential code adds up.");
    const std::string tasks = "10";
    const std::string seconds = settings_.quick ? "0.05" : "0.5";
    auto argv = command("io-bound", {"io-demo", "--tasks", tasks, "--seconds", seconds});
    experiment.commands = {command_line(argv)};
    return {
        std::move(experiment), [this, argv](LabReport::Experiment& result) {
          const std::string out = run_bounded(argv, limit()).out;
          const double sequential = number_after(out, "sequential");
          const double threads = number_after(out, "10 threads");
          const double coroutines = number_after(out, "10 coroutines");
          result.columns = {"run", "elapsed seconds", "fraction of sequential"};
          result.rows = {
              {"sequential", LabReport::number(sequential), "1"},
              {"10 threads", LabReport::number(threads), LabReport::number(threads / sequential)},
              {"10 coroutines", LabReport::number(coroutines),
               LabReport::number(coroutines / sequential)},
          };
          result.charts = {{"Elapsed time of 10 waits",
                            "s",
                            {{"sequential", sequential},
                             {"10 threads", threads},
                             {"10 coroutines", coroutines}}}};
          const double worst = std::max(threads, coroutines) / sequential;
          result.verdict = fmt::format(
              "threads took {:.2f} and coroutines {:.2f} of the sequential time (ideal 0.1): "
              "{}",
              threads / sequential, coroutines / sequential,
              worst < 0.5 ? "the waits overlap, as the seed says"
                          : "the waits did not overlap, unlike the seed's claim");
        }};
  }

  // A `pizzeria serve` child on an ephemeral loopback port.
  class Server {
   public:
    Server(std::vector<std::string> argv, std::chrono::duration<double> limit)
        : argv_(std::move(argv)), child_(argv_) {
      const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(limit);
      const std::string marker = "Starting up at: 127.0.0.1:";
      while (port_ == 0) {
        for (const std::string* text : {&child_.out(), &child_.err()}) {
          const auto at = text->find(marker);
          if (at != std::string::npos && text->find('\n', at) != std::string::npos) {
            port_ = std::atoi(text->c_str() + at + marker.size());
          }
        }
        if (port_ != 0) {
          break;
        }
        if (!child_.pump(milliseconds(10)) || child_.exited() || Clock::now() > deadline) {
          child_.kill_group();
          throw ExperimentFailure(
              fmt::format("`{}` did not print \"{}PORT\"", command_line(argv_), marker),
              tail_of(child_.err() + child_.out()));
        }
      }
    }

    int port() const { return port_; }
    pid_t pid() const { return child_.pid(); }

    // Stops it with SIGTERM, as a service manager would, and expects a clean
    // exit.
    void stop(std::chrono::duration<double> limit) {
      child_.signal(SIGTERM);
      const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(limit);
      while (!child_.exited() && Clock::now() < deadline) {
        if (!child_.pump(milliseconds(10))) {
          std::this_thread::sleep_for(milliseconds(10));  // pipes closed: only the exit is left
        }
      }
      if (!child_.exited()) {
        child_.kill_group();
        child_.wait_exit();
        throw ExperimentFailure(fmt::format("`{}` did not stop within {:.3g} s of SIGTERM",
                                            command_line(argv_), limit.count()),
                                tail_of(child_.err()));
      }
      const auto drain_until = Clock::now() + milliseconds(1000);
      while (child_.pump(milliseconds(10)) && Clock::now() < drain_until) {
      }
      if (child_.wait_exit() != 0) {
        throw ExperimentFailure(
            fmt::format("`{}` exited with status {}", command_line(argv_), child_.wait_exit()),
            tail_of(child_.err()));
      }
    }

   private:
    std::vector<std::string> argv_;
    Child child_;
    int port_ = 0;
  };

  struct ProcessSample {
    long threads = 0;
    long rss_kib = 0;
  };

  static std::optional<ProcessSample> sample_status(pid_t pid) {
    std::ifstream status(fmt::format("/proc/{}/status", pid));
    if (!status) {
      return std::nullopt;
    }
    ProcessSample sample;
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("Threads:", 0) == 0) {
        sample.threads = std::atol(line.c_str() + 8);
      } else if (line.rfind("VmRSS:", 0) == 0) {
        sample.rss_kib = std::atol(line.c_str() + 6);
      }
    }
    return sample;
  }

  // User plus system CPU seconds of `pid`, from /proc/PID/stat.
  static double cpu_seconds(pid_t pid) {
    std::ifstream stat(fmt::format("/proc/{}/stat", pid));
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    // The command name in parentheses may contain spaces: count fields
    // after its closing parenthesis (utime and stime are fields 14 and 15).
    const auto close = text.rfind(')');
    if (close == std::string::npos) {
      throw ExperimentFailure(fmt::format("/proc/{}/stat could not be read", pid), {});
    }
    std::istringstream fields(text.substr(close + 1));
    std::string field;
    double ticks = 0;
    for (int index = 3; fields >> field && index <= 15; ++index) {
      if (index >= 14) {
        ticks += std::atof(field.c_str());
      }
    }
    return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
  }

  struct LoadResult {
    double replies_per_second = 0;
    double p99_ms = 0;
    double errors = 0;
    long peak_threads = 0;
    long peak_rss_kib = 0;
  };

  LoadResult load_model(const std::string& model, unsigned connections, const std::string& duration,
                        std::vector<std::string>& commands) {
    auto serve = command("server", {"serve", "--model", model, "--port", "0", "--workers", "1",
                                    "--max-connections", "20000"});
    commands.push_back(command_line(serve));
    Server server(serve, limit());
    const std::string json_path = fmt::format("/tmp/pizzeria-lab-{}-{}.json", ::getpid(), model);
    // Removed however this experiment ends.
    const std::unique_ptr<const std::string, void (*)(const std::string*)> remove_json(
        &json_path, [](const std::string* path) { std::remove(path->c_str()); });
    auto load =
        command("server", {"load", fmt::format("127.0.0.1:{}", server.port()), "-c",
                           std::to_string(connections), "-d", duration, "--json", json_path});
    // The report shows the port as PORT: it changes on every run.
    auto shown = load;
    shown[2] = "127.0.0.1:PORT";
    shown.back() = "FILE";
    commands.push_back(command_line(shown));
    LoadResult result;
    const pid_t pid = server.pid();
    const auto sample = [&result, pid] {
      if (const auto now = sample_status(pid)) {
        result.peak_threads = std::max(result.peak_threads, now->threads);
        result.peak_rss_kib = std::max(result.peak_rss_kib, now->rss_kib);
      }
    };
    // Exit 1 means the run completed but counted errors: the errors are a
    // measurement, shown in the table.
    run_bounded(load, limit(), sample, {0, 1});
    server.stop(std::chrono::seconds(20));
    std::ifstream file(json_path);
    nlohmann::json json;
    try {
      json = nlohmann::json::parse(file);
    } catch (const nlohmann::json::exception& error) {
      throw ExperimentFailure(fmt::format("{}: {}", json_path, error.what()), {});
    }
    try {
      result.replies_per_second = json.at("replies_per_second").get<double>();
      result.p99_ms = json.at("latency").at("p99").get<double>() / 1e6;
      for (const auto& [name, count] : json.at("errors").items()) {
        if (count.is_number()) {
          result.errors += count.get<double>();
        }
      }
    } catch (const nlohmann::json::exception& error) {
      throw ExperimentFailure(fmt::format("load's JSON: {}", error.what()), {});
    }
    return result;
  }

  double idle_cpu(const std::string& model, double seconds, std::vector<std::string>& commands) {
    auto serve = command("server", {"serve", "--model", model, "--port", "0", "--workers", "1"});
    commands.push_back(command_line(serve) + fmt::format("   (idle for {} s)", seconds));
    Server server(serve, limit());
    const double before = cpu_seconds(server.pid());
    const auto start = Clock::now();
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    const double burned = cpu_seconds(server.pid()) - before;
    const double wall = std::chrono::duration<double>(Clock::now() - start).count();
    server.stop(std::chrono::seconds(20));
    return burned / wall;
  }

  Plan server_experiment() {
    const unsigned connections =
        settings_.connections != 0 ? settings_.connections : (settings_.quick ? 100 : 1000);
    auto experiment = make_experiment(
        "server", fmt::format("Thread per client vs reactor at {} connections", connections),
        "seed 000, Exercises 4, 5 and 7, and the appendix (the reactor pattern)",
        "A thread per client lets the server serve many customers, but with millions "
        "of concurrent requests each thread costs memory and the OS must slice time "
        "between them (Exercise 5: 10000 threads at 1 us per switch). A reactor "
        "waits for all sockets in one thread; busy-waiting on non-blocking sockets "
        "(Exercise 7) burns a core even when no one is connected.");
    const std::string duration = settings_.quick ? "300ms" : "3s";
    const double idle_seconds = settings_.quick ? 0.3 : 1.0;
    return {
        std::move(experiment),
        [this, connections, duration, idle_seconds](LabReport::Experiment& result) {
          const LoadResult threads = load_model("threads", connections, duration, result.commands);
          const LoadResult reactor = load_model("reactor", connections, duration, result.commands);
          const double polling_cpu = idle_cpu("polling", idle_seconds, result.commands);
          const double reactor_cpu = idle_cpu("reactor", idle_seconds, result.commands);
          result.columns = {"model",        "replies/s",    "p99 ms",      "errors",
                            "peak threads", "peak RSS MiB", "idle CPU s/s"};
          const auto row = [](const char* name, const LoadResult& r, std::string idle) {
            return std::vector<std::string>{name,
                                            LabReport::number(r.replies_per_second),
                                            LabReport::number(r.p99_ms),
                                            fmt::format("{:.0f}", r.errors),
                                            std::to_string(r.peak_threads),
                                            LabReport::number(r.peak_rss_kib / 1024.0),
                                            std::move(idle)};
          };
          // "-": not measured for that model.
          result.rows = {row("threads", threads, "-"),
                         row("reactor", reactor, fmt::format("{:.2f}", reactor_cpu)),
                         {"polling", "-", "-", "-", "-", "-", fmt::format("{:.2f}", polling_cpu)}};
          result.charts = {
              {"Replies per second",
               "",
               {{"threads", threads.replies_per_second}, {"reactor", reactor.replies_per_second}}},
              {"p99 latency", "ms", {{"threads", threads.p99_ms}, {"reactor", reactor.p99_ms}}},
              {"Peak server threads",
               "",
               {{"threads", static_cast<double>(threads.peak_threads)},
                {"reactor", static_cast<double>(reactor.peak_threads)}}},
              {"Peak server RSS",
               "MiB",
               {{"threads", threads.peak_rss_kib / 1024.0},
                {"reactor", reactor.peak_rss_kib / 1024.0}}},
              {"CPU burned while idle, per second",
               "s",
               {{"polling", polling_cpu}, {"reactor", reactor_cpu}}},
          };
          result.verdict = fmt::format(
              "at {} connections the thread-per-client server peaked at {} threads and {:.1f} "
              "MiB, the reactor at {} thread{} and {:.1f} MiB; reactor throughput {:.2f}x "
              "of threads, p99 {:.2f}x; idle, polling burned {:.2f} CPU-s per s and the "
              "reactor {:.2f}; Exercise 5's arithmetic (100 us of work and a 1 us switch per "
              "thread per second) asks {:.3f} of a core for {} threads, {:.2f} for 10000",
              connections, threads.peak_threads, threads.peak_rss_kib / 1024.0,
              reactor.peak_threads, reactor.peak_threads == 1 ? "" : "s",
              reactor.peak_rss_kib / 1024.0,
              reactor.replies_per_second / threads.replies_per_second,
              reactor.p99_ms / threads.p99_ms, polling_cpu, reactor_cpu,
              static_cast<double>(threads.peak_threads) * 101e-6, threads.peak_threads,
              10000 * 101e-6);
        }};
  }

  struct RaceLine {
    double expected = 0;
    double lost = 0;
  };

  static RaceLine race_line(const std::string& out, const std::string& label) {
    const auto at = position_of(out, label);
    return {number_after(out, "expected", at), number_after(out, "lost", at)};
  }

  Plan race_experiment() {
    auto experiment = make_experiment(
        "race", "Race condition: lost updates of a shared counter",
        "seed 003, Race condition; seed 002, section 0.3.1",
        "Race conditions arise when two threads reference the same object at the same "
        "time: a read, then a write, lets one thread overwrite another's update. "
        "Synchronisation (a lock) prevents it.");
    auto free = command(
        "race", {"race", "--threads", "2", "--increments", settings_.quick ? "100000" : "1000000"});
    auto lockstep = command("race", {"race", "--lockstep", "--threads", "2", "--increments",
                                     settings_.quick ? "1000" : "10000"});
    experiment.commands = {command_line(free), command_line(lockstep)};
    return {
        std::move(experiment), [this, free, lockstep](LabReport::Experiment& result) {
          const std::string a = run_bounded(free, limit()).out;
          const std::string b = run_bounded(lockstep, limit()).out;
          const char* racy = "read, then write";
          const char* atomic = "atomic fetch_add";
          const char* mutex = "under a mutex";
          result.columns = {"run", "update", "expected", "lost", "lost %"};
          result.charts.push_back({"Updates lost, in percent", "%", {}});
          for (const auto& [name, out] : {std::pair{"free-running", a}, {"lockstep", b}}) {
            for (const char* update : {racy, atomic, mutex}) {
              const RaceLine line = race_line(out, update);
              const double percent = 100.0 * line.lost / line.expected;
              result.rows.push_back({name, update, fmt::format("{:.0f}", line.expected),
                                     fmt::format("{:.0f}", line.lost), LabReport::number(percent)});
              // Short labels: the chart's label column is narrow.
              const char* shown = update == racy     ? "read, write"
                                  : update == atomic ? "fetch_add"
                                                     : "mutex";
              result.charts[0].bars.push_back(
                  {fmt::format("{} {}", name == std::string("lockstep") ? "lockstep" : "free",
                               shown),
                   percent});
            }
          }
          const RaceLine free_racy = race_line(a, racy);
          const RaceLine step_racy = race_line(b, racy);
          const double safe_lost = race_line(a, atomic).lost + race_line(a, mutex).lost +
                                   race_line(b, atomic).lost + race_line(b, mutex).lost;
          result.verdict = fmt::format(
              "read-then-write lost {:.0f} of {:.0f} updates running freely and {:.1f}% in "
              "lockstep; fetch_add and the mutex lost {:.0f}: {}",
              free_racy.lost, free_racy.expected, 100.0 * step_racy.lost / step_racy.expected,
              safe_lost,
              step_racy.lost > 0 && safe_lost == 0
                  ? "the race loses updates, synchronisation keeps them"
                  : "unexpected: the claim did not hold here");
        }};
  }

  Plan deadlock_experiment() {
    auto experiment = make_experiment(
        "deadlock", "Deadlock: dining philosophers and the Coffman conditions",
        "seed 003, Deadlock",
        "Deadlock occurs when the Coffman conditions hold: mutual exclusion, hold and "
        "wait, no preemption and circular wait. Removing any one of them (ordered "
        "forks: no circular wait; both forks at once: no hold and wait) prevents it.");
    const std::string meals = settings_.quick ? "100" : "2000";
    std::vector<std::vector<std::string>> runs;
    for (const char* strategy : {"left-then-right", "ordered", "both-at-once"}) {
      runs.push_back(
          command("deadlock", {"deadlock", "--force", "--strategy", strategy, "--meals", meals}));
      experiment.commands.push_back(command_line(runs.back()));
    }
    return {std::move(experiment), [this, runs](LabReport::Experiment& result) {
              result.columns = {"strategy", "deadlocks", "meals eaten", "exclusion violations",
                                "first circular wait"};
              result.charts.push_back({"Deadlocks caught", "", {}});
              std::vector<double> deadlocks;
              double violations = 0;
              for (const auto& argv : runs) {
                const std::string out = run_bounded(argv, limit()).out;
                const std::string& strategy = argv[4];
                const double count = number_after(out, "deadlocks: ");
                const double eaten = number_after(out, "meals eaten: ");
                const double of = number_after(out, " of ", position_of(out, "meals eaten: "));
                const double violated = number_after(out, "mutual exclusion violations: ");
                violations += violated;
                std::string cycle = "none";
                const std::string marker = "first deadlock, as a circular wait: ";
                if (const auto at = out.find(marker); at != std::string::npos) {
                  const auto start = at + marker.size();
                  cycle = out.substr(start, out.find('\n', start) - start);
                }
                result.rows.push_back({strategy, fmt::format("{:.0f}", count),
                                       fmt::format("{:.0f} of {:.0f}", eaten, of),
                                       fmt::format("{:.0f}", violated), cycle});
                result.charts[0].bars.push_back({strategy, count});
                deadlocks.push_back(count);
              }
              const bool holds =
                  deadlocks[0] > 0 && deadlocks[1] == 0 && deadlocks[2] == 0 && violations == 0;
              result.verdict = fmt::format(
                  "left-then-right deadlocked {:.0f} {} (all four conditions, cycle shown); "
                  "ordered {:.0f}, both-at-once {:.0f}: {}",
                  deadlocks[0], deadlocks[0] == 1 ? "time" : "times", deadlocks[1], deadlocks[2],
                  holds ? "removing one Coffman condition prevents deadlock"
                        : "unexpected: the claim did not hold here");
            }};
  }

  Settings settings_;
  std::string self_;
};

// 1000 connections need about 2000 descriptors between the load generator
// and the server, both children inheriting this limit.
void raise_descriptor_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

int run_lab(const Settings& settings) {
  raise_descriptor_limit();
  stop_children_on_signals();
  Lab lab(settings);
  const LabReport report = lab.run();
  std::ofstream file(settings.out, std::ios::trunc);
  file << report.html();
  file.close();
  if (!file) {
    std::fprintf(stderr, "lab: writing the report to %s failed: %s\n", settings.out.c_str(),
                 std::strerror(errno));
    return 1;
  }
  std::fputs(report.summary().c_str(), stdout);
  std::printf("report: %s\n", settings.out.c_str());
  return report.any_failed() ? 1 : 0;
}

}  // namespace

// A lab killed by SIGKILL runs no handler, so its children must notice its
// death themselves: the kernel's PR_SET_PDEATHSIG(SIGKILL), asked for by the
// child, followed by a check that the parent is still the lab, for a lab that
// died before the request was in place (its orphans then have another
// parent). posix_spawn runs no code of ours between fork and exec, so the
// request is made here, at the top of the child's main: the first code of
// ours it runs. Alternatives weighed: fork, prctl and exec by hand would lose
// posix_spawn's file actions and attributes and its vfork-style start; a
// wrapper argument would change the command lines the report shows; a
// subreaper or a watchdog process cannot act once it is itself killed; a
// cgroup needs a delegated hierarchy. The death signal follows the *thread*
// that spawned the child: the lab is single-threaded and spawns from its main
// thread, which lives as long as the lab. The variable is removed, so the
// child's own children (a ProcessPool's workers, which arm their own death
// signal) never compare their parent with the lab.
std::optional<int> die_with_lab_if_requested() {
  const char* text = std::getenv(kLabParentVariable);
  if (text == nullptr) {
    return std::nullopt;
  }
  const std::string value(text);
  ::unsetenv(kLabParentVariable);
  char* end = nullptr;
  errno = 0;
  const long lab = std::strtol(value.c_str(), &end, 10);
  if (end == value.c_str() || *end != '\0' || errno != 0 || lab <= 0 || lab > INT_MAX) {
    std::fprintf(stderr,
                 "pizzeria: %s=%s is not a process id (the variable names the `pizzeria lab` "
                 "that started this process)\n",
                 kLabParentVariable, value.c_str());
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

void register_lab_command(CLI::App& app, int& exit_code) {
  auto settings = std::make_shared<Settings>();
  auto* command = app.add_subcommand(
      "lab",
      "Run the seeds' claims as measured experiments (threads vs processes, I/O-bound waits, "
      "thread per client vs reactor, races, deadlock) and write one HTML report");
  command->add_option("--out", settings->out, "Report file (default lab-report.html)");
  command->add_flag("--quick", settings->quick, "Small runs: the whole lab in a few seconds");
  command
      ->add_option("--connections", settings->connections,
                   "Connections for the server experiment (default 1000, or 100 with --quick)")
      ->check(CLI::Range(1U, 10000U));
  // For the tests: the named experiment's child gets an unknown option, so
  // the failure path runs for real.
  command->add_option("--inject-failure", settings->inject_failure)->group("");
  command->add_option("--only", settings->only)->group("");
  command->callback([settings, &exit_code] { exit_code = run_lab(*settings); });
}

}  // namespace pz::app
