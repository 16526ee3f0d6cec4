// pz::ThreadPool against oneTBB's task_group and std::async, in one binary so
// one run on this shared machine measures all of them under the same load.
//
//   1,000,000 tiny tasks per iteration:
//     pz::ThreadPool::post + wait_idle     vs  tbb::task_group::run + wait
//     pz::ThreadPool::submit (a Future each, waited in windows of 10,000)
//   std::async(std::launch::async) starts a thread per task, so it runs only
//   10,000 tasks per iteration; compare items_per_second (tasks/s), which is
//   already normalised per task.
//
// A "tiny task" hashes its index into a sink the optimiser cannot drop.
// Every pool uses std::thread::hardware_concurrency() workers; TBB's default
// arena uses the same number of threads (the waiting thread included).
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdint>
#include <future>
#include <thread>
#include <vector>

#include "pizzeria/exec/thread_pool.hpp"

#if defined(PZ_HAVE_TBB)
#include <tbb/task_group.h>
#endif

namespace {

constexpr std::int64_t kTasks = 1'000'000;
constexpr std::int64_t kAsyncTasks = 10'000;
constexpr std::int64_t kWindow = 10'000;

inline void tiny_task(std::int64_t i) {
  std::uint64_t x = static_cast<std::uint64_t>(i) * 0x9E3779B97F4A7C15ULL;
  benchmark::DoNotOptimize(x);
}

void BM_ThreadPool_Post(benchmark::State& state) {
  pz::ThreadPool pool(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    for (std::int64_t i = 0; i < kTasks; ++i) {
      pool.post([i] { tiny_task(i); });
    }
    pool.wait_idle();
  }
  state.SetItemsProcessed(state.iterations() * kTasks);
}
BENCHMARK(BM_ThreadPool_Post)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_ThreadPool_SubmitWithFutures(benchmark::State& state) {
  pz::ThreadPool pool;
  std::vector<pz::Future<void>> futures;
  futures.reserve(kWindow);
  for (auto _ : state) {
    for (std::int64_t base = 0; base < kTasks; base += kWindow) {
      for (std::int64_t i = base; i < base + kWindow; ++i) {
        futures.push_back(pool.submit([i] { tiny_task(i); }));
      }
      for (auto& future : futures) {
        future.result();
      }
      futures.clear();
    }
  }
  state.SetItemsProcessed(state.iterations() * kTasks);
}
BENCHMARK(BM_ThreadPool_SubmitWithFutures)->Unit(benchmark::kMillisecond)->UseRealTime();

#if defined(PZ_HAVE_TBB)
void BM_Tbb_TaskGroup(benchmark::State& state) {
  for (auto _ : state) {
    tbb::task_group group;
    for (std::int64_t i = 0; i < kTasks; ++i) {
      group.run([i] { tiny_task(i); });
    }
    group.wait();
  }
  state.SetItemsProcessed(state.iterations() * kTasks);
}
BENCHMARK(BM_Tbb_TaskGroup)->Unit(benchmark::kMillisecond)->UseRealTime();
#endif

void BM_StdAsync(benchmark::State& state) {
  std::vector<std::future<void>> futures;
  futures.reserve(kAsyncTasks);
  for (auto _ : state) {
    for (std::int64_t i = 0; i < kAsyncTasks; ++i) {
      futures.push_back(std::async(std::launch::async, [i] { tiny_task(i); }));
    }
    for (auto& future : futures) {
      future.get();
    }
    futures.clear();
  }
  state.SetItemsProcessed(state.iterations() * kAsyncTasks);
}
BENCHMARK(BM_StdAsync)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
