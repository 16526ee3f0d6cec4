#include "pizzeria/exec/process_pool.hpp"

#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <numeric>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "pizzeria/exec/future_error.hpp"
#include "support/fifo_gate.hpp"
#include "support/message_of.hpp"

namespace {

using pz::test::contains;

// ---- tasks, registered in the parent and in every re-executed worker ----

long square(long x) {
  return x * x;
}
const auto kSquare = pz::register_task("test.square", &square);

const auto kFail = pz::register_task<int(std::string)>(
    "test.fail", [](std::string what) -> int { throw std::runtime_error(what); });

// A real invalid write, not raise(): the kernel delivers the SIGSEGV.
volatile std::uintptr_t bad_address = 64;
const auto kSegfault = pz::register_task<int()>("test.segfault", []() -> int {
  *reinterpret_cast<volatile int*>(bad_address) = 1;
  return 0;
});

const auto kKillSelf = pz::register_task<int()>("test.kill_self", []() -> int {
  ::kill(::getpid(), SIGKILL);
  return 0;
});

const auto kExit =
    pz::register_task<int(int)>("test.exit", [](int status) -> int { ::_exit(status); });

const auto kPid = pz::register_task<long()>("test.pid", []() -> long { return ::getpid(); });

// Opens the FIFO at `path` for reading (which lets the parent's open for
// writing return: the task has started), then reads until the parent closes
// its end. Lets a test hold a task mid-run without sleeping.
const auto kGate = pz::register_task<long(std::string)>("test.gate", [](std::string path) -> long {
  pz::test::FifoGate::hold_until_released(path);
  return ::getpid();
});

std::string initialised_value = "not initialised";
const auto kInit = pz::register_task<void(std::string)>(
    "test.init", [](std::string value) { initialised_value = std::move(value); });
const auto kReadInit =
    pz::register_task<std::string()>("test.read_init", [] { return initialised_value; });
const auto kInitFails = pz::register_task<void()>(
    "test.init_fails", [] { throw std::runtime_error("no flour in the kitchen"); });

const auto kEcho = pz::register_task<std::map<std::string, std::vector<double>>(
    std::map<std::string, std::vector<double>>)>(
    "test.echo", [](std::map<std::string, std::vector<double>> value) { return value; });

// ---- helpers ----

std::set<std::string> open_fds() {
  std::set<std::string> fds;
  DIR* dir = ::opendir("/proc/self/fd");
  while (dirent* entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") {
      fds.insert(name);
    }
  }
  const std::string own = std::to_string(::dirfd(dir));
  ::closedir(dir);
  fds.erase(own);
  return fds;
}

// Sanitizers catch SIGSEGV themselves and exit with status 1; workers must
// die by the signal for the cause to be reported as such.
void let_workers_die_by_sigsegv() {
  for (const char* variable : {"ASAN_OPTIONS", "TSAN_OPTIONS", "UBSAN_OPTIONS"}) {
    const char* old = std::getenv(variable);
    std::string value = old != nullptr ? std::string(old) + ":" : "";
    ::setenv(variable, (value + "handle_segv=0").c_str(), 1);
  }
}

template <typename T>
std::string error_of(pz::Future<T>& future) {
  return pz::test::message_of<std::exception>([&] { (void)future.result(); });
}

// 1, 2, 3, ... without end.
struct Naturals {
  struct End {};
  struct Iterator {
    long value = 1;
    long operator*() const { return value; }
    Iterator& operator++() {
      ++value;
      return *this;
    }
    bool operator!=(End) const { return true; }
  };
  [[nodiscard]] Iterator begin() const { return {}; }
  [[nodiscard]] End end() const { return {}; }
};

// ---- tests ----

TEST(ProcessPool, SubmitRunsARegisteredFunctionInAnotherProcess) {
  pz::ProcessPool pool(2);
  auto future = pool.submit(kSquare, 12L);
  EXPECT_EQ(future.result(), 144);
  auto pid = pool.submit(kPid);
  EXPECT_NE(pid.result(), ::getpid());
  const auto pids = pool.worker_pids();
  EXPECT_EQ(pids.size(), 2U);
  EXPECT_NE(std::find(pids.begin(), pids.end(), static_cast<pid_t>(pid.result())), pids.end());
}

TEST(ProcessPool, CarriesMapsVectorsAndStringsBothWays) {
  pz::ProcessPool pool(1);
  const std::map<std::string, std::vector<double>> value{{"margherita", {1.5, 2}}, {"", {}}};
  EXPECT_EQ(pool.submit(kEcho, value).result(), value);
}

TEST(ProcessPool, MapReturnsResultsInInputOrderForAnyChunkSize) {
  pz::ProcessPool pool(2);
  std::vector<long> inputs(200);
  std::iota(inputs.begin(), inputs.end(), -50);
  for (std::size_t chunk : {0U, 1U, 7U, 1000U}) {
    const std::vector<long> squares = pool.map(kSquare, inputs, chunk);
    ASSERT_EQ(squares.size(), inputs.size());
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      ASSERT_EQ(squares[i], inputs[i] * inputs[i]) << "chunk " << chunk;
    }
  }
  EXPECT_TRUE(pool.map(kSquare, std::vector<long>{}).empty());
}

TEST(ProcessPool, MapTakesABracedListAsPythonTakesAListLiteral) {
  pz::ProcessPool pool(1);
  EXPECT_EQ(pool.map(kSquare, {3L, -2L, 0L}), (std::vector<long>{9, 4, 0}));
  EXPECT_EQ(pool.map_async(kSquare, {5, 6}).result(), (std::vector<long>{25, 36}));
}

TEST(ProcessPool, ATaskThatThrowsFailsWithItsMessageAndThePoolKeepsServing) {
  pz::ProcessPool pool(1);
  auto failing = pool.submit(kFail, std::string("the oven is cold"));
  EXPECT_THROW(failing.result(), pz::RemoteTaskError);
  EXPECT_EQ(error_of(failing), "task 'test.fail' failed: the oven is cold");
  EXPECT_EQ(pool.submit(kSquare, 3L).result(), 9);
  EXPECT_EQ(pool.counters().workers_died, 0U);
}

TEST(ProcessPool, AnUnknownTaskNameIsReportedByTheWorker) {
  pz::ProcessPool pool(1);
  auto future = pool.submit(pz::RemoteFunction<int(int)>{"test.never_registered", {}}, 1);
  EXPECT_TRUE(contains(error_of(future), "no task is registered under the name"));
}

TEST(ProcessPool, AWorkerThatSegfaultsMidTaskFailsItWithTheSignalAndIsReplaced) {
  let_workers_die_by_sigsegv();
  pz::ProcessPool pool(1);
  const pid_t before = pool.submit(kPid).result();
  auto crashed = pool.submit(kSegfault);
  EXPECT_THROW(crashed.result(), pz::WorkerDied);
  const std::string message = error_of(crashed);
  EXPECT_TRUE(contains(message, "SIGSEGV")) << message;
  EXPECT_TRUE(contains(message, "worker " + std::to_string(before))) << message;
  EXPECT_TRUE(contains(message, "test.segfault")) << message;
  // Recovery: a new worker serves the next tasks.
  const pid_t after = pool.submit(kPid).result();
  EXPECT_NE(after, before);
  EXPECT_EQ(pool.submit(kSquare, 5L).result(), 25);
  EXPECT_EQ(pool.counters().workers_died, 1U);
}

TEST(ProcessPool, AWorkerKilledWithSigkillMidTaskFailsItAndIsReplaced) {
  pz::ProcessPool pool(2);
  pz::test::FifoGate gate;
  auto held = pool.submit(kGate, gate.path());
  gate.wait_until_task_runs();
  // Which worker runs it is not known; kill both, the idle one must not
  // matter to any task.
  const auto pids = pool.worker_pids();
  ASSERT_EQ(pids.size(), 2U);
  for (pid_t pid : pids) {
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
  }
  const std::string message = error_of(held);
  EXPECT_TRUE(contains(message, "was killed by signal 9 (SIGKILL")) << message;
  EXPECT_TRUE(contains(message, "test.gate")) << message;
  std::vector<long> inputs{1, 2, 3, 4};
  EXPECT_EQ(pool.map(kSquare, inputs), (std::vector<long>{1, 4, 9, 16}));
  for (pid_t pid : pool.worker_pids()) {
    EXPECT_EQ(std::count(pids.begin(), pids.end(), pid), 0);
  }
}

TEST(ProcessPool, AWorkerThatKillsItselfOrExitsFailsOnlyItsOwnTask) {
  pz::ProcessPool pool(2);
  auto killed = pool.submit(kKillSelf);
  auto exited = pool.submit(kExit, 7);
  auto fine = pool.submit(kSquare, 6L);
  EXPECT_TRUE(contains(error_of(killed), "SIGKILL")) << error_of(killed);
  EXPECT_TRUE(contains(error_of(exited), "exited with status 7")) << error_of(exited);
  EXPECT_EQ(fine.result(), 36);
  EXPECT_EQ(pool.submit(kSquare, 7L).result(), 49);
}

TEST(ProcessPool, MapFailsWithTheFirstFailingItemWhenAWorkerDies) {
  pz::ProcessPool pool(2);
  std::vector<long> inputs(20, 2);
  auto ok = pool.map_async(kSquare, inputs, 3);
  auto crash = pool.submit(kKillSelf);
  EXPECT_EQ(ok.result(), std::vector<long>(20, 4));
  EXPECT_THROW(crash.result(), pz::WorkerDied);
}

TEST(ProcessPool, ImapUnorderedStreamsAnEndlessInputWithBoundedTasksInFlight) {
  pz::ProcessPool pool(2);
  auto results = pool.imap_unordered(kSquare, Naturals{}, 4);  // never materialised
  std::set<long> seen;
  for (int i = 0; i < 50; ++i) {
    auto value = results.next();
    ASSERT_TRUE(value.has_value());
    EXPECT_LE(results.in_flight(), 4U);
    seen.insert(*value);
  }
  EXPECT_EQ(seen.size(), 50U);
  for (long value : seen) {
    const long root = std::lround(std::sqrt(static_cast<double>(value)));
    EXPECT_EQ(root * root, value);
    EXPECT_LE(root, 50 + 4);  // only inputs up to 50 + the bound were taken
  }
}

TEST(ProcessPool, ImapUnorderedEndsWithAFiniteInputAndReportsEachError) {
  pz::ProcessPool pool(2);
  std::vector<long> inputs{1, 2, 3, 4, 5};
  auto results = pool.imap_unordered(kSquare, inputs);
  std::multiset<long> got;
  while (auto value = results.next()) {
    got.insert(*value);
  }
  EXPECT_EQ(got, (std::multiset<long>{1, 4, 9, 16, 25}));

  std::vector<std::string> reasons{"a", "b"};
  auto failures = pool.imap_unordered(kFail, reasons, 1);
  EXPECT_THROW(failures.next(), pz::RemoteTaskError);
  EXPECT_THROW(failures.next(), pz::RemoteTaskError);
  EXPECT_EQ(failures.next(), std::nullopt);
}

TEST(ProcessPool, ImapUnorderedCanBeReadWithARangeForLoop) {
  pz::ProcessPool pool(2);
  std::multiset<long> got;
  for (long square : pool.imap_unordered(kSquare, std::vector<long>{1, 2, 3, 4, 5})) {
    got.insert(square);
  }
  EXPECT_EQ(got, (std::multiset<long>{1, 4, 9, 16, 25}));
}

TEST(ProcessPool, RunsTheInitializerInEveryWorkerIncludingReplacements) {
  pz::ProcessPoolOptions options;
  options.workers = 1;
  options.max_tasks_per_child = 1;
  options.set_initializer(kInit, std::string("quattro formaggi"));
  pz::ProcessPool pool(options);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(pool.submit(kReadInit).result(), "quattro formaggi");
  }
}

TEST(ProcessPool, MaxTasksPerChildReplacesWorkersAfterThatManyTasks) {
  pz::ProcessPoolOptions options;
  options.workers = 1;
  options.max_tasks_per_child = 2;
  pz::ProcessPool pool(options);
  std::vector<long> pids;
  for (int i = 0; i < 6; ++i) {
    pids.push_back(pool.submit(kPid).result());
  }
  EXPECT_EQ(pids[0], pids[1]);
  EXPECT_NE(pids[1], pids[2]);
  EXPECT_EQ(pids[2], pids[3]);
  EXPECT_NE(pids[3], pids[4]);
  EXPECT_EQ(pool.counters().workers_died, 0U);  // retirements are not deaths
  EXPECT_GE(pool.counters().workers_started, 3U);
}

TEST(ProcessPool, AFailingInitializerBreaksThePoolWithItsMessage) {
  pz::ProcessPoolOptions options;
  options.workers = 1;
  options.set_initializer(kInitFails);
  pz::ProcessPool pool(options);
  auto future = pool.submit(kSquare, 2L);
  const std::string message = error_of(future);
  EXPECT_TRUE(contains(message, "initializer 'test.init_fails' failed")) << message;
  EXPECT_TRUE(contains(message, "no flour in the kitchen")) << message;
}

TEST(ProcessPool, AMissingExecutableBreaksThePoolInsteadOfLooping) {
  pz::ProcessPoolOptions options;
  options.workers = 1;
  options.executable = "/nonexistent/pz-worker";
  pz::ProcessPool pool(options);
  auto future = pool.submit(kSquare, 2L);
  EXPECT_TRUE(contains(error_of(future), "/nonexistent/pz-worker")) << error_of(future);
}

TEST(ProcessPool, AProgramWithoutTheWorkerHookBreaksThePoolWithAHint) {
  pz::ProcessPoolOptions options;
  options.workers = 1;
  options.executable = "/bin/sleep";  // runs, but never reaches a worker loop
  options.arguments = {"30"};
  options.start_timeout = std::chrono::milliseconds(50);
  pz::ProcessPool pool(options);
  auto future = pool.submit(kSquare, 2L);
  const std::string message = error_of(future);
  EXPECT_TRUE(contains(message, "did not reach its worker loop")) << message;
  EXPECT_TRUE(contains(message, "run_process_worker_if_requested")) << message;
}

// A main() without the hook usually runs to its own end in the worker (or
// aborts creating a pool there) long before any start timeout: the broken
// pool's message must still point at the hook.
TEST(ProcessPool, AWorkerThatExitsBeforeItsWorkerLoopBreaksThePoolWithAHint) {
  pz::ProcessPoolOptions options;
  options.workers = 1;
  options.executable = "/bin/false";  // exits at once with status 1
  pz::ProcessPool pool(options);
  auto future = pool.submit(kSquare, 2L);
  const std::string message = error_of(future);
  EXPECT_TRUE(contains(message, "keep dying before running any task")) << message;
  EXPECT_TRUE(contains(message, "before reaching its worker loop")) << message;
  EXPECT_TRUE(contains(message, "run_process_worker_if_requested")) << message;
}

TEST(ProcessPool, ShutdownWithCancelFailsQueuedTasksAndFinishesTheRunningOne) {
  pz::ProcessPool pool(1);
  pz::test::FifoGate gate;
  auto running = pool.submit(kGate, gate.path());
  gate.wait_until_task_runs();
  std::vector<pz::Future<long>> queued;
  for (long i = 0; i < 5; ++i) {
    queued.push_back(pool.submit(kSquare, i));
  }
  pool.shutdown(false, true);
  for (auto& future : queued) {
    EXPECT_THROW(future.result(), pz::TaskCancelled);
  }
  EXPECT_FALSE(running.done());
  gate.close();
  EXPECT_GT(running.result(), 0);
  pool.shutdown(true, true);
  EXPECT_THROW(pool.submit(kSquare, 1L), std::runtime_error);
}

TEST(ProcessPool, ShutdownLeavesNoChildZombieOrOpenDescriptor) {
  let_workers_die_by_sigsegv();
  const std::set<std::string> fds_before = open_fds();
  std::vector<pid_t> all_workers;
  {
    pz::ProcessPoolOptions options;
    options.workers = 2;
    options.max_tasks_per_child = 3;
    pz::ProcessPool pool(options);
    std::vector<long> inputs(30, 3);
    EXPECT_EQ(pool.map(kSquare, inputs, 2), std::vector<long>(30, 9));
    all_workers = pool.worker_pids();
    auto crash = pool.submit(kSegfault);
    EXPECT_THROW(crash.result(), pz::WorkerDied);
    auto more = pool.worker_pids();
    all_workers.insert(all_workers.end(), more.begin(), more.end());
    pool.shutdown(true, false);
  }
  // No child at all, not even a zombie: waitpid has nothing to wait for.
  errno = 0;
  EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
  for (pid_t pid : all_workers) {
    EXPECT_NE(::kill(pid, 0), 0) << "worker " << pid << " still exists";
  }
  EXPECT_EQ(open_fds(), fds_before);
}

}  // namespace
