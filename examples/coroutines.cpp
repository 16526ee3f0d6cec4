// asyncio in C++: pz::run (asyncio.run), gather, sleep, timeout (wait_for)
// and TaskGroup (seed 002, "AsyncIO in Action": five sleepers).
//
// Every task here runs on one thread, taking turns at each co_await; the
// sleeps only decide the order in which they wake up.
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <vector>

#include "pizzeria/coro/cancelled_error.hpp"
#include "pizzeria/coro/gather.hpp"
#include "pizzeria/coro/run.hpp"
#include "pizzeria/coro/sleep.hpp"
#include "pizzeria/coro/task_group.hpp"
#include "pizzeria/coro/timeout.hpp"
#include "pizzeria/coro/timeout_error.hpp"

using namespace std::chrono_literals;

pz::Task<int> sleeper(int counter) {
  // Later counters sleep less, so they wake first: the order is fixed.
  co_await pz::sleep((5 - counter) * 40ms);
  std::printf("%d awakens\n", counter);
  co_return counter* counter;
}

pz::Task<void> cook(int pizzas) {
  try {
    co_await pz::sleep(pizzas * 1s);  // a cancelled cook does not wait it out
    if (pizzas == 0) {
      throw std::runtime_error("an order of 0 pizzas");
    }
    std::printf("cooked %d pizzas\n", pizzas);
  } catch (const pz::CancelledError&) {
    // A sibling failed: the group cancels us at our current co_await.
    std::printf("cook of %d pizzas cancelled\n", pizzas);
    throw;
  }
}

pz::Task<void> five_sleepers() {
  // Calling a task function runs nothing yet; gather starts them together.
  std::vector<pz::Task<int>> tasks;
  for (int i = 0; i < 5; ++i) {
    tasks.push_back(sleeper(i));
  }
  std::vector<int> squares = co_await pz::gather(std::move(tasks));
  std::printf("gathered in argument order: %d %d %d %d %d\n", squares[0], squares[1], squares[2],
              squares[3], squares[4]);

  // asyncio.wait_for: the sleep is cancelled at the deadline; we go on.
  try {
    co_await pz::timeout(20ms, pz::sleep(10s));
  } catch (const pz::TimeoutError&) {
    std::printf("the 10 s sleep timed out\n");
  }
  int quick = co_await pz::timeout(10s, sleeper(4));
  std::printf("in time: %d\n", quick);

  // TaskGroup: structured concurrency. The first failure cancels the
  // others; join() waits for all of them, then rethrows that failure.
  try {
    pz::TaskGroup kitchen;
    kitchen.spawn(cook(2));
    kitchen.spawn(cook(0));
    kitchen.spawn(cook(100));
    co_await kitchen.join();
  } catch (const std::runtime_error& error) {
    std::printf("kitchen failed: %s\n", error.what());
  }
}

int main() {
  pz::run(five_sleepers());
  std::printf("done\n");
}
