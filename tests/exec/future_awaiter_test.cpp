#include "pizzeria/exec/future_awaiter.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <latch>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "pizzeria/coro/cancelled_error.hpp"
#include "pizzeria/coro/gather.hpp"
#include "pizzeria/coro/run.hpp"
#include "pizzeria/coro/task.hpp"
#include "pizzeria/coro/task_group.hpp"
#include "pizzeria/exec/process_pool.hpp"
#include "pizzeria/exec/promise.hpp"
#include "pizzeria/exec/thread_pool.hpp"
#include "pizzeria/exec/to_thread.hpp"

namespace {

long cube(long x) {
  return x * x * x;
}
const auto kCube = pz::register_task("test.cube", &cube);

TEST(FutureAwaiter, ToThreadRunsOffTheLoopAndResumesOnTheLoopThread) {
  const auto loop_thread = std::this_thread::get_id();
  auto task = [&]() -> pz::Task<int> {
    std::thread::id worker;
    const int value = co_await pz::to_thread([&worker] {
      worker = std::this_thread::get_id();
      return 42;
    });
    EXPECT_NE(worker, loop_thread);
    EXPECT_EQ(std::this_thread::get_id(), loop_thread);
    co_return value;
  };
  EXPECT_EQ(pz::run(task()), 42);
}

TEST(FutureAwaiter, PoolRunRethrowsTheTaskExceptionInTheCoroutine) {
  pz::ThreadPool pool(2);
  auto task = [&]() -> pz::Task<std::string> {
    try {
      co_await pool.run([]() -> int { throw std::runtime_error("stone oven cracked"); });
    } catch (const std::runtime_error& error) {
      co_return error.what();
    }
    co_return "no exception";
  };
  EXPECT_EQ(pz::run(task()), "stone oven cracked");
}

TEST(FutureAwaiter, ManySequentialAwaitsAllResumeOnTheLoop) {
  pz::ThreadPool pool(2);
  const auto loop_thread = std::this_thread::get_id();
  auto task = [&]() -> pz::Task<long> {
    long sum = 0;
    for (long i = 0; i < 200; ++i) {
      sum += co_await pool.run([i] { return i; });
      EXPECT_EQ(std::this_thread::get_id(), loop_thread);
    }
    co_await pool.run([] {});  // void works too
    co_return sum;
  };
  EXPECT_EQ(pz::run(task()), 199 * 200 / 2);
}

TEST(FutureAwaiter, ConcurrentCoroutinesAwaitPoolWorkTogether) {
  pz::ThreadPool pool(2);
  auto one = [&pool](int i) -> pz::Task<int> {
    co_return co_await pool.run([i] { return 2 * i; });
  };
  auto all = [&]() -> pz::Task<std::vector<int>> {
    std::vector<pz::Task<int>> tasks;
    for (int i = 0; i < 50; ++i) {
      tasks.push_back(one(i));
    }
    co_return co_await pz::gather(std::move(tasks));
  };
  const std::vector<int> results = pz::run(all());
  ASSERT_EQ(results.size(), 50U);
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(results[static_cast<std::size_t>(i)], 2 * i);
  }
}

TEST(FutureAwaiter, AwaitsAProcessPoolResult) {
  pz::ProcessPool processes(1);
  auto task = [&]() -> pz::Task<long> { co_return co_await processes.run(kCube, 7L); };
  EXPECT_EQ(pz::run(task()), 343);
}

TEST(FutureAwaiter, AReadyFutureDoesNotSuspendAndABrokenOneThrows) {
  auto task = []() -> pz::Task<int> {
    int ready = co_await pz::make_ready_future(5);
    pz::Future<int> broken;
    {
      pz::Promise<int> promise;
      broken = promise.get_future();
    }
    try {
      co_await std::move(broken);
    } catch (const pz::BrokenPromise&) {
      co_return ready;
    }
    co_return -1;
  };
  EXPECT_EQ(pz::run(task()), 5);
}

TEST(FutureAwaiter, CancellingTheAwaitResumesAtOnceAndDropsTheLateResult) {
  pz::ThreadPool pool(1);
  std::latch release(1);  // outlives the work: the pool is shut down below
  std::atomic<bool> work_finished{false};
  bool cancelled = false;
  auto waiter = [&]() -> pz::Task<void> {
    try {
      co_await pool.run([&release, &work_finished] {
        release.wait();  // blocked until the test lets it go
        work_finished = true;
        return 1;
      });
    } catch (const pz::CancelledError&) {
      cancelled = true;
    }
  };
  auto main_task = [&]() -> pz::Task<void> {
    pz::TaskGroup group;
    group.spawn(waiter());
    group.cancel();  // while the work is still blocked
    co_await group.join();
  };
  // The loop must outlive pool work awaited from it (the completion posts to
  // it), so it is made here rather than inside pz::run.
  pz::EventLoop loop;
  pz::run(main_task());
  EXPECT_TRUE(cancelled);
  EXPECT_FALSE(work_finished);
  // The work finishes later; its completion must find nothing to resume.
  release.count_down();
  pool.shutdown(true, false);
  EXPECT_TRUE(work_finished);
  loop.run_once(std::chrono::seconds(1));  // runs the late wake-up: a no-op
}

TEST(FutureAwaiter, AwaitingWithoutALoopIsAClearError) {
  pz::Promise<int> promise;
  auto future = promise.get_future();
  pz::FutureAwaiter<int> awaiter(std::move(future));
  EXPECT_FALSE(awaiter.await_ready());
  EXPECT_THROW(awaiter.await_suspend(std::noop_coroutine()), std::logic_error);
  promise.set_value(1);
}

}  // namespace
