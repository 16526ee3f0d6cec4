// `pizzeria deadlock --redis`: philosophers as processes, forks as Redis
// locks, against a real redis-server of the test's own.
#include "pizzeria/programs/distributed_philosophers.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "pizzeria/coro/run.hpp"
#include "pizzeria/net/redis_connection.hpp"
#include "program_runner.hpp"
#include "support/pizzeria_binary.hpp"
#include "support/redis_server.hpp"

namespace pz {
namespace {

using test::pizzeria_binary;
using test::run_program;

std::vector<std::string> dinner(const test::RedisServer& redis, std::vector<std::string> extra) {
  std::vector<std::string> argv{pizzeria_binary(), "deadlock", "--redis", redis.address()};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

nlohmann::json json_of(const test::ProgramResult& result) {
  return nlohmann::json::parse(result.out);
}

// What a dinner leaves in Redis: nothing, whatever way it ended.
std::int64_t keys_left(const test::RedisServer& redis) {
  return run([&]() -> Task<std::int64_t> {
    RedisConnection connection = co_await RedisConnection::open("127.0.0.1", redis.port());
    std::vector<std::string> dbsize{"DBSIZE"};
    co_return (co_await connection.command(dbsize)).integer;
  }());
}

TEST(DistributedPhilosophers, WithoutALeaseAForcedDinnerDeadlocksAndIsSeenFromOutside) {
  test::RedisServer redis;
  const auto result = run_program(dinner(redis, {"--processes", "3", "--force", "--lease", "0"}));
  EXPECT_EQ(result.exit_status, 2) << result.out << result.err;
  EXPECT_NE(result.out.find("deadlock: 3 philosopher processes, 3 forks as Redis locks at " +
                            redis.address() + ", 20 meals each, first meal forced\n"),
            std::string::npos)
      << result.out;
  // Every philosopher holds its own fork and waits for the next one's.
  EXPECT_NE(result.out.find("  deadlock, seen from outside in Redis's wait-for graph: "
                            "P1 -> R2 -> P2 -> R3 -> P3 -> R1 -> P1\n"),
            std::string::npos)
      << result.out;
  EXPECT_NE(result.out.find("no preemption:    the locks have no lease"), std::string::npos);
  EXPECT_NE(result.out.find("meals eaten: 0 of 60"), std::string::npos) << result.out;
  EXPECT_EQ(keys_left(redis), 0);
}

TEST(DistributedPhilosophers, ReportsTheDeadlockAsJson) {
  test::RedisServer redis;
  const auto result =
      run_program(dinner(redis, {"--processes", "2", "--force", "--meals", "3", "--json"}));
  ASSERT_EQ(result.exit_status, 2) << result.out << result.err;
  const auto json = json_of(result);
  EXPECT_EQ(json["mode"], "processes");
  EXPECT_EQ(json["deadlocked"], true);
  EXPECT_EQ(json["completed"], false);
  EXPECT_EQ(json["cycle"], "P1 -> R2 -> P2 -> R1 -> P1");
  EXPECT_EQ(json["meals_expected"], 6);
  EXPECT_EQ(json["exit_status"], 2);
}

TEST(DistributedPhilosophers, OrderedForksAndBothAtOnceFinishWithoutALeaseEvenWhenForced) {
  test::RedisServer redis;
  for (const char* strategy : {"ordered", "both-at-once"}) {
    const auto result = run_program(dinner(
        redis, {"--processes", "4", "--meals", "10", "--force", "--strategy", strategy, "--json"}));
    ASSERT_EQ(result.exit_status, 0) << strategy << ": " << result.out << result.err;
    const auto json = json_of(result);
    EXPECT_EQ(json["completed"], true) << strategy;
    EXPECT_EQ(json["deadlocked"], false) << strategy;
    EXPECT_TRUE(json["cycle"].is_null()) << strategy << ": " << json["cycle"];
    EXPECT_EQ(json["meals_eaten"], 40) << strategy;
  }
  EXPECT_EQ(keys_left(redis), 0);
}

TEST(DistributedPhilosophers, WithALeaseAForcedCircularWaitDoesNotLast) {
  test::RedisServer redis;
  const auto result =
      run_program(dinner(redis, {"--processes", "3", "--meals", "5", "--force", "--lease", "200"}));
  ASSERT_EQ(result.exit_status, 0) << result.out << result.err;
  EXPECT_NE(result.out.find("lease: 200 ms"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("meals eaten: 15 of 15"), std::string::npos) << result.out;
  EXPECT_EQ(result.out.find("  deadlock,"), std::string::npos) << result.out;
}

TEST(DistributedPhilosophers, AStalledHolderWritesLateWithoutFencingAndIsRefusedWithIt) {
  test::RedisServer redis;
  const auto unfenced = run_program(
      dinner(redis, {"--processes", "3", "--meals", "4", "--lease", "500", "--stall", "--json"}));
  ASSERT_EQ(unfenced.exit_status, 0) << unfenced.out << unfenced.err;
  const auto late = json_of(unfenced);
  EXPECT_EQ(late["stalled"], true);
  EXPECT_GE(late["stale_writes_accepted"].get<int>(), 1);  // the plate could not tell
  EXPECT_EQ(late["stale_writes_refused"], 0);
  EXPECT_EQ(late["completed"], true);

  const auto fenced = run_program(dinner(
      redis, {"--processes", "3", "--meals", "4", "--lease", "500", "--stall", "--fencing"}));
  ASSERT_EQ(fenced.exit_status, 0) << fenced.out << fenced.err;
  EXPECT_NE(fenced.out.find("stall: P1 stopped (SIGSTOP) holding its forks past its lease"),
            std::string::npos)
      << fenced.out;
  // At least P1's; on a loaded machine another philosopher may also be
  // paused past its lease between its renewal and its write.
  EXPECT_NE(fenced.out.find("plate: stale writes accepted: 0, refused by fencing: "),
            std::string::npos)
      << fenced.out;
  EXPECT_EQ(fenced.out.find("refused by fencing: 0\n"), std::string::npos) << fenced.out;
  // The refused meal was eaten again, with fresh forks.
  EXPECT_NE(fenced.out.find("meals eaten: 12 of 12"), std::string::npos) << fenced.out;
  EXPECT_EQ(keys_left(redis), 0);
}

TEST(DistributedPhilosophers, StopsADinnerStillRunningAtTheTimeLimit) {
  test::RedisServer redis;
  // P1 stalls holding forks with an hour's lease: no one else can eat.
  const auto result = run_program(
      dinner(redis, {"--processes", "2", "--lease", "3600000", "--stall", "--time-limit", "0.5"}));
  EXPECT_EQ(result.exit_status, 3) << result.out << result.err;
  EXPECT_NE(result.out.find(", stopped at the time limit\n"), std::string::npos) << result.out;
  EXPECT_EQ(keys_left(redis), 0);
}

TEST(DistributedPhilosophers, RefusesOptionsThatNeedRedisOrALeaseAndSaysWhenRedisIsAway) {
  const auto lease = run_program({pizzeria_binary(), "deadlock", "--lease", "100"});
  EXPECT_EQ(lease.exit_status, 1);
  EXPECT_NE(lease.err.find("--lease, --fencing and --stall need --redis"), std::string::npos)
      << lease.err;
  test::RedisServer redis;
  const auto stall = run_program(dinner(redis, {"--stall"}));
  EXPECT_EQ(stall.exit_status, 1);
  EXPECT_NE(stall.err.find("a stall needs a lease"), std::string::npos) << stall.err;
  const auto both = run_program(dinner(redis, {"--stall", "--lease", "100", "--force"}));
  EXPECT_EQ(both.exit_status, 1);
  EXPECT_NE(both.err.find("separate demonstrations"), std::string::npos) << both.err;
  const auto one = run_program(dinner(redis, {"--processes", "1"}));
  EXPECT_NE(one.exit_status, 0);
  EXPECT_NE(one.err.find("--processes"), std::string::npos) << one.err;
  const std::string away = redis.address();
  redis.crash();
  const auto gone =
      run_program({pizzeria_binary(), "deadlock", "--redis", away, "--processes", "2"});
  EXPECT_EQ(gone.exit_status, 1) << gone.out;
  EXPECT_NE(gone.err.find("pizzeria: "), std::string::npos) << gone.err;
  EXPECT_NE(gone.err.find(away), std::string::npos) << gone.err;
}

TEST(DistributedPhilosophers, RefusesOptionsItCannotRun) {
  using Options = programs::DistributedPhilosophers::Options;
  Options one;
  one.processes = 1;
  EXPECT_THROW(programs::DistributedPhilosophers{one}, std::invalid_argument);
  Options no_meals;
  no_meals.meals = 0;
  EXPECT_THROW(programs::DistributedPhilosophers{no_meals}, std::invalid_argument);
  Options no_time;
  no_time.time_limit = std::chrono::milliseconds(0);
  EXPECT_THROW(programs::DistributedPhilosophers{no_time}, std::invalid_argument);
}

}  // namespace
}  // namespace pz
