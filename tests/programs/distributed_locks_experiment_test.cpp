#include "pizzeria/programs/distributed_locks_experiment.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/redis_server.hpp"

namespace pz::programs {
namespace {

using Experiment = DistributedLocksExperiment;
using Result = DistributedPhilosophers::Result;

Experiment::Options at(std::string host, std::uint16_t port) {
  Experiment::Options options;
  options.host = std::move(host);
  options.port = port;
  options.quick = true;
  return options;
}

// The six runs as they come out when every claim shows.
std::vector<Experiment::Run> as_claimed() {
  std::vector<Experiment::Run> runs = Experiment::plan(at("127.0.0.1", 6379));
  for (auto& run : runs) {
    Result r;
    r.meals_expected = 100;
    r.meals_eaten = 100;
    r.completed = true;
    r.seconds = 1;
    if (run.name == "no-lease") {
      r.completed = false;
      r.deadlocked = true;
      r.meals_eaten = 0;
      r.cycle = ResourceTable::Cycle{{0, 1}, {1, 0}};
    }
    if (run.name == "lease") {
      r.circular_waits_seen = 1;
    }
    if (run.options.stall) {
      r.stalled = true;
      (run.options.fencing ? r.stale_refused : r.stale_accepted) = 1;
    }
    run.result = r;
  }
  return runs;
}

Result& result(std::vector<Experiment::Run>& runs, const std::string& name) {
  for (auto& run : runs) {
    if (run.name == name) {
      return *run.result;
    }
  }
  throw std::logic_error("no run " + name);
}

int count(const std::string& text, const std::string& word) {
  int found = 0;
  for (auto at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) {
    ++found;
  }
  return found;
}

TEST(DistributedLocksExperiment, PlansSixRunsThatEachShowOneThing) {
  const auto runs = Experiment::plan(at("h", 1));
  ASSERT_EQ(runs.size(), 6U);
  EXPECT_EQ(runs[0].name, "no-lease");
  EXPECT_TRUE(runs[0].options.force_first_meal);
  EXPECT_EQ(runs[0].options.lease.count(), 0);
  EXPECT_EQ(runs[3].name, "lease");
  EXPECT_EQ(runs[3].options.lease.count(), 200);
  EXPECT_TRUE(runs[5].options.stall && runs[5].options.fencing);
  EXPECT_EQ(runs[5].options.host, "h");
}

TEST(DistributedLocksExperiment, HoldsEveryClaimWhenTheNumbersShowIt) {
  const std::string verdict = Experiment::judge(as_claimed());
  EXPECT_EQ(count(verdict, " holds"), 3) << verdict;
  EXPECT_NE(verdict.find("no lease: deadlock (P1 -> R2 -> P2 -> R1 -> P1)"), std::string::npos)
      << verdict;
}

TEST(DistributedLocksExperiment, IsInconclusiveWhereARunFailedOrTheStallDidNotHappen) {
  auto runs = as_claimed();
  runs[0].result.reset();
  runs[0].failure = "Redis went away";
  result(runs, "stall").stalled = false;
  const std::string verdict = Experiment::judge(runs);
  EXPECT_NE(verdict.find("Coffman conditions inconclusive"), std::string::npos) << verdict;
  EXPECT_NE(verdict.find("fencing needed and sufficient inconclusive"), std::string::npos)
      << verdict;
  EXPECT_NE(verdict.find("preemption ends deadlock holds"), std::string::npos) << verdict;
}

TEST(DistributedLocksExperiment, SaysAClaimDoesNotHoldWhenTheNumbersContradictIt) {
  auto runs = as_claimed();
  result(runs, "stall-fencing").stale_accepted = 1;  // fencing let a stale write in
  result(runs, "ordered").cycle = ResourceTable::Cycle{{0, 1}, {1, 0}};
  result(runs, "lease").deadlocked = true;
  result(runs, "lease").completed = false;
  const std::string verdict = Experiment::judge(runs);
  EXPECT_EQ(count(verdict, "does not hold"), 3) << verdict;
}

TEST(DistributedLocksExperiment, RunsOnARealRedisAndEveryClaimHolds) {
  test::RedisServer redis;
  Experiment::Options options = at("127.0.0.1", redis.port());
  options.processes = 3;
  const Experiment lab = Experiment::run(options);
  ASSERT_EQ(lab.runs.size(), 6U);
  for (const auto& run : lab.runs) {
    EXPECT_TRUE(run.result.has_value()) << run.name << ": " << run.failure;
  }
  EXPECT_EQ(count(lab.verdict, " holds"), 3) << lab.verdict;
  const LabReport::Experiment section = lab.experiment();
  EXPECT_EQ(section.id, "distributed-locks");
  EXPECT_EQ(section.rows.size(), 6U);
  EXPECT_EQ(section.commands.size(), 6U);
  EXPECT_EQ(section.verdict, lab.verdict);
  EXPECT_FALSE(section.failed);
}

TEST(DistributedLocksExperiment, IsInconclusiveWithoutARedisToRunOn) {
  Experiment::Options options;
  options.redis_server = "/nonexistent/redis-server";
  const Experiment lab = Experiment::run(options);
  EXPECT_TRUE(lab.runs.empty());
  EXPECT_NE(lab.verdict.find("inconclusive: no Redis to run on"), std::string::npos) << lab.verdict;
  EXPECT_TRUE(lab.experiment().failed);
}

}  // namespace
}  // namespace pz::programs
