// Blocking code from a coroutine: pz::to_thread (asyncio.to_thread) and
// co_await pool.run(...) (loop.run_in_executor), seed 002 "Using Executors to
// Wrap Blocking Code".
//
// A blocking call made directly in a coroutine would stop the whole event
// loop. Here the blocking function waits until a coroutine on the loop opens
// a gate: that can only finish because the loop keeps running meanwhile.
#include <chrono>
#include <cstdio>
#include <future>
#include <stdexcept>
#include <string>

#include "pizzeria/coro/gather.hpp"
#include "pizzeria/coro/run.hpp"
#include "pizzeria/coro/sleep.hpp"
#include "pizzeria/exec/thread_pool.hpp"
#include "pizzeria/exec/to_thread.hpp"

using namespace std::chrono_literals;

// Stands for a blocking library call (a file read, a database driver...).
std::string read_menu(std::shared_future<void> ready) {
  ready.wait();
  return "margherita, marinara";
}

long sum_up_to(long n) {
  long sum = 0;
  for (long i = 1; i <= n; ++i) {
    sum += i;
  }
  return sum;
}

pz::Task<void> fetch_menu(std::shared_future<void> ready) {
  // Runs on the process-wide default thread pool; we resume on the loop.
  std::string menu = co_await pz::to_thread(read_menu, ready);
  std::printf("menu: %s\n", menu.c_str());
}

pz::Task<void> open_kitchen(std::promise<void>& ready) {
  co_await pz::sleep(10ms);
  std::printf("the loop still runs while read_menu blocks\n");
  ready.set_value();
}

pz::Task<void> main_task(pz::ThreadPool& pool) {
  std::promise<void> ready;
  co_await pz::gather(fetch_menu(ready.get_future().share()), open_kitchen(ready));

  // Your own pool, as loop.run_in_executor(pool, fn, arg).
  long total = co_await pool.run(sum_up_to, 1000L);
  std::printf("sum: %ld\n", total);

  // The function's exception is rethrown at the co_await, on the loop thread.
  try {
    co_await pz::to_thread([] { throw std::runtime_error("the oven is cold"); });
  } catch (const std::runtime_error& error) {
    std::printf("to_thread raised: %s\n", error.what());
  }
}

int main() {
  pz::ThreadPool pool(2);
  pz::run(main_task(pool));
}
