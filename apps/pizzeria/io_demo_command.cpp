// `pizzeria io-demo`: N I/O-bound operations (a sleep standing in for a
// database query, as in seed 004) run one after another, on N threads, and as
// N coroutines on one thread, with the elapsed time of each. Waiting overlaps
// in the last two, so both take about one operation's time, not N.
#include <chrono>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "commands.hpp"
#include "pizzeria/coro/gather.hpp"
#include "pizzeria/coro/run.hpp"
#include "pizzeria/coro/sleep.hpp"
#include "pizzeria/coro/task.hpp"

namespace pz::app {

namespace {

struct IoDemoArguments {
  int tasks = 10;        // the seed's number_of_threads
  double seconds = 5.0;  // the seed's SECONDS_TAKEN_FOR_SINGLE_IO_OPERATION
  bool json = false;
};

using Clock = std::chrono::steady_clock;

double elapsed_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

Task<void> io_bound_coroutine(Duration wait) {
  co_await sleep(wait);
}

Task<void> all_coroutines(int count, Duration wait) {
  std::vector<Task<void>> tasks;
  for (int i = 0; i < count; ++i) {
    tasks.push_back(io_bound_coroutine(wait));
  }
  co_await gather(std::move(tasks));
}

int run_io_demo(const IoDemoArguments& arguments) {
  const auto wait =
      std::chrono::duration_cast<Duration>(std::chrono::duration<double>(arguments.seconds));
  // With --json the lines are left out and one object is printed at the end.
  const auto print = [&arguments](auto... values) {
    if (!arguments.json) {
      std::printf(values...);
      std::fflush(stdout);
    }
  };
  print("io-demo: %d I/O-bound operations of %.3f s each\n", arguments.tasks, arguments.seconds);

  auto start = Clock::now();
  for (int i = 0; i < arguments.tasks; ++i) {
    std::this_thread::sleep_for(wait);
  }
  const double sequential = elapsed_since(start);
  print("  %-16s %8.3f s\n", "sequential", sequential);

  start = Clock::now();
  {
    std::vector<std::jthread> threads;
    for (int i = 0; i < arguments.tasks; ++i) {
      threads.emplace_back([wait] { std::this_thread::sleep_for(wait); });
    }
  }
  const double threaded = elapsed_since(start);
  print("  %-16s %8.3f s   %.3f of sequential\n",
        (std::to_string(arguments.tasks) + " threads").c_str(), threaded, threaded / sequential);

  start = Clock::now();
  run(all_coroutines(arguments.tasks, wait));
  const double coroutines = elapsed_since(start);
  print("  %-16s %8.3f s   %.3f of sequential\n",
        (std::to_string(arguments.tasks) + " coroutines").c_str(), coroutines,
        coroutines / sequential);
  if (arguments.json) {
    const nlohmann::json report = {{"tasks", arguments.tasks},
                                   {"seconds", arguments.seconds},
                                   {"sequential_s", sequential},
                                   {"threads_s", threaded},
                                   {"coroutines_s", coroutines}};
    std::printf("%s\n", report.dump().c_str());
  }
  return 0;
}

}  // namespace

void register_io_demo_command(CLI::App& app, int& exit_code) {
  auto arguments = std::make_shared<IoDemoArguments>();
  auto* command = app.add_subcommand(
      "io-demo", "I/O-bound waits sequentially, on threads and as coroutines, timed (seed 004)");
  command->add_option("--tasks", arguments->tasks, "Operations (default 10)")
      ->check(more_than_zero());
  command->add_option("--seconds", arguments->seconds, "Length of each operation (default 5)")
      ->check(seconds_between(1e-6, 1e6));
  command->add_flag("--json", arguments->json,
                    "Print the timings as one JSON object instead of lines (what `lab` reads)");
  command->callback([arguments, &exit_code] { exit_code = run_io_demo(*arguments); });
}

}  // namespace pz::app
