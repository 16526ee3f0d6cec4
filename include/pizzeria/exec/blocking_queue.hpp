// pz::BlockingQueue<T>: a bounded multi-producer multi-consumer FIFO for
// threads, like queue.Queue(maxsize).
//
//   pz::BlockingQueue<Job> jobs(64);
//   producer: jobs.push(job);              // blocks while 64 jobs wait
//   consumer: while (auto job = jobs.pop()) run(*job);   // ends after close()
//   shutdown: jobs.close();                // wakes every blocked push and pop
//
// After close(), push fails (returns false, the value is dropped) and pop
// keeps returning the queued items, then std::nullopt. That "drain, then
// end" rule lets consumers finish in-flight work without a sentinel value.
//
// task_done() and join(), as queue.Queue's: every item pushed counts as
// unfinished until a consumer calls task_done() for it, and join() blocks
// until none is, so a producer can wait for the work itself to be done, not
// only taken off the queue:
//
//   consumer: while (auto job = jobs.pop()) { run(*job); jobs.task_done(); }
//   producer: for (...) jobs.push(job);  jobs.join();   // every job has run
//
// Why a mutex and two condition variables rather than a lock-free ring: the
// queue is meant for blocking hand-off between threads, where the cost is the
// sleep/wake-up, not the critical section; the mutex keeps close() trivially
// correct. Waking is skipped when nobody waits.
//
// Thread safety: every member is safe to call from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <utility>

namespace pz {

template <typename T>
class BlockingQueue {
 public:
  explicit BlockingQueue(std::size_t capacity) : capacity_(capacity) {
    if (capacity == 0) {
      throw std::invalid_argument("pz::BlockingQueue capacity must be at least 1");
    }
  }
  BlockingQueue(const BlockingQueue&) = delete;
  BlockingQueue& operator=(const BlockingQueue&) = delete;

  // Blocks while full. Returns false (dropping `value`) if the queue is or
  // becomes closed before there is room.
  bool push(T value) {
    std::unique_lock lock(mutex_);
    ++waiting_producers_;
    not_full_.wait(lock, [this] { return closed_ || items_.size() < capacity_; });
    --waiting_producers_;
    if (closed_) {
      return false;
    }
    items_.push_back(std::move(value));
    ++unfinished_;
    wake_consumer(lock);
    return true;
  }

  // Never blocks. Moves from `value` only on success.
  bool try_push(T& value) {
    std::unique_lock lock(mutex_);
    if (closed_ || items_.size() >= capacity_) {
      return false;
    }
    items_.push_back(std::move(value));
    ++unfinished_;
    wake_consumer(lock);
    return true;
  }

  // Blocks while empty and open. Returns std::nullopt once closed and drained.
  std::optional<T> pop() {
    std::unique_lock lock(mutex_);
    ++waiting_consumers_;
    not_empty_.wait(lock, [this] { return closed_ || !items_.empty(); });
    --waiting_consumers_;
    return take(lock);
  }

  // Like pop, but gives up after `timeout` (std::nullopt; check closed() to
  // tell a timeout from the end).
  template <typename Rep, typename Period>
  std::optional<T> pop_for(const std::chrono::duration<Rep, Period>& timeout) {
    std::unique_lock lock(mutex_);
    ++waiting_consumers_;
    not_empty_.wait_for(lock, timeout, [this] { return closed_ || !items_.empty(); });
    --waiting_consumers_;
    return take(lock);
  }

  std::optional<T> try_pop() {
    std::unique_lock lock(mutex_);
    return take(lock);
  }

  // Marks one item taken earlier as processed. Throws std::logic_error when
  // called more times than items were pushed (Python's ValueError), which
  // would otherwise let join() return before the work is done.
  void task_done() {
    std::lock_guard lock(mutex_);
    if (unfinished_ == 0) {
      throw std::logic_error(
          "pz::BlockingQueue::task_done: called more times than items were pushed");
    }
    if (--unfinished_ == 0) {
      all_done_.notify_all();
    }
  }

  // Blocks until every item pushed so far has had its task_done(). Closing
  // the queue does not end the wait: the items already in it still count.
  void join() {
    std::unique_lock lock(mutex_);
    all_done_.wait(lock, [this] { return unfinished_ == 0; });
  }

  // Like join, but gives up after `timeout`; true if every item was done.
  template <typename Rep, typename Period>
  bool join_for(const std::chrono::duration<Rep, Period>& timeout) {
    std::unique_lock lock(mutex_);
    return all_done_.wait_for(lock, timeout, [this] { return unfinished_ == 0; });
  }

  // Items pushed and not yet marked task_done().
  [[nodiscard]] std::size_t unfinished() const {
    std::lock_guard lock(mutex_);
    return unfinished_;
  }

  // Idempotent. Wakes every blocked push (which then fails) and pop (which
  // drains what is left, then returns std::nullopt).
  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    not_full_.notify_all();
    not_empty_.notify_all();
  }

  [[nodiscard]] bool closed() const {
    std::lock_guard lock(mutex_);
    return closed_;
  }
  [[nodiscard]] std::size_t size() const {
    std::lock_guard lock(mutex_);
    return items_.size();
  }
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }

 private:
  std::optional<T> take(std::unique_lock<std::mutex>& lock) {
    if (items_.empty()) {
      return std::nullopt;
    }
    std::optional<T> item(std::move(items_.front()));
    items_.pop_front();
    if (waiting_producers_ > 0) {
      lock.unlock();
      not_full_.notify_one();
    }
    return item;
  }

  void wake_consumer(std::unique_lock<std::mutex>& lock) {
    if (waiting_consumers_ > 0) {
      lock.unlock();
      not_empty_.notify_one();
    }
  }

  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable not_full_;
  std::condition_variable not_empty_;
  std::condition_variable all_done_;
  std::deque<T> items_;
  std::size_t unfinished_ = 0;  // pushed, not yet task_done()
  std::size_t waiting_producers_ = 0;
  std::size_t waiting_consumers_ = 0;
  bool closed_ = false;
};

}  // namespace pz
