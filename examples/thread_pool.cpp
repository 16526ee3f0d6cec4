// concurrent.futures.ThreadPoolExecutor in C++: submit() returns a Future
// at once, result() waits for the value, map() keeps input order, and an
// exception thrown by the task comes back out of result() (seed 002, "Futures").
#include "pizzeria/exec/thread_pool.hpp"

#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>

// Minutes to bake `pizzas` pizzas; refuses nonsense, as a real task would.
int bake(int pizzas) {
  if (pizzas <= 0) {
    throw std::invalid_argument("cannot bake " + std::to_string(pizzas) + " pizzas");
  }
  return 5 + 2 * pizzas;
}

int main() {
  pz::ThreadPool pool(4);  // with ThreadPoolExecutor(max_workers=4) as pool:

  // pool.submit(bake, 3): the arguments are copied into the task, as with
  // std::thread, so nothing here dangles while the worker runs.
  pz::Future<int> minutes = pool.submit(bake, 3);
  std::printf("3 pizzas take %d minutes\n", minutes.result());

  // pool.map(bake, [1, 2, 3, 4, 5]): results in input order, whichever worker
  // ends first. Any range works too (a std::vector, say).
  for (int taken : pool.map(bake, {1, 2, 3, 4, 5})) {
    std::printf("%d ", taken);
  }
  std::printf("\n");

  // The task's own exception, rethrown by result() on this thread.
  pz::Future<int> refused = pool.submit(bake, 0);
  try {
    refused.result();
  } catch (const std::invalid_argument& error) {
    std::printf("result() raised: %s\n", error.what());
  }

  // Or look without throwing, like future.exception(): null means success.
  pz::Future<int> fine = pool.submit(bake, 1);
  std::printf("exception() of a good task is %s\n", fine.exception() ? "set" : "null");

  // Leaving `with` waits for queued tasks; the destructor does not (it
  // cancels what has not started), so ask for the drain explicitly.
  pool.post([] { std::printf("posted work runs before shutdown() returns\n"); });
  pool.shutdown();
}
