// `pizzeria deadlock`: seed 003's deadlock and its four Coffman conditions,
// as dining philosophers. The default strategy lets every condition hold,
// so deadlocks form; each is caught as it forms, printed as the seed writes
// a circular wait (P1 -> R2 -> P2 -> ...), and broken. The other strategies
// each remove one condition and never deadlock. The mechanics are in
// include/pizzeria/programs/dining_philosophers.hpp and resource_table.hpp.
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include "commands.hpp"
#include "pizzeria/programs/dining_philosophers.hpp"

namespace pz::app {

namespace {

using programs::DiningPhilosophers;
using programs::ResourceTable;

struct DeadlockArguments {
  unsigned philosophers = 5;
  std::uint64_t meals = 10'000;
  std::string strategy = "left-then-right";
  bool force = false;
};

// The seed's notation, 1-based: "P1 -> R2 -> P2 -> R3 -> ... -> P1", read
// "P1 waits for R2, which P2 holds; P2 waits for R3, ...".
std::string circular_wait(const ResourceTable::Cycle& cycle) {
  std::string text;
  for (const auto& wait : cycle) {
    text += "P" + std::to_string(wait.worker + 1) + " -> R" + std::to_string(wait.resource + 1) +
            " -> ";
  }
  return text + "P" + std::to_string(cycle.front().worker + 1);
}

const std::map<std::string, DiningPhilosophers::Strategy> kStrategies{
    {"left-then-right", DiningPhilosophers::Strategy::left_then_right},
    {"ordered", DiningPhilosophers::Strategy::ordered},
    {"both-at-once", DiningPhilosophers::Strategy::both_at_once}};

int run_deadlock(const DeadlockArguments& arguments) {
  const DiningPhilosophers::Strategy strategy = kStrategies.at(arguments.strategy);
  const DiningPhilosophers table({.philosophers = arguments.philosophers,
                                  .meals = arguments.meals,
                                  .strategy = strategy,
                                  .force_first_meal = arguments.force});
  std::printf(
      "deadlock: %u philosophers, %u forks, %llu meals each%s\n", arguments.philosophers,
      arguments.philosophers, static_cast<unsigned long long>(arguments.meals),
      arguments.force ? ", first meal forced (all hold one fork before any takes a second)" : "");
  std::printf("  strategy: %s\n", std::string(DiningPhilosophers::describe(strategy)).c_str());
  const DiningPhilosophers::Result result = table.run();
  if (result.first_deadlock) {
    const ResourceTable::Cycle& cycle = *result.first_deadlock;
    std::printf("  first deadlock, as a circular wait: %s\n", circular_wait(cycle).c_str());
    std::printf("    mutual exclusion: each fork has one holder\n");
    std::printf("    hold and wait:    each of the %zu holds one fork and waits for another\n",
                cycle.size());
    std::printf("    no preemption:    no one takes a held fork away\n");
    std::printf("    circular wait:    the chain above closes on itself\n");
    std::printf("    broken by refusing P%zu's wait: it put its fork down and tried again\n",
                cycle.front().worker + 1);
  }
  std::printf(
      "  deadlocks: %llu, meals eaten: %llu of %llu, mutual exclusion violations: %llu, "
      "%.3f s\n",
      static_cast<unsigned long long>(result.deadlocks),
      static_cast<unsigned long long>(result.meals_eaten),
      static_cast<unsigned long long>(arguments.meals * arguments.philosophers),
      static_cast<unsigned long long>(result.exclusion_violations), result.seconds);
  return result.exclusion_violations == 0 ? 0 : 1;
}

}  // namespace

void register_deadlock_command(CLI::App& app, int& exit_code) {
  auto arguments = std::make_shared<DeadlockArguments>();
  auto* command = app.add_subcommand(
      "deadlock",
      "Dining philosophers: deadlocks form, are caught as a circular wait and broken; "
      "--strategy ordered or both-at-once removes a Coffman condition (seed 003)");
  command
      ->add_option("--philosophers", arguments->philosophers, "Philosophers and forks (default 5)")
      ->check(CLI::Range(2U, 1024U));
  command->add_option("--meals", arguments->meals, "Meals per philosopher (default 10000)");
  command
      ->add_option("--strategy", arguments->strategy,
                   "left-then-right (default: can deadlock), ordered (no circular wait), "
                   "both-at-once (no hold and wait)")
      ->check(CLI::IsMember({"left-then-right", "ordered", "both-at-once"}));
  command->add_flag("--force", arguments->force,
                    "Make the first meal deadlock for certain: everyone holds one fork before "
                    "anyone reaches for a second");
  command->callback([arguments, &exit_code] { exit_code = run_deadlock(*arguments); });
}

}  // namespace pz::app
