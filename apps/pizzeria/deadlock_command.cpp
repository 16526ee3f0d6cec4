// `pizzeria deadlock`: seed 003's deadlock and its four Coffman conditions,
// as dining philosophers. The default strategy lets every condition hold,
// so deadlocks form; each is caught as it forms, printed as the seed writes
// a circular wait (P1 -> R2 -> P2 -> ...), and broken. The other strategies
// each remove one condition and never deadlock. The mechanics are in
// include/pizzeria/programs/dining_philosophers.hpp and resource_table.hpp.
// With --redis, the philosophers are processes and the forks Redis locks
// (include/pizzeria/programs/distributed_philosophers.hpp).
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "commands.hpp"
#include "pizzeria/pizza/load_generator.hpp"
#include "pizzeria/programs/dining_philosophers.hpp"
#include "pizzeria/programs/distributed_philosophers.hpp"

namespace pz::app {

namespace {

using programs::DiningPhilosophers;
using programs::DistributedPhilosophers;
using programs::ResourceTable;

constexpr const char* kExitCodesHelp =
    "Exit codes:\n"
    "  0  every meal was eaten and mutual exclusion held\n"
    "  1  an error (Redis unreachable, a philosopher failed), or with threads a\n"
    "     mutual exclusion violation\n"
    "  2  --redis: a deadlock formed (a circular wait with no lease); it was reported\n"
    "     and the philosophers stopped\n"
    "  3  --redis: the dinner did not finish within --time-limit\n";

struct DeadlockArguments {
  unsigned philosophers = 5;
  std::uint64_t meals = 10'000;
  std::string strategy = "left-then-right";
  bool force = false;
  std::string redis;
  unsigned processes = 5;
  std::uint64_t lease_ms = 0;
  bool fencing = false;
  bool stall = false;
  bool json = false;
  double time_limit = 60;
};

// The seed's notation, 1-based: "P1 -> R2 -> P2 -> R3 -> ... -> P1".
std::string circular_wait(const ResourceTable::Cycle& cycle) {
  return ResourceTable::notation(cycle);
}

const std::map<std::string, DiningPhilosophers::Strategy> kStrategies{
    {"left-then-right", DiningPhilosophers::Strategy::left_then_right},
    {"ordered", DiningPhilosophers::Strategy::ordered},
    {"both-at-once", DiningPhilosophers::Strategy::both_at_once}};

nlohmann::json cycle_json(const std::optional<ResourceTable::Cycle>& cycle) {
  return cycle ? nlohmann::json(circular_wait(*cycle)) : nlohmann::json(nullptr);
}

int run_distributed(const DeadlockArguments& arguments, DistributedPhilosophers::Options options) {
  const SocketAddress redis = resolve_load_target(arguments.redis);
  options.host = redis.host();
  options.port = redis.port();
  options.credentials = RedisCredentials::from_environment();
  const DistributedPhilosophers dinner(options);
  if (!arguments.json) {
    std::printf("%s", dinner.header().c_str());
    std::fflush(stdout);  // before the dinner, which may take a while
  }
  const DistributedPhilosophers::Result r = dinner.run();
  const int status = DistributedPhilosophers::exit_status(r);
  if (!arguments.json) {
    std::printf("%s", dinner.report(r).c_str());
    return status;
  }
  const nlohmann::json out{{"mode", "processes"},
                           {"processes", options.processes},
                           {"strategy", arguments.strategy},
                           {"forced", options.force_first_meal},
                           {"lease_ms", options.lease.count()},
                           {"fencing", options.fencing},
                           {"stall", options.stall},
                           {"meals_eaten", r.meals_eaten},
                           {"meals_expected", r.meals_expected},
                           {"completed", r.completed},
                           {"deadlocked", r.deadlocked},
                           {"timed_out", r.timed_out},
                           {"cycle", cycle_json(r.cycle)},
                           {"cycle_age_ms", r.cycle_age_ms},
                           {"circular_waits_seen", r.circular_waits_seen},
                           {"forks_lost", r.forks_lost},
                           {"stalled", r.stalled},
                           {"stale_writes_accepted", r.stale_accepted},
                           {"stale_writes_refused", r.stale_refused},
                           {"seconds", r.seconds},
                           {"meals_per_second", r.meals_per_second()},
                           {"exit_status", status}};
  std::printf("%s\n", out.dump().c_str());
  return status;
}

// The lines after the header, or with --json one JSON object instead.
int print_threads(const DeadlockArguments& arguments, const DiningPhilosophers::Result& result) {
  const int status = result.exclusion_violations == 0 ? 0 : 1;
  const nlohmann::json out{{"mode", "threads"},
                           {"philosophers", arguments.philosophers},
                           {"strategy", arguments.strategy},
                           {"forced", arguments.force},
                           {"deadlocks", result.deadlocks},
                           {"cycle", cycle_json(result.first_deadlock)},
                           {"meals_eaten", result.meals_eaten},
                           {"meals_expected", arguments.meals * arguments.philosophers},
                           {"exclusion_violations", result.exclusion_violations},
                           {"seconds", result.seconds},
                           {"exit_status", status}};
  std::printf("%s\n", out.dump().c_str());
  return status;
}

int run_deadlock(const DeadlockArguments& arguments) {
  const DiningPhilosophers::Strategy strategy = kStrategies.at(arguments.strategy);
  if (!arguments.redis.empty()) {
    return run_distributed(arguments, {.host = {},
                                       .port = 0,
                                       .credentials = {},
                                       .processes = arguments.processes,
                                       .meals = arguments.meals,
                                       .strategy = strategy,
                                       .force_first_meal = arguments.force,
                                       .lease = std::chrono::milliseconds(arguments.lease_ms),
                                       .fencing = arguments.fencing,
                                       .stall = arguments.stall,
                                       .time_limit = std::chrono::milliseconds(
                                           static_cast<long long>(arguments.time_limit * 1000))});
  }
  if (arguments.fencing || arguments.stall || arguments.lease_ms != 0) {
    throw std::invalid_argument(
        "--lease, --fencing and --stall need --redis (forks as Redis locks)");
  }
  const DiningPhilosophers table({.philosophers = arguments.philosophers,
                                  .meals = arguments.meals,
                                  .strategy = strategy,
                                  .force_first_meal = arguments.force});
  if (!arguments.json) {
    std::printf(
        "deadlock: %u philosophers, %u forks, %llu meals each%s\n", arguments.philosophers,
        arguments.philosophers, static_cast<unsigned long long>(arguments.meals),
        arguments.force ? ", first meal forced (all hold one fork before any takes a second)" : "");
    std::printf("  strategy: %s\n", std::string(DiningPhilosophers::describe(strategy)).c_str());
  }
  const DiningPhilosophers::Result result = table.run();
  if (arguments.json) {
    return print_threads(arguments, result);
  }
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
  auto* meals = command->add_option("--meals", arguments->meals,
                                    "Meals per philosopher (default 10000; with --redis 20)");
  command
      ->add_option("--strategy", arguments->strategy,
                   "left-then-right (default: can deadlock), ordered (no circular wait), "
                   "both-at-once (no hold and wait)")
      ->check(CLI::IsMember({"left-then-right", "ordered", "both-at-once"}));
  command->add_flag("--force", arguments->force,
                    "Make the first meal deadlock for certain: everyone holds one fork before "
                    "anyone reaches for a second");
  command
      ->add_option("--redis", arguments->redis,
                   "Philosophers as processes, forks as locks on this Redis, [HOST:]PORT "
                   "(a password comes from PIZZERIA_REDIS_PASSWORD)")
      ->type_name("[HOST:]PORT");
  command
      ->add_option("--processes", arguments->processes,
                   "--redis: philosopher processes and forks (default 5)")
      ->check(CLI::Range(2U, 64U));
  command
      ->add_option("--lease", arguments->lease_ms,
                   "--redis: each fork's lease in ms; 0 (default): none, no preemption")
      ->type_name("MS")
      ->check(CLI::Range(std::uint64_t{0}, std::uint64_t{3'600'000}));
  command->add_flag("--fencing", arguments->fencing,
                    "--redis: the plate refuses a write whose fencing token is older than one "
                    "it has seen");
  command->add_flag("--stall", arguments->stall,
                    "--redis, with --lease: P1 stops (SIGSTOP) holding its forks past its lease, "
                    "then eats late");
  command
      ->add_option("--time-limit", arguments->time_limit,
                   "--redis: seconds before a dinner still running is stopped (default 60)")
      ->check(CLI::Range(0.001, 3600.0));
  command->add_flag("--json", arguments->json, "One JSON object instead of the text");
  command->footer(kExitCodesHelp);
  command->callback([arguments, meals, &exit_code] {
    if (!arguments->redis.empty() && meals->count() == 0) {
      arguments->meals = 20;  // each meal is a few round trips to Redis, not a mutex
    }
    exit_code = run_deadlock(*arguments);
  });
}

}  // namespace pz::app
