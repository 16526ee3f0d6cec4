// pizzeria coroutines and streams against Boost.Asio's C++20 coroutines
// (asio::awaitable, asio::co_spawn), in one binary so one run on this shared
// machine measures both under the same conditions.
//
//   spawn+complete   TaskGroup::spawn of a task (that awaits a sub-task) and
//                    join, vs co_spawn(..., detached) and io_context::run
//   yield+complete   the same, each task yielding to the loop once first
//   suspended memory heap bytes per task suspended on an event / timer
//                    (mallinfo2 before and after spawning 10,000)
//   ping-pong        64-byte messages back and forth over a socketpair:
//                    TcpStream::read_exactly/write vs async_read/async_write
//
// docs/benchmarks.md records the ratios.
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <sys/socket.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/local/connect_pair.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/post.hpp>
#include <asio/read.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <string>
#include <thread>
#include <vector>

#include "pizzeria/core/event_loop.hpp"
#include "pizzeria/coro/event.hpp"
#include "pizzeria/coro/run.hpp"
#include "pizzeria/coro/task_group.hpp"
#include "pizzeria/coro/yield.hpp"
#include "pizzeria/net/tcp_stream.hpp"

namespace {

// Heap bytes in use, all arenas, malloc's own chunk headers included: asio
// allocates its frames with aligned_alloc, past any operator new hook, so
// both libraries are measured at the malloc level.
std::size_t heap_in_use() {
  return ::mallinfo2().uordblks;
}

constexpr int kBatch = 1000;

// ---- spawn + complete

pz::Task<int> pz_leaf(int i) {
  co_return i;
}
pz::Task<void> pz_task(int i, long& sum) {
  sum += co_await pz_leaf(i);
}

void BM_Pizzeria_SpawnComplete(benchmark::State& state) {
  pz::EventLoop loop;
  long sum = 0;
  auto batch = [&]() -> pz::Task<void> {
    pz::TaskGroup group;
    for (int i = 0; i < kBatch; ++i) {
      group.spawn(pz_task(i, sum));
    }
    co_await group.join();
  };
  for (auto _ : state) {
    pz::run(batch());
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_Pizzeria_SpawnComplete);

asio::awaitable<int> asio_leaf(int i) {
  co_return i;
}
asio::awaitable<void> asio_task(int i, long& sum) {
  sum += co_await asio_leaf(i);
}

void BM_Asio_SpawnComplete(benchmark::State& state) {
  asio::io_context context(1);
  long sum = 0;
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i) {
      asio::co_spawn(context, asio_task(i, sum), asio::detached);
    }
    context.run();
    context.restart();
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_Asio_SpawnComplete);

// ---- spawn + one trip through the loop + complete

pz::Task<void> pz_yielding_task(int i, long& sum) {
  co_await pz::yield();
  sum += co_await pz_leaf(i);
}

void BM_Pizzeria_SpawnYieldComplete(benchmark::State& state) {
  pz::EventLoop loop;
  long sum = 0;
  auto batch = [&]() -> pz::Task<void> {
    pz::TaskGroup group;
    for (int i = 0; i < kBatch; ++i) {
      group.spawn(pz_yielding_task(i, sum));
    }
    co_await group.join();
  };
  for (auto _ : state) {
    pz::run(batch());
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_Pizzeria_SpawnYieldComplete);

asio::awaitable<void> asio_yielding_task(int i, long& sum) {
  co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
  sum += co_await asio_leaf(i);
}

void BM_Asio_SpawnYieldComplete(benchmark::State& state) {
  asio::io_context context(1);
  long sum = 0;
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i) {
      asio::co_spawn(context, asio_yielding_task(i, sum), asio::detached);
    }
    context.run();
    context.restart();
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_Asio_SpawnYieldComplete);

// ---- memory per suspended task. Measured on a fresh thread, so neither
// library's per-thread recycling cache hands out memory it got earlier.

constexpr int kSuspended = 10000;

pz::Task<void> pz_waiter(pz::Event& event) {
  co_await event.wait();
}

std::size_t pizzeria_bytes_per_suspended_task() {
  std::size_t per_task = 0;
  std::thread([&] {
    pz::EventLoop loop;
    auto body = [&]() -> pz::Task<void> {
      pz::Event event;
      pz::TaskGroup group;
      const std::size_t before = heap_in_use();
      for (int i = 0; i < kSuspended; ++i) {
        group.spawn(pz_waiter(event));
      }
      per_task = (heap_in_use() - before) / kSuspended;
      event.set();
      co_await group.join();
    };
    pz::run(body());
  }).join();
  return per_task;
}

asio::awaitable<void> asio_waiter(asio::steady_timer& timer) {
  co_await timer.async_wait(asio::use_awaitable);
}

std::size_t asio_bytes_per_suspended_task() {
  std::size_t per_task = 0;
  std::thread([&] {
    asio::io_context context(1);
    asio::steady_timer timer(context, asio::steady_timer::time_point::max());
    const std::size_t before = heap_in_use();
    for (int i = 0; i < kSuspended; ++i) {
      asio::co_spawn(context, asio_waiter(timer), asio::detached);
    }
    // co_spawn only queues the start: run until every task is suspended on the timer.
    context.poll();
    per_task = (heap_in_use() - before) / kSuspended;
    timer.cancel();
    context.run();
  }).join();
  return per_task;
}

void BM_Pizzeria_SuspendedTaskMemory(benchmark::State& state) {
  std::size_t bytes = 0;
  for (auto _ : state) {
    bytes = pizzeria_bytes_per_suspended_task();
  }
  state.counters["bytes_per_task"] = static_cast<double>(bytes);
}
BENCHMARK(BM_Pizzeria_SuspendedTaskMemory)->Iterations(3);

void BM_Asio_SuspendedTaskMemory(benchmark::State& state) {
  std::size_t bytes = 0;
  for (auto _ : state) {
    bytes = asio_bytes_per_suspended_task();
  }
  state.counters["bytes_per_task"] = static_cast<double>(bytes);
}
BENCHMARK(BM_Asio_SuspendedTaskMemory)->Iterations(3);

// ---- ping-pong over a socketpair

constexpr int kRoundTrips = 1000;
constexpr std::size_t kMessage = 64;

void BM_Pizzeria_PingPong(benchmark::State& state) {
  pz::EventLoop loop;
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    state.SkipWithError("socketpair failed");
    return;
  }
  pz::TcpStream ping{pz::UniqueFd(fds[0])};
  pz::TcpStream pong{pz::UniqueFd(fds[1])};
  const std::string message(kMessage, 'm');
  auto pinger = [&]() -> pz::Task<void> {
    for (int i = 0; i < kRoundTrips; ++i) {
      ping.write(message);
      std::string reply = co_await ping.read_exactly(kMessage);
      benchmark::DoNotOptimize(reply);
    }
  };
  auto ponger = [&]() -> pz::Task<void> {
    for (int i = 0; i < kRoundTrips; ++i) {
      std::string request = co_await pong.read_exactly(kMessage);
      pong.write(request);
    }
  };
  auto both = [&]() -> pz::Task<void> {
    pz::TaskGroup group;
    group.spawn(ponger());
    group.spawn(pinger());
    co_await group.join();
  };
  for (auto _ : state) {
    pz::run(both());
  }
  state.SetItemsProcessed(state.iterations() * kRoundTrips);
}
BENCHMARK(BM_Pizzeria_PingPong);

void BM_Asio_PingPong(benchmark::State& state) {
  asio::io_context context(1);
  asio::local::stream_protocol::socket ping(context);
  asio::local::stream_protocol::socket pong(context);
  asio::local::connect_pair(ping, pong);
  const std::string message(kMessage, 'm');
  auto pinger = [&]() -> asio::awaitable<void> {
    std::string reply(kMessage, '\0');
    for (int i = 0; i < kRoundTrips; ++i) {
      co_await asio::async_write(ping, asio::buffer(message), asio::use_awaitable);
      co_await asio::async_read(ping, asio::buffer(reply), asio::use_awaitable);
      benchmark::DoNotOptimize(reply);
    }
  };
  auto ponger = [&]() -> asio::awaitable<void> {
    std::string request(kMessage, '\0');
    for (int i = 0; i < kRoundTrips; ++i) {
      co_await asio::async_read(pong, asio::buffer(request), asio::use_awaitable);
      co_await asio::async_write(pong, asio::buffer(request), asio::use_awaitable);
    }
  };
  for (auto _ : state) {
    asio::co_spawn(context, ponger(), asio::detached);
    asio::co_spawn(context, pinger(), asio::detached);
    context.run();
    context.restart();
  }
  state.SetItemsProcessed(state.iterations() * kRoundTrips);
}
BENCHMARK(BM_Asio_PingPong);

}  // namespace

BENCHMARK_MAIN();
