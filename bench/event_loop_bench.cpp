// pz::EventLoop against asio::io_context, in one binary so one run on this
// shared machine measures both under the same conditions.
//
//   call_soon             vs  asio::post(io_context, fn) then run()
//   call_soon_threadsafe  vs  asio::post from another thread
//   timer schedule+cancel vs  asio::steady_timer::expires_after + async_wait + cancel
//
// Each benchmark reports items_per_second; docs/benchmarks.md records the
// ratios.
#include <benchmark/benchmark.h>

#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "pizzeria/core/event_loop.hpp"

using namespace std::chrono_literals;

namespace {

constexpr int kBatch = 1000;

// ---- call_soon: queue a batch of callbacks, run them.

void BM_Pizzeria_CallSoon(benchmark::State& state) {
  pz::EventLoop loop;
  std::int64_t counter = 0;
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i) {
      loop.call_soon([&counter] { ++counter; });
    }
    loop.run_once(0ns);
  }
  benchmark::DoNotOptimize(counter);
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_Pizzeria_CallSoon);

void BM_Asio_Post(benchmark::State& state) {
  asio::io_context context(1);
  std::int64_t counter = 0;
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i) {
      asio::post(context, [&counter] { ++counter; });
    }
    context.run();
    context.restart();
  }
  benchmark::DoNotOptimize(counter);
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_Asio_Post);

// ---- call_soon_threadsafe: one producer thread posts, the loop's thread
// runs; the benchmark ends a round when all of the batch has run.

void BM_Pizzeria_CallSoonThreadsafe(benchmark::State& state) {
  pz::EventLoop loop;
  std::int64_t done = 0;
  for (auto _ : state) {
    std::int64_t target = done + kBatch;
    std::thread producer([&] {
      for (int i = 0; i < kBatch; ++i) {
        loop.call_soon_threadsafe([&] {
          if (++done == target) {
            loop.stop();
          }
        });
      }
    });
    loop.run();
    producer.join();
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_Pizzeria_CallSoonThreadsafe)->UseRealTime();

void BM_Asio_PostFromAnotherThread(benchmark::State& state) {
  asio::io_context context(1);
  std::int64_t done = 0;
  for (auto _ : state) {
    std::int64_t target = done + kBatch;
    auto guard = asio::make_work_guard(context);
    std::thread producer([&] {
      for (int i = 0; i < kBatch; ++i) {
        asio::post(context, [&] {
          if (++done == target) {
            guard.reset();
          }
        });
      }
    });
    context.run();
    context.restart();
    producer.join();
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_Asio_PostFromAnotherThread)->UseRealTime();

// ---- timers: arm a batch of timers a minute out and cancel them all (the
// common case of a timeout that did not fire), then let the loop process the
// cancellations.

void BM_Pizzeria_TimerScheduleCancel(benchmark::State& state) {
  pz::EventLoop loop;
  std::vector<pz::TimerHandle> handles(kBatch);
  for (auto _ : state) {
    for (auto& handle : handles) {
      handle = loop.call_later(60s, [] {});
    }
    for (auto& handle : handles) {
      handle.cancel();
    }
    loop.run_once(0ns);
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_Pizzeria_TimerScheduleCancel);

void BM_Asio_TimerScheduleCancel(benchmark::State& state) {
  asio::io_context context(1);
  std::vector<std::unique_ptr<asio::steady_timer>> timers;
  for (int i = 0; i < kBatch; ++i) {
    timers.push_back(std::make_unique<asio::steady_timer>(context));
  }
  for (auto _ : state) {
    for (auto& timer : timers) {
      timer->expires_after(60s);
      timer->async_wait([](const std::error_code&) {});
    }
    for (auto& timer : timers) {
      timer->cancel();
    }
    context.run();  // delivers operation_aborted to every handler
    context.restart();
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_Asio_TimerScheduleCancel);

// ---- timers that fire: arm a batch due now and run them.

void BM_Pizzeria_TimerFire(benchmark::State& state) {
  pz::EventLoop loop;
  std::int64_t fired = 0;
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i) {
      loop.call_later(0ns, [&fired] { ++fired; });
    }
    loop.run_once(0ns);
  }
  benchmark::DoNotOptimize(fired);
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_Pizzeria_TimerFire);

void BM_Asio_TimerFire(benchmark::State& state) {
  asio::io_context context(1);
  std::vector<std::unique_ptr<asio::steady_timer>> timers;
  for (int i = 0; i < kBatch; ++i) {
    timers.push_back(std::make_unique<asio::steady_timer>(context));
  }
  std::int64_t fired = 0;
  for (auto _ : state) {
    for (auto& timer : timers) {
      timer->expires_after(0ns);
      timer->async_wait([&fired](const std::error_code&) { ++fired; });
    }
    context.run();
    context.restart();
  }
  benchmark::DoNotOptimize(fired);
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_Asio_TimerFire);

}  // namespace

BENCHMARK_MAIN();
