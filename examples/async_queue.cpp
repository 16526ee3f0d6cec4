// asyncio.Queue in C++: a producer task and two consumer tasks on one event
// loop, handing orders over through a bounded pz::Queue.
//
// put() suspends while the queue is full and get() while it is empty, so
// nothing here blocks a thread. When the waiter has queued the last order it
// shuts the queue down (asyncio.Queue.shutdown, Python 3.13): the cooks take
// what is still queued, and then get() raises QueueShutDownError, which ends
// their loops. No sentinel per consumer, no cancellation.
#include <cstdio>

#include "pizzeria/coro/queue.hpp"
#include "pizzeria/coro/queue_shut_down_error.hpp"
#include "pizzeria/coro/run.hpp"
#include "pizzeria/coro/task_group.hpp"
#include "pizzeria/coro/yield.hpp"

constexpr int kOrders = 6;

pz::Task<void> waiter(pz::Queue<int>& orders) {
  for (int order = 1; order <= kOrders; ++order) {
    co_await orders.put(order);  // suspends while 2 orders wait
    std::printf("waiter queued order %d\n", order);
  }
  orders.shutdown();  // no more orders: the queued ones are still baked
}

pz::Task<void> cook(char name, pz::Queue<int>& orders, int& baked) {
  try {
    for (;;) {
      const int order = co_await orders.get();
      std::printf("cook %c bakes order %d\n", name, order);
      // Baking takes a turn of the loop. Without an await that suspends,
      // this cook would keep the loop: a get() from a non-empty queue
      // returns at once, as in asyncio, and lets no other task run.
      co_await pz::yield();
      ++baked;
    }
  } catch (const pz::QueueShutDownError&) {
    std::printf("cook %c goes home\n", name);  // shut down, and empty
  }
}

pz::Task<void> pizzeria() {
  pz::Queue<int> orders(2);
  int baked = 0;
  pz::TaskGroup kitchen;
  kitchen.spawn(cook('A', orders, baked));
  kitchen.spawn(cook('B', orders, baked));
  kitchen.spawn(waiter(orders));
  co_await kitchen.join();
  std::printf("%d orders baked\n", baked);
}

int main() {
  pz::run(pizzeria());
}
