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
  std::deque<T> items_;
  std::size_t waiting_producers_ = 0;
  std::size_t waiting_consumers_ = 0;
  bool closed_ = false;
};

}  // namespace pz
