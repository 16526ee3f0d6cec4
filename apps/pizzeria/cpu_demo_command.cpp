// `pizzeria cpu-demo`: the seed's MuchCPU (seed 002, section 0.4). One busy
// worker per core, first as threads, then as processes, each timed against
// one worker doing the same work alone. In C++ both scale, because nothing
// like CPython's global interpreter lock exists; `--gil` makes the threads
// take one global lock around every slice of work, as CPython's bytecode
// loop does, and the threads stop scaling exactly as the seed describes.
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "commands.hpp"

namespace pz::app {

namespace {

struct CpuDemoArguments {
  std::size_t workers = 0;
  std::uint64_t iterations = 200'000'000;  // the seed's range(200000000)
  bool gil = false;
  bool json = false;
};

// Iterations between two releases of the emulated GIL. CPython switches
// every 5 ms; a slice of this size takes well under that, so the lock changes
// hands often, which is the point.
constexpr std::uint64_t kGilSlice = 100'000;

std::mutex global_interpreter_lock;

// Counts workers inside a slice of work, to show how many ever ran at once.
struct Occupancy {
  // Relaxed: the counts are a statistic; the lock (when used) orders the work.
  std::atomic<int> running{0};
  std::atomic<int> peak{0};

  void enter() {
    const int now = running.fetch_add(1, std::memory_order_relaxed) + 1;
    int seen = peak.load(std::memory_order_relaxed);
    while (now > seen && !peak.compare_exchange_weak(seen, now, std::memory_order_relaxed)) {
    }
  }
  void leave() { running.fetch_sub(1, std::memory_order_relaxed); }
};

// The seed's `for i in range(n): pass`, kept from being optimised away.
std::uint64_t spin(std::uint64_t iterations, std::uint64_t state) {
  for (std::uint64_t i = 0; i < iterations; ++i) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    asm volatile("" : "+r"(state));
  }
  return state;
}

void busy_worker(std::uint64_t iterations, bool gil, Occupancy& occupancy) {
  std::uint64_t state = 1;
  for (std::uint64_t done = 0; done < iterations; done += kGilSlice) {
    const std::uint64_t slice = std::min(kGilSlice, iterations - done);
    std::unique_lock<std::mutex> lock(global_interpreter_lock, std::defer_lock);
    if (gil) {
      lock.lock();
    }
    occupancy.enter();
    state = spin(slice, state);
    occupancy.leave();
    if (gil) {
      lock.unlock();
      std::this_thread::yield();  // let a waiting thread take the lock
    }
  }
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int run_cpu_demo(const CpuDemoArguments& arguments) {
  const std::size_t workers = arguments.workers != 0
                                  ? arguments.workers
                                  : std::max<std::size_t>(1, std::thread::hardware_concurrency());
  if (!arguments.json) {
    std::printf("cpu-demo: %zu workers, %llu iterations each%s\n", workers,
                static_cast<unsigned long long>(arguments.iterations),
                arguments.gil ? ", threads share one global lock (--gil)" : "");
  }

  // Processes first, while this process has a single thread (fork is then safe).
  auto start = std::chrono::steady_clock::now();
  std::vector<pid_t> children;
  const pid_t parent = ::getpid();
  for (std::size_t i = 0; i < workers; ++i) {
    const pid_t pid = ::fork();
    if (pid < 0) {
      std::perror("cpu-demo: fork failed");
      return 1;
    }
    if (pid == 0) {
      // A worker dies with the demo (killed, say, by a `pizzeria lab` that
      // was itself killed): nobody would wait for its result. The check
      // after the request covers a parent that died before it.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) {
        ::_exit(1);
      }
      Occupancy unused;
      busy_worker(arguments.iterations, false, unused);
      ::_exit(0);
    }
    children.push_back(pid);
  }
  for (const pid_t pid : children) {
    int status = 0;
    ::waitpid(pid, &status, 0);
  }
  const double processes = seconds_since(start);

  // One worker alone: the best of three, so a descheduled run does not
  // flatter the parallel figures.
  double alone = 0;
  for (int run = 0; run < 3; ++run) {
    Occupancy unused;
    start = std::chrono::steady_clock::now();
    busy_worker(arguments.iterations, false, unused);
    const double elapsed = seconds_since(start);
    alone = run == 0 ? elapsed : std::min(alone, elapsed);
  }

  Occupancy occupancy;
  start = std::chrono::steady_clock::now();
  {
    std::vector<std::jthread> threads;
    for (std::size_t i = 0; i < workers; ++i) {
      threads.emplace_back([&] { busy_worker(arguments.iterations, arguments.gil, occupancy); });
    }
  }
  const double threads = seconds_since(start);

  const auto speedup = [&](double elapsed) {
    return static_cast<double>(workers) * alone / elapsed;
  };
  if (arguments.json) {
    const nlohmann::json report = {{"workers", workers},
                                   {"iterations", arguments.iterations},
                                   {"gil", arguments.gil},
                                   {"alone_s", alone},
                                   {"threads_s", threads},
                                   {"threads_speedup", speedup(threads)},
                                   {"processes_s", processes},
                                   {"processes_speedup", speedup(processes)},
                                   {"peak_threads_running", occupancy.peak.load()}};
    std::printf("%s\n", report.dump().c_str());
    return 0;
  }
  std::printf("  one worker alone     %8.3f s\n", alone);
  std::printf("  %zu threads%s    %8.3f s   speed-up %.2f of %zu\n", workers,
              arguments.gil ? " (GIL)" : "      ", threads, speedup(threads), workers);
  std::printf("  %zu processes        %8.3f s   speed-up %.2f of %zu\n", workers, processes,
              speedup(processes), workers);
  std::printf("  threads running at once, at most: %d\n", occupancy.peak.load());
  return 0;
}

}  // namespace

void register_cpu_demo_command(CLI::App& app, int& exit_code) {
  auto arguments = std::make_shared<CpuDemoArguments>();
  auto* command = app.add_subcommand(
      "cpu-demo",
      "Busy workers as threads and as processes, timed (the seed's MuchCPU); --gil adds a "
      "global lock to the threads, as CPython has");
  command->add_option("--workers", arguments->workers, "Workers (default: one per core)");
  command->add_option("--iterations", arguments->iterations,
                      "Loop iterations per worker (default 200000000, as the seed)");
  command->add_flag("--gil", arguments->gil, "Threads take one global lock around their work");
  command->add_flag("--json", arguments->json,
                    "Print the timings as one JSON object instead of lines (what `lab` reads)");
  command->callback([arguments, &exit_code] { exit_code = run_cpu_demo(*arguments); });
}

}  // namespace pz::app
