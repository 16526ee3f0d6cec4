// asyncio in C++: pz::run (asyncio.run), gather, sleep and timeout
// (wait_for), after seed 002's "AsyncIO in Action" (five sleepers).
// task_group.cpp shows TaskGroup.
//
// Every task here runs on one thread, taking turns at each co_await; the
// sleeps only decide the order in which they wake up.
#include <chrono>
#include <cstdio>
#include <utility>
#include <vector>

#include "pizzeria/coro/gather.hpp"
#include "pizzeria/coro/run.hpp"
#include "pizzeria/coro/sleep.hpp"
#include "pizzeria/coro/timeout.hpp"
#include "pizzeria/coro/timeout_error.hpp"

using namespace std::chrono_literals;

pz::Task<int> sleeper(int counter) {
  // Later counters sleep less, so they wake first: the order is fixed.
  co_await pz::sleep((5 - counter) * 40ms);
  std::printf("%d awakens\n", counter);
  const int square = counter * counter;
  co_return square;
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
  } catch (const pz::TimeoutError& error) {
    std::printf("%s\n", error.what());
  }
  int quick = co_await pz::timeout(10s, sleeper(4));
  std::printf("in time: %d\n", quick);
}

int main() {
  pz::run(five_sleepers());
  std::printf("done\n");
}
