// Seed 003's race condition and deadlock: CounterRace, ResourceTable,
// DiningPhilosophers and the `race` / `deadlock` commands. Only outcomes
// that do not depend on the scheduler are asserted exactly: lockstep and
// forced runs are deterministic by construction; free runs are checked for
// what must hold in any interleaving.
#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#include "pizzeria/programs/counter_race.hpp"
#include "pizzeria/programs/dining_philosophers.hpp"
#include "pizzeria/programs/resource_table.hpp"
#include "program_runner.hpp"

namespace pz::programs {
namespace {

using test::pizzeria_binary;
using test::run_program;

TEST(CounterRace, InLockstepEveryStepOfReadThenWriteAddsOneWhateverTheThreadCount) {
  for (const unsigned threads : {2U, 3U, 5U}) {
    const CounterRace race({.threads = threads, .increments = 2'000, .lockstep = true});
    const CounterRace::Result result = race.run(CounterRace::Update::read_then_write);
    EXPECT_EQ(result.expected, threads * 2'000ULL);
    EXPECT_EQ(result.counted, 2'000U) << threads << " threads";
    EXPECT_EQ(result.lost(), (threads - 1) * 2'000ULL);
  }
}

TEST(CounterRace, IndivisibleUpdatesLoseNothingInLockstepOrFree) {
  for (const bool lockstep : {false, true}) {
    const CounterRace race({.threads = 3, .increments = 5'000, .lockstep = lockstep});
    for (const auto update : {CounterRace::Update::atomic_add, CounterRace::Update::mutex}) {
      const CounterRace::Result result = race.run(update);
      EXPECT_EQ(result.counted, 15'000U) << CounterRace::describe(update);
      EXPECT_EQ(result.lost(), 0U);
    }
  }
}

TEST(CounterRace, AFreeRaceNeverCountsMoreThanWasAddedNorLessThanOne) {
  // How many updates are lost is up to the scheduler (none at all if the
  // threads never overlap); more than were made is impossible.
  const CounterRace race({.threads = 2, .increments = 50'000});
  const CounterRace::Result result = race.run(CounterRace::Update::read_then_write);
  EXPECT_EQ(result.expected, 100'000U);
  EXPECT_LE(result.counted, 100'000U);
  EXPECT_GE(result.counted, 1U);
}

TEST(CounterRace, OneThreadLosesNothingAndZeroThreadsIsRefused) {
  const CounterRace race({.threads = 1, .increments = 1'000, .lockstep = true});
  EXPECT_EQ(race.run(CounterRace::Update::read_then_write).counted, 1'000U);
  EXPECT_THROW(CounterRace({.threads = 0}), std::invalid_argument);
}

TEST(ResourceTable, RefusesTheWaitThatWouldCloseACycleAndRecordsTheCycle) {
  ResourceTable table(2, 2);
  ASSERT_TRUE(table.acquire(0, 0));
  ASSERT_TRUE(table.acquire(1, 1));
  // Worker 0 waits for resource 1 (held by 1) in its own thread...
  std::atomic<bool> got{false};
  std::jthread waiter([&] {
    got.store(table.acquire(0, 1), std::memory_order_relaxed);
    table.release(0, 1);
    table.release(0, 0);
  });
  // ...and once it is blocked, worker 1 asking for resource 0 would close
  // the cycle. The rendezvous returns only when worker 0 is blocked in the
  // table, so this is not a race against the waiter thread.
  table.arrive_and_wait_for_others(1);
  EXPECT_FALSE(table.acquire(1, 0));
  EXPECT_EQ(table.deadlocks(), 1U);
  const auto cycle = table.first_deadlock();
  ASSERT_TRUE(cycle.has_value());
  ASSERT_EQ(cycle->size(), 2U);
  EXPECT_EQ((*cycle)[0].worker, 1U);
  EXPECT_EQ((*cycle)[0].resource, 0U);
  EXPECT_EQ((*cycle)[1].worker, 0U);
  EXPECT_EQ((*cycle)[1].resource, 1U);
  // The victim gives up what it holds; the waiter then gets it.
  table.release(1, 1);
  waiter.join();
  EXPECT_TRUE(got.load(std::memory_order_relaxed));
  EXPECT_TRUE(table.acquire(1, 0));  // free again, and no longer a cycle
}

TEST(ResourceTable, WaitingForAResourceWhoseHolderRunsIsNotADeadlock) {
  ResourceTable table(2, 2);
  ASSERT_TRUE(table.acquire(1, 1));
  std::jthread waiter([&] {
    EXPECT_TRUE(table.acquire(0, 1));
    table.release(0, 1);
  });
  table.arrive_and_wait_for_others(1);  // worker 0 is blocked now
  table.release(1, 1);
  waiter.join();
  EXPECT_EQ(table.deadlocks(), 0U);
  EXPECT_FALSE(table.first_deadlock().has_value());
}

TEST(ResourceTable, RejectsMisuseWithClearErrors) {
  ResourceTable table(2, 2);
  ASSERT_TRUE(table.acquire(0, 0));
  EXPECT_THROW((void)table.acquire(0, 0), std::logic_error);  // already owns it
  EXPECT_THROW(table.release(1, 0), std::logic_error);        // not the owner
  EXPECT_THROW((void)table.acquire(2, 0), std::out_of_range);
  EXPECT_THROW((void)table.acquire(0, 7), std::out_of_range);
  EXPECT_THROW(table.acquire_both(1, 1, 1), std::logic_error);
}

TEST(DiningPhilosophers, AForcedFirstMealDeadlocksAllFiveInOneCircularWait) {
  const DiningPhilosophers table({.philosophers = 5,
                                  .meals = 200,
                                  .strategy = DiningPhilosophers::Strategy::left_then_right,
                                  .force_first_meal = true});
  const DiningPhilosophers::Result result = table.run();
  EXPECT_EQ(result.meals_eaten, 1'000U);
  EXPECT_GE(result.deadlocks, 1U);
  EXPECT_EQ(result.exclusion_violations, 0U);
  ASSERT_TRUE(result.first_deadlock.has_value());
  const ResourceTable::Cycle& cycle = *result.first_deadlock;
  ASSERT_EQ(cycle.size(), 5U);
  // Each philosopher waits for the next one's own fork, around the table.
  for (std::size_t i = 0; i < cycle.size(); ++i) {
    const auto& wait = cycle[i];
    EXPECT_EQ(wait.resource, (wait.worker + 1) % 5) << i;
    EXPECT_EQ(cycle[(i + 1) % cycle.size()].worker, wait.resource) << i;
  }
}

TEST(DiningPhilosophers, BreakingCircularWaitOrHoldAndWaitNeverDeadlocksEvenWhenForced) {
  for (const auto strategy :
       {DiningPhilosophers::Strategy::ordered, DiningPhilosophers::Strategy::both_at_once}) {
    for (const unsigned philosophers : {2U, 5U}) {
      const DiningPhilosophers table({.philosophers = philosophers,
                                      .meals = 300,
                                      .strategy = strategy,
                                      .force_first_meal = true});
      const DiningPhilosophers::Result result = table.run();
      EXPECT_EQ(result.meals_eaten, philosophers * 300ULL)
          << DiningPhilosophers::describe(strategy);
      EXPECT_EQ(result.deadlocks, 0U) << DiningPhilosophers::describe(strategy);
      EXPECT_EQ(result.exclusion_violations, 0U);
    }
  }
}

TEST(DiningPhilosophers, AnUnforcedRunEatsEveryMealWhateverDeadlocksFormed) {
  const DiningPhilosophers table({.philosophers = 3, .meals = 2'000});
  const DiningPhilosophers::Result result = table.run();
  EXPECT_EQ(result.meals_eaten, 6'000U);
  EXPECT_EQ(result.exclusion_violations, 0U);
  EXPECT_EQ(result.first_deadlock.has_value(), result.deadlocks > 0);
  EXPECT_THROW(DiningPhilosophers({.philosophers = 1}), std::invalid_argument);
}

TEST(RaceCommand, PrintsTheLockstepLossExactly) {
  const auto result = run_program(
      {pizzeria_binary(), "race", "--threads", "2", "--increments", "1000", "--lockstep"});
  ASSERT_EQ(result.exit_status, 0) << result.err;
  EXPECT_NE(result.out.find("read, then write (a race condition)    expected 2000, counted 1000, "
                            "lost 1000 (50.0%)"),
            std::string::npos)
      << result.out;
  EXPECT_NE(result.out.find("atomic fetch_add                       expected 2000, counted 2000, "
                            "lost 0 (0.0%)"),
            std::string::npos)
      << result.out;
  EXPECT_NE(result.out.find("read and write under a mutex           expected 2000, counted 2000, "
                            "lost 0 (0.0%)"),
            std::string::npos)
      << result.out;
}

TEST(RaceCommand, JsonPrintsTheLockstepCountsExactly) {
  const auto result = run_program({pizzeria_binary(), "race", "--threads", "2", "--increments",
                                   "1000", "--lockstep", "--json"});
  ASSERT_EQ(result.exit_status, 0) << result.err;
  const nlohmann::json json = nlohmann::json::parse(result.out);
  EXPECT_EQ(json.at("threads"), 2);
  EXPECT_EQ(json.at("increments"), 1000);
  EXPECT_EQ(json.at("lockstep"), true);
  const nlohmann::json& updates = json.at("updates");
  EXPECT_EQ(updates.size(), 3U);
  for (const auto& [name, lost] :
       {std::pair{"read_then_write", 1000}, {"atomic_add", 0}, {"mutex", 0}}) {
    EXPECT_EQ(updates.at(name).at("expected"), 2000) << name;
    EXPECT_EQ(updates.at(name).at("counted"), 2000 - lost) << name;
    EXPECT_EQ(updates.at(name).at("lost"), lost) << name;
  }
}

TEST(RaceCommand, RefusesZeroThreads) {
  const auto result = run_program({pizzeria_binary(), "race", "--threads", "0"});
  EXPECT_NE(result.exit_status, 0);
  EXPECT_NE(result.err.find("--threads"), std::string::npos) << result.err;
}

TEST(DeadlockCommand, AForcedRunPrintsTheCircularWaitInTheSeedsNotation) {
  const auto result = run_program(
      {pizzeria_binary(), "deadlock", "--philosophers", "2", "--meals", "50", "--force"});
  ASSERT_EQ(result.exit_status, 0) << result.err;
  // Which of the two closes the cycle depends on the scheduler; the cycle
  // is one of these two readings of the same wait.
  const bool p1_refused =
      result.out.find("first deadlock, as a circular wait: P1 -> R2 -> P2 -> R1 -> P1\n") !=
      std::string::npos;
  const bool p2_refused =
      result.out.find("first deadlock, as a circular wait: P2 -> R1 -> P1 -> R2 -> P2\n") !=
      std::string::npos;
  EXPECT_TRUE(p1_refused || p2_refused) << result.out;
  EXPECT_NE(result.out.find("meals eaten: 100 of 100, mutual exclusion violations: 0"),
            std::string::npos)
      << result.out;
}

TEST(DeadlockCommand, TheOrderedStrategyReportsNoDeadlockAndABadStrategyIsRefused) {
  const auto ordered = run_program(
      {pizzeria_binary(), "deadlock", "--strategy", "ordered", "--meals", "100", "--force"});
  ASSERT_EQ(ordered.exit_status, 0) << ordered.err;
  EXPECT_NE(ordered.out.find("deadlocks: 0, meals eaten: 500 of 500"), std::string::npos)
      << ordered.out;
  EXPECT_EQ(ordered.out.find("first deadlock"), std::string::npos) << ordered.out;

  const auto bad = run_program({pizzeria_binary(), "deadlock", "--strategy", "politely"});
  EXPECT_NE(bad.exit_status, 0);
  EXPECT_NE(bad.err.find("politely not in {left-then-right,ordered,both-at-once}"),
            std::string::npos)
      << bad.err;
}

}  // namespace
}  // namespace pz::programs
