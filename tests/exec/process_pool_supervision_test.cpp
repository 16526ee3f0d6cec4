// ProcessPool's supervision: retries of idempotent tasks, quarantine,
// deadlines, memory caps, restart intensity and the counters of all of it.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "pizzeria/core/manual_clock.hpp"
#include "pizzeria/coro/timeout_error.hpp"
#include "pizzeria/exec/process_pool.hpp"
#include "support/fifo_gate.hpp"
#include "support/message_of.hpp"

namespace {

using namespace std::chrono_literals;
using pz::test::contains;

// ---- tasks, registered in the parent and in every re-executed worker ----

// Kills its worker the first time it runs for `marker` (it creates the file
// then), and doubles `value` on every later run: a task that a retry saves.
long die_once(std::string marker, long value) {
  const int fd = ::open(marker.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  if (fd >= 0) {
    ::close(fd);
    ::kill(::getpid(), SIGKILL);
  }
  return 2 * value;
}
const auto kDieOnce = pz::register_task("supervision.die_once", &die_once);
const auto kDieOnceIdempotent = kDieOnce.idempotent(2);
const auto kDieOnceAt =
    pz::register_task<long(std::string)>("supervision.die_once_at", [](std::string marker) -> long {
      return die_once(marker, 0) + static_cast<long>(marker.size());
    });

// A poison input: kills every worker that runs it.
const auto kPoison = pz::register_task<long(long)>("supervision.poison", [](long value) -> long {
                       if (value < 0) {
                         ::kill(::getpid(), SIGKILL);
                       }
                       return value;
                     }).idempotent();

const auto kTriple =
    pz::register_task<long(long)>("supervision.triple", [](long x) -> long { return 3 * x; });

const auto kPid = pz::register_task<long()>("supervision.pid", []() -> long { return ::getpid(); });

const auto kKillSelf = pz::register_task<int()>("supervision.kill_self", []() -> int {
  ::kill(::getpid(), SIGKILL);
  return 0;
});

// Holds its worker until the FIFO's writer closes (which, in the deadline
// tests, never happens): a task that hangs.
const auto kHang = pz::register_task<long(std::string, long)>(
    "supervision.hang", [](std::string path, long) -> long {
      pz::test::FifoGate::hold_until_released(path);
      return ::getpid();
    });

// The same, deaf to SIGTERM: only SIGKILL stops it.
const auto kHangIgnoringTerm =
    pz::register_task<long(std::string)>("supervision.hang_ignoring_term", [](std::string path) {
      ::signal(SIGTERM, SIG_IGN);
      pz::test::FifoGate::hold_until_released(path);
      return static_cast<long>(::getpid());
    });

// The worker's own resident memory, as the pool reads it.
long resident_now() {
  FILE* file = std::fopen("/proc/self/statm", "r");
  unsigned long long pages = 0;
  unsigned long long resident = 0;
  if (file == nullptr || std::fscanf(file, "%llu %llu", &pages, &resident) != 2) {
    throw std::runtime_error("cannot read /proc/self/statm");
  }
  std::fclose(file);
  return static_cast<long>(resident) * ::sysconf(_SC_PAGESIZE);
}
const auto kResident = pz::register_task<long()>("supervision.resident", &resident_now);

// Touches `bytes` of memory and keeps it (as a leak would), then returns
// its pid; with `hold` set it never returns.
std::vector<char> hoard;
const auto kHoard =
    pz::register_task<long(long, bool)>("supervision.hoard", [](long bytes, bool hold) -> long {
      hoard.assign(static_cast<std::size_t>(bytes), 'x');
      while (hold) {
        ::pause();
      }
      return ::getpid();
    });

// ---- helpers ----

template <typename T>
std::string error_of(pz::Future<T>& future) {
  return pz::test::message_of<std::exception>([&] { (void)future.result(); });
}

// A fresh path for die_once's marker, removed with the directory.
class MarkerDirectory {
 public:
  MarkerDirectory() {
    char directory[] = "/tmp/pz-supervision-XXXXXX";
    if (::mkdtemp(directory) == nullptr) {
      throw std::runtime_error("mkdtemp failed");
    }
    dir_ = directory;
  }
  MarkerDirectory(const MarkerDirectory&) = delete;
  MarkerDirectory& operator=(const MarkerDirectory&) = delete;
  ~MarkerDirectory() {
    for (const auto& path : made_) {
      ::unlink(path.c_str());
    }
    ::rmdir(dir_.c_str());
  }
  std::string path(const std::string& name) {
    made_.push_back(dir_ + "/" + name);
    return made_.back();
  }

 private:
  std::string dir_;
  std::vector<std::string> made_;
};

// A worker's resident memory at rest, measured in a pool of its own, so the
// caps below are relative to what this build (release, ASan, TSan) needs.
long worker_baseline() {
  pz::ProcessPool probe(1);
  return probe.submit(kResident).result();
}

constexpr long kMiB = 1024 * 1024;

// ---- retries and quarantine ----

TEST(ProcessPoolSupervision, AnIdempotentTaskWhoseWorkerDiesIsRunAgainAndSucceeds) {
  MarkerDirectory markers;
  pz::ProcessPool pool(1);
  EXPECT_EQ(pool.submit(kDieOnceIdempotent, markers.path("a"), 21L).result(), 42);
  const auto stats = pool.stats();
  EXPECT_EQ(stats.retried, 1U);
  EXPECT_EQ(stats.workers_died, 1U);
  EXPECT_EQ(stats.quarantined, 0U);
}

TEST(ProcessPoolSupervision, ATaskThatIsNotIdempotentStillFailsWhenItsWorkerDies) {
  MarkerDirectory markers;
  pz::ProcessPool pool(1);
  auto future = pool.submit(kDieOnce, markers.path("a"), 21L);
  EXPECT_THROW(future.result(), pz::WorkerDied);
  EXPECT_TRUE(contains(error_of(future), "SIGKILL")) << error_of(future);
  EXPECT_EQ(pool.stats().retried, 0U);
  // It did run, and would succeed now: the pool simply did not retry it.
  EXPECT_EQ(pool.submit(kDieOnce, markers.path("a"), 21L).result(), 42);
}

TEST(ProcessPoolSupervision, ARetryPolicyCanBeGivenForOneSubmission) {
  MarkerDirectory markers;
  pz::ProcessPool pool(2);
  EXPECT_EQ(pool.submit(kDieOnce.idempotent(1), markers.path("a"), 5L).result(), 10);
  EXPECT_EQ(pool.stats().retried, 1U);
}

TEST(ProcessPoolSupervision, MapChunksAndBatchesOfAnIdempotentTaskSurviveKilledWorkers) {
  MarkerDirectory markers;
  pz::ProcessPool pool(2);
  // Every chunk of one item kills one worker on its first run.
  std::vector<std::string> paths;
  for (int i = 0; i < 4; ++i) {
    paths.push_back(markers.path("m" + std::to_string(i)));
  }
  const std::vector<long> lengths = pool.map(kDieOnceAt.idempotent(), paths, 1);
  for (std::size_t i = 0; i < paths.size(); ++i) {
    EXPECT_EQ(lengths[i], static_cast<long>(paths[i].size()));
  }
  EXPECT_EQ(pool.stats().retried, 4U);
  // A batch (one message) whose first item kills its worker: every item is
  // answered by the retry.
  const std::string fresh = markers.path("fresh");
  const std::string old = markers.path("old");
  ::close(::open(old.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
  auto outcomes =
      pool.submit_batch(kDieOnceAt.idempotent(), std::vector<std::string>{fresh, old, old})
          .result();
  ASSERT_EQ(outcomes.size(), 3U);
  EXPECT_EQ(outcomes[0].result(), static_cast<long>(fresh.size()));
  EXPECT_EQ(outcomes[2].result(), static_cast<long>(old.size()));
  EXPECT_EQ(pool.stats().retried, 5U);
}

TEST(ProcessPoolSupervision, APoisonInputIsQuarantinedAfterKillingTwoWorkersWhileOthersComplete) {
  pz::ProcessPool pool(2);
  auto poison = pool.submit(kPoison, -7L);
  std::vector<pz::Future<long>> others;
  for (long i = 0; i < 20; ++i) {
    others.push_back(pool.submit(kTriple, i));
  }
  EXPECT_THROW(poison.result(), pz::TaskQuarantined);
  const std::string message = error_of(poison);
  EXPECT_TRUE(contains(message, "quarantined after killing 2 workers")) << message;
  EXPECT_TRUE(contains(message, "supervision.poison")) << message;
  EXPECT_TRUE(contains(message, "(arguments: (-7))")) << message;
  EXPECT_TRUE(contains(message, "1) process pool worker")) << message;
  EXPECT_TRUE(contains(message, "2) process pool worker")) << message;
  for (long i = 0; i < 20; ++i) {
    EXPECT_EQ(others[static_cast<std::size_t>(i)].result(), 3 * i);
  }
  const auto stats = pool.stats();
  EXPECT_EQ(stats.quarantined, 1U);
  EXPECT_EQ(stats.retried, 1U);
  EXPECT_EQ(stats.workers_died, 2U);
  EXPECT_EQ(pool.submit(kTriple, 5L).result(), 15);
}

TEST(ProcessPoolSupervision, ATaskThatFailsEveryAttemptListsEveryCause) {
  pz::ProcessPoolOptions options;
  options.workers = 1;
  options.quarantine_after = 0;  // off: the retries run out first
  pz::ProcessPool pool(options);
  auto future = pool.submit(kPoison.idempotent(2), -1L);
  EXPECT_THROW(future.result(), pz::WorkerDied);
  const std::string message = error_of(future);
  EXPECT_TRUE(contains(message, "failed on all 3 attempts")) << message;
  EXPECT_TRUE(contains(message, "3) process pool worker")) << message;
  EXPECT_EQ(pool.stats().retried, 2U);
  EXPECT_EQ(pool.stats().quarantined, 0U);
}

// ---- deadlines ----

TEST(ProcessPoolSupervision, AHangingTaskIsKilledAtItsDeadlineAndFailsWithItsArguments) {
  pz::test::FifoGate gate;  // never released: the task hangs
  pz::ProcessPool pool(1);
  const long before = pool.submit(kPid).result();
  auto hung = pool.submit(kHang.with_deadline(100ms), gate.path(), 77L);
  EXPECT_THROW(hung.result(), pz::TimeoutError);
  const std::string message = error_of(hung);
  EXPECT_TRUE(contains(message, "'supervision.hang'")) << message;
  EXPECT_TRUE(contains(message, "(arguments: (\"" + gate.path() + "\", 77))")) << message;
  EXPECT_TRUE(contains(message, "deadline of 100 ms")) << message;
  EXPECT_TRUE(contains(message, "SIGKILL")) << message;
  // Replaced: a new worker serves the next task.
  EXPECT_NE(pool.submit(kPid).result(), before);
  EXPECT_EQ(pool.stats().timed_out, 1U);
}

TEST(ProcessPoolSupervision, ThePoolDefaultDeadlineAppliesToTasksWithoutOne) {
  pz::test::FifoGate gate;
  pz::ProcessPoolOptions options;
  options.workers = 1;
  options.task_deadline = 50ms;
  pz::ProcessPool pool(options);
  auto hung = pool.submit(kHang, gate.path(), 1L);
  EXPECT_THROW(hung.result(), pz::TimeoutError);
  // A task's own deadline takes precedence over the pool's.
  EXPECT_EQ(pool.submit(kTriple.with_deadline(60s), 2L).result(), 6);
}

TEST(ProcessPoolSupervision, WithAGraceTheWorkerGetsSigtermFirst) {
  pz::test::FifoGate gate;
  pz::ProcessPoolOptions options;
  options.workers = 1;
  options.term_grace = 10s;  // SIGTERM ends it long before
  pz::ProcessPool pool(options);
  auto hung = pool.submit(kHang.with_deadline(50ms), gate.path(), 1L);
  const std::string message = error_of(hung);
  EXPECT_TRUE(contains(message, "SIGTERM")) << message;
}

TEST(ProcessPoolSupervision, AWorkerDeafToSigtermGetsSigkillWhenTheGraceEnds) {
  pz::test::FifoGate gate;
  pz::ProcessPoolOptions options;
  options.workers = 1;
  options.term_grace = 50ms;
  pz::ProcessPool pool(options);
  auto hung = pool.submit(kHangIgnoringTerm.with_deadline(50ms), gate.path());
  EXPECT_THROW(hung.result(), pz::TimeoutError);
  const std::string message = error_of(hung);
  EXPECT_TRUE(contains(message, "SIGKILL")) << message;
  EXPECT_EQ(pool.stats().timed_out, 1U);
}

// ---- memory caps ----

TEST(ProcessPoolSupervision, AWorkerOverTheSoftCapIsReplacedAfterItsTask) {
  const long baseline = worker_baseline();
  pz::ProcessPoolOptions options;
  options.workers = 1;
  options.memory_soft_limit = static_cast<std::size_t>(baseline + 64 * kMiB);
  pz::ProcessPool pool(options);
  const long first = pool.submit(kHoard, 160 * kMiB, false).result();  // completes
  const long second = pool.submit(kPid).result();
  EXPECT_NE(first, second);
  const auto stats = pool.stats();
  EXPECT_EQ(stats.over_memory, 1U);
  EXPECT_EQ(stats.workers_died, 0U);  // a replacement, not a death
}

TEST(ProcessPoolSupervision, AWorkerOverTheHardCapIsKilledAndItsTaskFails) {
  const long baseline = worker_baseline();
  pz::ProcessPoolOptions options;
  options.workers = 1;
  options.memory_hard_limit = static_cast<std::size_t>(baseline + 64 * kMiB);
  pz::ProcessPool pool(options);
  auto greedy = pool.submit(kHoard, 160 * kMiB, true);  // holds it for ever
  EXPECT_THROW(greedy.result(), pz::WorkerDied);
  const std::string message = error_of(greedy);
  EXPECT_TRUE(contains(message, "over the hard memory cap")) << message;
  EXPECT_TRUE(contains(message, "supervision.hoard")) << message;
  EXPECT_EQ(pool.stats().over_memory, 1U);
  EXPECT_EQ(pool.submit(kTriple, 3L).result(), 9);
}

TEST(ProcessPoolSupervision, AnIdempotentTaskOverTheHardCapIsRetriedThenQuarantined) {
  const long baseline = worker_baseline();
  pz::ProcessPoolOptions options;
  options.workers = 1;
  options.memory_hard_limit = static_cast<std::size_t>(baseline + 64 * kMiB);
  pz::ProcessPool pool(options);
  auto greedy = pool.submit(kHoard.idempotent(), 160 * kMiB, true);
  EXPECT_THROW(greedy.result(), pz::TaskQuarantined);
  const auto stats = pool.stats();
  EXPECT_EQ(stats.over_memory, 2U);
  EXPECT_EQ(stats.retried, 1U);
  EXPECT_EQ(stats.quarantined, 1U);
}

// ---- restart intensity ----

TEST(ProcessPoolSupervision, TooManyDeathsWithinTheWindowBreakThePoolInsteadOfRespawning) {
  pz::ManualClock clock;  // never moves: every death is in the same instant
  pz::ProcessPoolOptions options;
  options.workers = 1;
  options.max_restarts = 2;
  options.restart_window = 10s;
  options.clock = &clock;
  pz::ProcessPool pool(options);
  for (int i = 0; i < 3; ++i) {
    auto crash = pool.submit(kKillSelf);
    EXPECT_THROW(crash.result(), pz::WorkerDied);
  }
  auto after = pool.submit(kTriple, 1L);
  const std::string message = error_of(after);
  EXPECT_TRUE(contains(message, "stopped restarting workers")) << message;
  EXPECT_TRUE(contains(message, "3 worker deaths within 10000 ms")) << message;
  EXPECT_TRUE(contains(message, "max_restarts")) << message;
  // Once the manager has stopped, its counts are final: no worker was
  // started after the third death.
  pool.shutdown(true);
  EXPECT_EQ(pool.stats().workers_started, 3U);
  EXPECT_TRUE(pool.worker_pids().empty());
}

TEST(ProcessPoolSupervision, DeathsSpreadBeyondTheWindowDoNotBreakThePool) {
  pz::ManualClock clock;
  pz::ProcessPoolOptions options;
  options.workers = 1;
  options.max_restarts = 2;
  options.restart_window = 10s;
  options.clock = &clock;
  pz::ProcessPool pool(options);
  for (int i = 0; i < 6; ++i) {
    auto crash = pool.submit(kKillSelf);
    EXPECT_THROW(crash.result(), pz::WorkerDied);
    clock.advance(5s);  // at most two deaths in any 10 s
  }
  EXPECT_EQ(pool.submit(kTriple, 4L).result(), 12);
  EXPECT_EQ(pool.stats().workers_died, 6U);
}

TEST(ProcessPoolSupervision, CountersStartAtZeroAndCostNothingWithoutPolicies) {
  pz::ProcessPool pool(2);
  std::vector<long> inputs(100, 1);
  EXPECT_EQ(pool.map(kTriple, inputs), std::vector<long>(100, 3));
  const auto stats = pool.stats();
  EXPECT_EQ(stats.tasks_completed, 100U);
  EXPECT_EQ(stats.retried + stats.timed_out + stats.over_memory + stats.quarantined, 0U);
}

}  // namespace
