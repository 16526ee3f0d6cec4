// asyncio.Queue in C++: a producer task and two consumer tasks on one event
// loop, handing orders over through a bounded pz::Queue.
//
// put() suspends while the queue is full and get() while it is empty, so
// nothing here blocks a thread. pz::Queue has no close(), like asyncio.Queue
// before Python 3.13: the consumers loop for ever, and once every order is
// baked (an Event plays the part of queue.join()) the group cancels them.
#include <cstdio>

#include "pizzeria/coro/event.hpp"
#include "pizzeria/coro/queue.hpp"
#include "pizzeria/coro/run.hpp"
#include "pizzeria/coro/task_group.hpp"
#include "pizzeria/coro/yield.hpp"

constexpr int kOrders = 6;

pz::Task<void> waiter(pz::Queue<int>& orders) {
  for (int order = 1; order <= kOrders; ++order) {
    co_await orders.put(order);  // suspends while 2 orders wait
    std::printf("waiter queued order %d\n", order);
  }
}

pz::Task<void> cook(char name, pz::Queue<int>& orders, int& baked, pz::Event& all_baked) {
  for (;;) {
    const int order = co_await orders.get();  // raises CancelledError when cancelled
    std::printf("cook %c bakes order %d\n", name, order);
    // Baking takes a turn of the loop. Without an await that suspends, this
    // cook would keep the loop: a get() from a non-empty queue returns at
    // once, as in asyncio, and lets no other task run.
    co_await pz::yield();
    if (++baked == kOrders) {
      all_baked.set();
    }
  }
}

pz::Task<void> pizzeria() {
  pz::Queue<int> orders(2);
  pz::Event all_baked;
  int baked = 0;
  pz::TaskGroup kitchen;
  kitchen.spawn(cook('A', orders, baked, all_baked));
  kitchen.spawn(cook('B', orders, baked, all_baked));
  kitchen.spawn(waiter(orders));
  co_await all_baked.wait();
  kitchen.cancel();  // the cooks wait in get(): stop them, as worker.cancel()
  co_await kitchen.join();
  std::printf("%d orders baked\n", baked);
}

int main() {
  pz::run(pizzeria());
}
