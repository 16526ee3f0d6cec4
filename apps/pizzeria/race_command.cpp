// `pizzeria race`: seed 003's race condition. Threads add one to a shared
// counter, three ways: a separate read and write (updates are lost), an
// atomic fetch_add, and a mutex. --lockstep forces the losing interleaving
// so the loss is exact instead of up to the scheduler. The mechanics and
// why the racy counter is still an atomic are in
// include/pizzeria/programs/counter_race.hpp.
#include <cstdint>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "commands.hpp"
#include "pizzeria/programs/counter_race.hpp"

namespace pz::app {

namespace {

struct RaceArguments {
  unsigned threads = 2;
  std::uint64_t increments = 0;  // 0: 1,000,000, or 10,000 with --lockstep
  bool lockstep = false;
  bool json = false;
};

const char* json_name(programs::CounterRace::Update update) {
  switch (update) {
    case programs::CounterRace::Update::read_then_write:
      return "read_then_write";
    case programs::CounterRace::Update::atomic_add:
      return "atomic_add";
    case programs::CounterRace::Update::mutex:
      return "mutex";
  }
  return "?";
}

int run_race(const RaceArguments& arguments) {
  using programs::CounterRace;
  const std::uint64_t increments =
      arguments.increments != 0 ? arguments.increments : (arguments.lockstep ? 10'000 : 1'000'000);
  const CounterRace race(
      {.threads = arguments.threads, .increments = increments, .lockstep = arguments.lockstep});
  nlohmann::json report = {{"threads", arguments.threads},
                           {"increments", increments},
                           {"lockstep", arguments.lockstep},
                           {"updates", nlohmann::json::object()}};
  if (!arguments.json) {
    std::printf(
        "race: %u threads x %llu increments of one shared counter%s\n", arguments.threads,
        static_cast<unsigned long long>(increments),
        arguments.lockstep ? ", in lockstep (every thread reads, then every thread writes)" : "");
  }
  for (const auto update : {CounterRace::Update::read_then_write, CounterRace::Update::atomic_add,
                            CounterRace::Update::mutex}) {
    const CounterRace::Result result = race.run(update);
    const double lost_percent =
        100.0 * static_cast<double>(result.lost()) / static_cast<double>(result.expected);
    if (arguments.json) {
      report["updates"][json_name(update)] = {{"expected", result.expected},
                                              {"counted", result.counted},
                                              {"lost", result.lost()},
                                              {"seconds", result.seconds}};
      continue;
    }
    std::printf("  %-38s expected %llu, counted %llu, lost %llu (%.1f%%), %.3f s\n",
                std::string(CounterRace::describe(update)).c_str(),
                static_cast<unsigned long long>(result.expected),
                static_cast<unsigned long long>(result.counted),
                static_cast<unsigned long long>(result.lost()), lost_percent, result.seconds);
  }
  if (arguments.json) {
    std::printf("%s\n", report.dump().c_str());
  }
  return 0;
}

}  // namespace

void register_race_command(CLI::App& app, int& exit_code) {
  auto arguments = std::make_shared<RaceArguments>();
  auto* command = app.add_subcommand(
      "race",
      "Threads increment one shared counter with a separate read and write (a race condition "
      "that loses updates), with fetch_add, and under a mutex (seed 003)");
  command->add_option("--threads", arguments->threads, "Threads (default 2)")
      ->check(CLI::Range(1U, 1024U));
  command->add_option("--increments", arguments->increments,
                      "Increments per thread (default 1000000, or 10000 with --lockstep)");
  command->add_flag("--lockstep", arguments->lockstep,
                    "Force the losing interleaving: all threads read, then all write");
  command->add_flag("--json", arguments->json,
                    "Print the counts as one JSON object instead of lines (what `lab` reads)");
  command->callback([arguments, &exit_code] { exit_code = run_race(*arguments); });
}

}  // namespace pz::app
