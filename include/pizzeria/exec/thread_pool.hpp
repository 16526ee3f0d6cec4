// pz::ThreadPool: a fixed set of worker threads running submitted callables,
// like concurrent.futures.ThreadPoolExecutor / multiprocessing.pool.ThreadPool.
//
//   pz::ThreadPool pool(4);
//   pz::Future<int> f = pool.submit([](int a, int b) { return a + b; }, 2, 3);
//   std::vector<int> squares = pool.map([](int x) { return x * x; }, inputs);
//
// Queue: one shared FIFO guarded by a mutex. Workers take tasks in batches
// (up to kMaxBatch, and at most a fair share of what is queued), so the lock is
// taken once per batch rather than once per task, and a sleeping worker is
// woken only when no wake-up is already on its way. See docs/exec.md for why
// this beats per-worker deques on this workload and where it does not.
//
// Bounded queue (options.queue_capacity > 0): submit blocks while the queue is
// full. DEADLOCK RISK: a task that submits to its own pool and then waits on
// the result (or on a map) can block forever once every worker does the same
// and the queue is full, since nobody is left to drain it. Only bound the
// queue when tasks never submit to the pool they run on. (With an unbounded
// queue, a task that waits for work queued behind it can still deadlock when
// all workers wait; map() from inside a task is therefore not allowed.)
//
// Shutdown: shutdown(wait, cancel_pending) stops accepting tasks (later
// submits throw std::runtime_error). cancel_pending=true fails every task that
// has not started with pz::TaskCancelled, including tasks a worker has taken
// but not begun; cancel_pending=false lets the workers drain the queue.
// wait=true joins the workers. The destructor never waits for queued work
// unless asked: it cancels pending tasks and waits only for the running ones,
// except after an explicit shutdown(false, false), which asked for a drain.
//
// Exceptions: a submit()ted task's exception is stored in its Future. A
// post()ed task has no future, so an exception escaping it terminates the
// program, as with std::thread.
//
// Thread safety: every member is safe to call from any thread, except that
// shutdown(true, ...) and the destructor must not run on one of the pool's
// own workers (joining itself would deadlock; shutdown throws instead).
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "pizzeria/core/unique_function.hpp"
#include "pizzeria/exec/future.hpp"
#include "pizzeria/exec/future_awaiter.hpp"
#include "pizzeria/exec/future_error.hpp"

namespace pz {

struct ThreadPoolOptions {
  std::size_t threads = 0;         // 0: std::thread::hardware_concurrency()
  std::size_t queue_capacity = 0;  // 0: unbounded; see the deadlock note above
  std::string name = "pz-pool";    // worker threads are named "<name>-<index>"
};

class ThreadPool {
 public:
  // A queued task is called exactly once: with true to run it, or with false
  // to tell it that it was cancelled.
  using Task = UniqueFunction<void(bool run)>;

  // Tasks one worker takes from the queue per lock acquisition.
  static constexpr std::size_t kMaxBatch = 64;
  // Yields an idle worker makes, watching for new work, before it sleeps.
  static constexpr int kSpinsBeforeSleep = 64;

  struct Counters {
    std::uint64_t queued = 0;     // accepted, not started (nor cancelled)
    std::uint64_t running = 0;    // started, not finished
    std::uint64_t completed = 0;  // finished, successfully or with an exception
    std::uint64_t cancelled = 0;  // dropped by shutdown(..., cancel_pending=true)
  };

  explicit ThreadPool(std::size_t threads = 0);
  explicit ThreadPool(ThreadPoolOptions options);
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;
  ~ThreadPool();

  // Runs fn(args...) on a worker; the arguments are decay-copied (moved when
  // given as rvalues) into the task, as std::thread does.
  template <typename F, typename... Args>
  auto submit(F&& fn, Args&&... args) {
    using R = std::invoke_result_t<std::decay_t<F>&, std::decay_t<Args>...>;
    auto state = std::make_shared<detail::FutureState<R>>();
    Future<R> future(state);
    enqueue([state = std::move(state), fn = std::decay_t<F>(std::forward<F>(fn)),
             ... args = std::decay_t<Args>(std::forward<Args>(args))](bool run) mutable {
      if (run) {
        detail::complete_with_call(*state, fn, std::move(args)...);
      } else {
        state->complete_error(std::make_exception_ptr(
            TaskCancelled("the ThreadPool was shut down before the task started")));
      }
    });
    return future;
  }

  // The same as submit, named for coroutines: `co_await pool.run(fn)` (needs
  // pizzeria/exec/future_awaiter.hpp, included here).
  template <typename F, typename... Args>
  auto run(F&& fn, Args&&... args) {
    return submit(std::forward<F>(fn), std::forward<Args>(args)...);
  }

  // Fire and forget: cheaper than submit (no future). An exception escaping
  // fn calls std::terminate. A cancelled post()ed task is simply dropped.
  template <typename F>
  void post(F&& fn) {
    // The callable is stored directly in the queued Task (inline when small),
    // not wrapped in a second UniqueFunction that would not fit inline.
    enqueue([fn = std::decay_t<F>(std::forward<F>(fn))](bool run) mutable {
      if (run) {
        // Nobody to report to: an exception reaches the noexcept batch loop
        // and terminates, as documented.
        fn();
      }
    });
  }

  // Calls fn on every element of `inputs` and returns the results in input
  // order; blocks until all are done. If any call throws, rethrows the
  // exception of the first failing element (in input order) after every call
  // has finished. chunksize 0 means ceil(size / (4 * threads)), as Python's
  // Pool.map. Must not be called from one of this pool's tasks.
  template <typename F, typename Range>
  auto map(F&& fn, Range&& inputs, std::size_t chunksize = 0);
  // pool.map(fn, {1, 2, 3}), as Python's pool.map(fn, [1, 2, 3]): a braced
  // list has no type of its own, so it cannot bind to `Range&&` above.
  template <typename F, typename T>
  auto map(F&& fn, std::initializer_list<T> inputs, std::size_t chunksize = 0) {
    return map(std::forward<F>(fn), std::vector<T>(inputs), chunksize);
  }

  // Blocks until the queue is empty and no task runs. The calling thread helps
  // by running queued tasks itself, so this is also the fast way to wait for a
  // burst of post()ed work (as tbb::task_group::wait does).
  void wait_idle();

  // See the header comment. Safe to call more than once; later calls can only
  // add cancellation and waiting.
  void shutdown(bool wait = true, bool cancel_pending = false);

  [[nodiscard]] std::size_t thread_count() const noexcept { return thread_count_; }
  // A snapshot, approximate while tasks run: a task's future completes a
  // moment before the task counts as completed. Exact after wait_idle() or
  // shutdown(true, ...).
  [[nodiscard]] Counters counters() const;
  [[nodiscard]] std::uint64_t queued() const { return counters().queued; }
  [[nodiscard]] std::uint64_t running() const { return counters().running; }
  [[nodiscard]] std::uint64_t completed() const { return counters().completed; }

 private:
  // Written by one thread (its worker) with plain load+store, read by
  // counters(); one cache line each so workers never share a line.
  struct alignas(64) WorkerCounters {
    std::atomic<std::uint64_t> started{0};
    std::atomic<std::uint64_t> finished{0};
  };

  void enqueue(Task task);
  void worker_main(std::size_t index);
  // Takes up to a fair batch from the queue into `batch`; mutex_ held.
  std::size_t take_batch(std::vector<Task>& batch);
  void run_batch(std::vector<Task>& batch, WorkerCounters& counters, bool shared_counters) noexcept;
  void join_workers();

  const std::size_t thread_count_;
  const std::size_t queue_capacity_;

  mutable std::mutex mutex_;
  std::condition_variable work_available_;   // workers sleep here
  std::condition_variable space_available_;  // producers of a bounded queue sleep here
  std::condition_variable idle_;             // wait_idle sleeps here
  std::deque<Task> queue_;                   // guarded by mutex_
  // queue_.size(), written under mutex_, read without it by spinning workers.
  std::atomic<std::size_t> queue_length_{0};
  std::size_t sleeping_workers_ = 0;   // guarded by mutex_
  std::size_t wakeups_pending_ = 0;    // notify_one calls not yet absorbed
  std::size_t blocked_producers_ = 0;  // guarded by mutex_
  std::size_t idle_waiters_ = 0;       // guarded by mutex_
  std::size_t taken_ = 0;         // tasks out of the queue, not yet finished; guarded by mutex_
  bool accepting_ = true;         // guarded by mutex_
  bool drain_requested_ = false;  // shutdown(false, false) was called; guarded by mutex_
  // Set by shutdown(cancel_pending=true); read before each task in a batch.
  // Relaxed suffices: it only makes cancellation prompter; the tasks it
  // affects are published by the mutex that handed them out.
  std::atomic<bool> cancel_{false};

  std::atomic<std::uint64_t> submitted_{0};
  std::atomic<std::uint64_t> cancelled_{0};
  // One slot per worker plus a last, shared one for wait_idle helpers.
  std::unique_ptr<WorkerCounters[]> counters_;

  std::mutex join_mutex_;  // serialises joins from concurrent shutdown() calls
  std::vector<std::thread> threads_;
};

// (std::ranges is avoided in exec headers: clang 14 cannot compile
// libstdc++ 12's ranges concepts.)
template <typename F, typename Range>
auto ThreadPool::map(F&& fn, Range&& inputs, std::size_t chunksize) {
  using Item = std::decay_t<decltype(*std::begin(inputs))>;
  using R = std::invoke_result_t<std::decay_t<F>&, Item&>;
  std::vector<Item> items;
  for (auto&& input : inputs) {
    items.emplace_back(std::forward<decltype(input)>(input));
  }
  const std::size_t count = items.size();
  if (chunksize == 0) {
    const std::size_t parts = 4 * thread_count_;
    chunksize = std::max<std::size_t>(1, (count + parts - 1) / parts);
  }
  using Slot = std::conditional_t<std::is_void_v<R>, char, std::optional<R>>;
  std::vector<Slot> slots(count);
  std::decay_t<F> function(std::forward<F>(fn));
  std::vector<Future<void>> chunks;
  chunks.reserve((count + chunksize - 1) / chunksize);
  for (std::size_t begin = 0; begin < count; begin += chunksize) {
    const std::size_t end = std::min(count, begin + chunksize);
    // A chunk stops at its first failure; chunks are checked in order below, so
    // the first failing chunk holds the first failure in input order.
    chunks.push_back(submit([&items, &slots, &function, begin, end] {
      for (std::size_t i = begin; i < end; ++i) {
        if constexpr (std::is_void_v<R>) {
          function(items[i]);
        } else {
          slots[i].emplace(function(items[i]));
        }
      }
    }));
  }
  // Every chunk must finish before `items`/`slots` go out of scope, so wait for
  // all of them even after a failure.
  std::exception_ptr first_error;
  for (auto& chunk : chunks) {
    if (auto error = chunk.exception(); error && !first_error) {
      first_error = error;
    }
  }
  if (first_error) {
    std::rethrow_exception(first_error);
  }
  if constexpr (!std::is_void_v<R>) {
    std::vector<R> results;
    results.reserve(count);
    for (auto& slot : slots) {
      results.push_back(std::move(*slot));
    }
    return results;
  }
}

}  // namespace pz
