// `pizzeria sleepers`: the seed's five sleepers (seed 002, section 0.10).
// Five tasks sleep a random 0-5 s each; the main task sleeps 2 s, then waits
// for all five. asyncio.create_task becomes TaskGroup::spawn and gather over
// started tasks becomes join(). One difference: spawn() runs a child up to
// its first await at once, so "N sleeps for" lines come before "Sleeping
// after starting five tasks" (asyncio prints them after it).
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>

#include "commands.hpp"
#include "pizzeria/coro/run.hpp"
#include "pizzeria/coro/sleep.hpp"
#include "pizzeria/coro/task.hpp"
#include "pizzeria/coro/task_group.hpp"

namespace pz::app {

namespace {

struct SleepersArguments {
  unsigned seed = 0;   // 0: a random seed
  double scale = 1.0;  // multiplies every sleep (tests shrink them)
};

Duration seconds(double value) {
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(value));
}

Task<void> random_sleep(int counter, double delay, double scale) {
  // The time it really sleeps: --scale shrinks what is printed too.
  std::printf("%d sleeps for %f\n", counter, delay * scale);
  std::fflush(stdout);
  co_await sleep(seconds(delay * scale));
  std::printf("%d awakens\n", counter);
  std::fflush(stdout);
}

Task<void> five_sleepers(const SleepersArguments& arguments) {
  std::mt19937_64 random(arguments.seed != 0 ? arguments.seed : std::random_device{}());
  std::uniform_real_distribution<double> delay(0.0, 5.0);  // random.random() * 5
  std::printf("creating five tasks\n");
  TaskGroup tasks;
  for (int i = 0; i < 5; ++i) {
    tasks.spawn(random_sleep(i, delay(random), arguments.scale));
  }
  std::printf("Sleeping after starting five tasks\n");
  std::fflush(stdout);
  co_await sleep(seconds(2.0 * arguments.scale));
  std::printf("Waking and waiting for five tasks\n");
  std::fflush(stdout);
  co_await tasks.join();
}

}  // namespace

void register_sleepers_command(CLI::App& app, int& exit_code) {
  auto arguments = std::make_shared<SleepersArguments>();
  auto* command = app.add_subcommand(
      "sleepers", "Five coroutines sleeping random times, gathered (the seed's five_sleepers)");
  command->add_option("--seed", arguments->seed, "Random seed for the delays (default: random)");
  command
      ->add_option("--scale", arguments->scale,
                   "Multiply every sleep by this (e.g. 0.01 to run 100 times faster)")
      ->check(number_between(1e-6, 1e6));
  command->callback([arguments, &exit_code] {
    run(five_sleepers(*arguments));
    std::printf("Done five tasks\n");
    exit_code = 0;
  });
}

}  // namespace pz::app
