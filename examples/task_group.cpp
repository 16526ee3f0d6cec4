// asyncio.TaskGroup in C++: structured concurrency. The children run
// concurrently; the first to fail cancels the others at their current
// co_await, and join() waits for every child, then rethrows that failure.
// No child outlives its group.
#include "pizzeria/coro/task_group.hpp"

#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <vector>

#include "pizzeria/coro/cancelled_error.hpp"
#include "pizzeria/coro/run.hpp"
#include "pizzeria/coro/sleep.hpp"

using namespace std::chrono_literals;

pz::Task<void> cook(int pizzas) {
  try {
    co_await pz::sleep(pizzas * 40ms);  // a cancelled cook does not wait it out
    if (pizzas == 0) {
      throw std::runtime_error("an order of 0 pizzas");
    }
    std::printf("cooked %d pizzas\n", pizzas);
  } catch (const pz::CancelledError&) {
    // Cleanup goes here (or in destructors); then let the cancellation end us.
    std::printf("cook of %d pizzas cancelled\n", pizzas);
    throw;
  }
}

pz::Task<void> kitchen(std::vector<int> orders) {
  pz::TaskGroup cooks;  // async with asyncio.TaskGroup() as cooks:
  for (int pizzas : orders) {
    cooks.spawn(cook(pizzas));  // starts now, runs to its first co_await
  }
  co_await cooks.join();  // leaving the block: wait for all
}

int main() {
  pz::run(kitchen({1, 2}));
  // The failure comes out of pz::run as it would out of asyncio.run.
  try {
    pz::run(kitchen({50, 0, 100}));
  } catch (const std::runtime_error& error) {
    std::printf("kitchen failed: %s\n", error.what());
  }
}
