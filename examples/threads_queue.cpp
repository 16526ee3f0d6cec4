// Threads handing work to each other through a bounded queue, as Python's
// threading.Thread + queue.Queue(maxsize) (seed 002, "Threads" and "Queues").
//
// Two waiters take orders, three cooks bake them. The queue holds at most 4
// orders, so a waiter blocks in push() while the cooks are behind: that is
// back-pressure, with no sleep and no polling. close() replaces Python's
// "put a None per consumer" sentinel: pop() hands out what is left, then
// returns std::nullopt, and every cook's loop ends.
#include <algorithm>
#include <cstdio>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "pizzeria/exec/blocking_queue.hpp"

struct Order {
  int table = 0;
  int pizzas = 0;
};

int main() {
  pz::BlockingQueue<Order> orders(4);
  std::mutex baked_mutex;
  std::vector<Order> baked;  // written by every cook, so guarded by baked_mutex

  std::vector<std::thread> cooks;
  for (int cook = 0; cook < 3; ++cook) {
    cooks.emplace_back([&] {
      while (std::optional<Order> order = orders.pop()) {
        std::lock_guard lock(baked_mutex);
        baked.push_back(*order);
      }
    });
  }
  std::vector<std::thread> waiters;
  for (int waiter = 0; waiter < 2; ++waiter) {
    waiters.emplace_back([&orders, waiter] {
      for (int i = 1; i <= 5; ++i) {
        orders.push(Order{waiter * 5 + i, i});  // blocks while 4 orders wait
      }
    });
  }
  for (std::thread& waiter : waiters) {
    waiter.join();
  }
  orders.close();  // no more orders: the cooks empty the queue, then stop
  for (std::thread& cook : cooks) {
    cook.join();
  }

  // The cooks finished in whatever order the scheduler chose; sort so that
  // the output is the same on every run.
  std::sort(baked.begin(), baked.end(),
            [](const Order& a, const Order& b) { return a.table < b.table; });
  int pizzas = 0;
  for (const Order& order : baked) {
    std::printf("table %d: %d pizzas\n", order.table, order.pizzas);
    pizzas += order.pizzas;
  }
  std::printf("%zu orders, %d pizzas\n", baked.size(), pizzas);
}
