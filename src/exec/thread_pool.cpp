#include "pizzeria/exec/thread_pool.hpp"

#include <pthread.h>

#include <algorithm>
#include <exception>
#include <stdexcept>
#include <string>

namespace pz {

namespace {

std::size_t resolve_thread_count(std::size_t requested) {
  if (requested != 0) {
    return requested;
  }
  return std::max(1U, std::thread::hardware_concurrency());
}

}  // namespace

ThreadPool::ThreadPool(std::size_t threads)
    : ThreadPool(ThreadPoolOptions{threads, 0, "pz-pool"}) {}

ThreadPool::ThreadPool(ThreadPoolOptions options)
    : thread_count_(resolve_thread_count(options.threads)),
      queue_capacity_(options.queue_capacity),
      counters_(std::make_unique<WorkerCounters[]>(thread_count_ + 1)) {
  threads_.reserve(thread_count_);
  try {
    for (std::size_t i = 0; i < thread_count_; ++i) {
      threads_.emplace_back([this, i] { worker_main(i); });
      // Linux limits names to 15 characters; a failure only loses a debug aid.
      const std::string name = (options.name + "-" + std::to_string(i)).substr(0, 15);
      pthread_setname_np(threads_.back().native_handle(), name.c_str());
    }
  } catch (...) {
    shutdown(true, true);
    throw;
  }
}

ThreadPool::~ThreadPool() {
  bool drain = false;
  {
    std::lock_guard lock(mutex_);
    drain = drain_requested_;
  }
  shutdown(true, !drain);
}

void ThreadPool::enqueue(Task task) {
  std::unique_lock lock(mutex_);
  if (queue_capacity_ != 0 && accepting_ && queue_.size() >= queue_capacity_) {
    ++blocked_producers_;
    space_available_.wait(lock, [this] { return !accepting_ || queue_.size() < queue_capacity_; });
    --blocked_producers_;
  }
  if (!accepting_) {
    throw std::runtime_error("pz::ThreadPool: cannot accept a task after shutdown()");
  }
  queue_.push_back(std::move(task));
  queue_length_.store(queue_.size(), std::memory_order_relaxed);
  // Relaxed load+store, not an RMW: the mutex already makes us the only
  // writer, and the value is a statistic.
  submitted_.store(submitted_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  // Wake a sleeper only if the sleepers outnumber the wake-ups already sent:
  // during a burst this turns a notify (a futex syscall) per task into one per
  // sleeping worker.
  const bool wake = sleeping_workers_ > wakeups_pending_;
  if (wake) {
    ++wakeups_pending_;
  }
  lock.unlock();
  if (wake) {
    work_available_.notify_one();
  }
}

std::size_t ThreadPool::take_batch(std::vector<Task>& batch) {
  // A fair share, so one worker does not grab everything while others sleep.
  const std::size_t share = std::max<std::size_t>(1, queue_.size() / thread_count_);
  const std::size_t count = std::min({kMaxBatch, share, queue_.size()});
  for (std::size_t i = 0; i < count; ++i) {
    batch.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  queue_length_.store(queue_.size(), std::memory_order_relaxed);
  taken_ += count;
  return count;
}

void ThreadPool::run_batch(std::vector<Task>& batch, WorkerCounters& counters,
                           bool shared_counters) noexcept {
  for (auto& task : batch) {
    // See cancel_: relaxed is enough.
    const bool run = !cancel_.load(std::memory_order_relaxed);
    if (run) {
      // Relaxed: counters are statistics; a single writer per slot needs no RMW
      // except in the shared helper slot.
      if (shared_counters) {
        counters.started.fetch_add(1, std::memory_order_relaxed);
      } else {
        counters.started.store(counters.started.load(std::memory_order_relaxed) + 1,
                               std::memory_order_relaxed);
      }
      task(true);
      if (shared_counters) {
        counters.finished.fetch_add(1, std::memory_order_relaxed);
      } else {
        counters.finished.store(counters.finished.load(std::memory_order_relaxed) + 1,
                                std::memory_order_relaxed);
      }
    } else {
      task(false);
      cancelled_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  batch.clear();
}

void ThreadPool::worker_main(std::size_t index) {
  WorkerCounters& counters = counters_[index];
  std::vector<Task> batch;
  batch.reserve(kMaxBatch);
  std::unique_lock lock(mutex_);
  for (;;) {
    while (queue_.empty() && accepting_) {
      // Before sleeping, look again for a short while without the lock: in a
      // burst of small tasks the next one is usually a few hundred
      // nanoseconds away, and sleeping would cost the producer a futex wake
      // per task. Yielding (not busy-pausing) leaves the core to the producer
      // when the machine is oversubscribed.
      lock.unlock();
      bool work_seen = false;
      for (int spin = 0; spin < kSpinsBeforeSleep && !work_seen; ++spin) {
        std::this_thread::yield();
        // Relaxed: only a hint; the queue itself is re-checked under the lock.
        work_seen = queue_length_.load(std::memory_order_relaxed) != 0;
      }
      lock.lock();
      if (!queue_.empty() || !accepting_) {
        break;
      }
      ++sleeping_workers_;
      work_available_.wait(lock);
      --sleeping_workers_;
      if (wakeups_pending_ > 0) {
        --wakeups_pending_;
      }
    }
    if (queue_.empty()) {
      break;  // not accepting and drained
    }
    const std::size_t count = take_batch(batch);
    // Chain the wake-up: if work remains and a sleeper has not been called,
    // call one now instead of leaving it all to this worker.
    const bool wake_worker = !queue_.empty() && sleeping_workers_ > wakeups_pending_;
    if (wake_worker) {
      ++wakeups_pending_;
    }
    const bool wake_producers = blocked_producers_ > 0;
    lock.unlock();
    if (wake_worker) {
      work_available_.notify_one();
    }
    if (wake_producers) {
      space_available_.notify_all();
    }
    run_batch(batch, counters, false);
    lock.lock();
    taken_ -= count;
    if (taken_ == 0 && queue_.empty() && idle_waiters_ > 0) {
      idle_.notify_all();
    }
  }
}

void ThreadPool::wait_idle() {
  std::vector<Task> batch;
  std::unique_lock lock(mutex_);
  // Help while there is queued work, then sleep until the workers finish
  // what they took.
  while (!queue_.empty()) {
    const std::size_t count = take_batch(batch);
    const bool wake_producers = blocked_producers_ > 0;
    lock.unlock();
    if (wake_producers) {
      space_available_.notify_all();
    }
    run_batch(batch, counters_[thread_count_], true);
    lock.lock();
    taken_ -= count;
  }
  ++idle_waiters_;
  idle_.wait(lock, [this] { return queue_.empty() && taken_ == 0; });
  --idle_waiters_;
}

void ThreadPool::shutdown(bool wait, bool cancel_pending) {
  std::deque<Task> cancelled;
  {
    std::lock_guard lock(mutex_);
    accepting_ = false;
    if (cancel_pending) {
      cancel_.store(true, std::memory_order_relaxed);
      cancelled.swap(queue_);
      queue_length_.store(0, std::memory_order_relaxed);
      taken_ += cancelled.size();
    } else if (!wait) {
      drain_requested_ = true;
    }
  }
  work_available_.notify_all();
  space_available_.notify_all();
  for (auto& task : cancelled) {
    task(false);
  }
  cancelled_.fetch_add(cancelled.size(), std::memory_order_relaxed);
  if (!cancelled.empty()) {
    std::lock_guard lock(mutex_);
    taken_ -= cancelled.size();
    if (taken_ == 0 && queue_.empty()) {
      idle_.notify_all();
    }
  }
  if (wait) {
    join_workers();
  }
}

void ThreadPool::join_workers() {
  std::lock_guard lock(join_mutex_);
  for (auto& thread : threads_) {
    if (thread.get_id() == std::this_thread::get_id()) {
      throw std::logic_error(
          "pz::ThreadPool::shutdown(wait=true) called from one of the pool's own workers: it would "
          "wait for itself");
    }
  }
  for (auto& thread : threads_) {
    if (thread.joinable()) {
      thread.join();
    }
  }
}

ThreadPool::Counters ThreadPool::counters() const {
  std::uint64_t started = 0;
  std::uint64_t finished = 0;
  for (std::size_t i = 0; i <= thread_count_; ++i) {
    // Relaxed: a snapshot of statistics, documented as approximate while
    // tasks run.
    finished += counters_[i].finished.load(std::memory_order_relaxed);
    started += counters_[i].started.load(std::memory_order_relaxed);
  }
  Counters result;
  const std::uint64_t cancelled = cancelled_.load(std::memory_order_relaxed);
  const std::uint64_t submitted = submitted_.load(std::memory_order_relaxed);
  result.completed = finished;
  result.running = started > finished ? started - finished : 0;
  result.cancelled = cancelled;
  result.queued = submitted > started + cancelled ? submitted - started - cancelled : 0;
  return result;
}

}  // namespace pz
