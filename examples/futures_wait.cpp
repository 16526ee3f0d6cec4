// Waiting on many futures at once: when_all (wait(ALL_COMPLETED) or
// asyncio.gather), when_any (wait(FIRST_COMPLETED)) and as_completed, as in
// Python's concurrent.futures.
#include <cstdio>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "pizzeria/exec/as_completed.hpp"
#include "pizzeria/exec/promise.hpp"
#include "pizzeria/exec/thread_pool.hpp"
#include "pizzeria/exec/when_all.hpp"
#include "pizzeria/exec/when_any.hpp"

int main() {
  pz::ThreadPool pool(2);

  // when_all: one future for all of them; the values come in input order.
  std::vector<pz::Future<int>> squares;
  for (int i = 1; i <= 4; ++i) {
    squares.push_back(pool.submit([i] { return i * i; }));
  }
  for (int square : pz::when_all(std::move(squares)).result()) {
    std::printf("%d ", square);
  }
  std::printf("\n");

  // when_any: the first to finish. The slow task waits for a gate that opens
  // only after we have the winner, so the output never depends on timing.
  pz::Promise<void> gate;
  pz::Future<void> gate_opened = gate.get_future();
  std::vector<pz::Future<std::string>> racers;
  racers.push_back(pool.submit([&gate_opened] {
    gate_opened.wait();
    return std::string("slow");
  }));
  racers.push_back(pool.submit([] { return std::string("fast"); }));
  pz::WhenAnyResult<std::string> first = pz::when_any(std::move(racers)).result();
  std::printf("first: %s (index %zu)\n", first.futures[first.index].result().c_str(), first.index);
  gate.set_value();
  // The losers come back too; wait for them with result().
  std::printf("then: %s\n", first.futures[0].result().c_str());

  // as_completed: each future as it finishes, not in input order. Here a
  // thread completes the promises in the order 2, 0, 3, 1.
  std::vector<pz::Promise<int>> deliveries(4);
  std::vector<pz::Future<int>> pending;
  for (pz::Promise<int>& delivery : deliveries) {
    pending.push_back(delivery.get_future());
  }
  pz::AsCompleted<int> completed = pz::as_completed(std::move(pending));
  std::thread courier([&deliveries] {
    for (int table : {2, 0, 3, 1}) {
      deliveries[static_cast<std::size_t>(table)].set_value(10 * table);
    }
  });
  while (std::optional<pz::Future<int>> delivered = completed.next()) {
    std::printf("delivered %d\n", delivered->result());
  }
  courier.join();
}
