#include "pizzeria/exec/to_thread.hpp"

#include <algorithm>
#include <thread>

namespace pz {

ThreadPool& default_thread_pool() {
  // Function-local static: created on first use, thread-safe initialisation;
  // destroyed at exit, which cancels what is still queued and joins.
  static ThreadPool pool(
      ThreadPoolOptions{std::max(4U, std::thread::hardware_concurrency()), 0, "pz-to-thread"});
  return pool;
}

}  // namespace pz
