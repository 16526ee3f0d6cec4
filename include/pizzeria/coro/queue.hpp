// pz::Queue<T>: a FIFO between tasks of one loop whose put() suspends while
// the queue is full and get() while it is empty (asyncio.Queue).
//
//   pz::Queue<std::string> orders(100);    // at most 100 queued
//   co_await orders.put("margherita");     // producer
//   std::string next = co_await orders.get();  // consumer
//
// A capacity of 0 means unbounded (as asyncio's maxsize=0).
//
// Hand-off: an item put while a getter waits goes straight to that getter, and
// a get from a full queue lets the first waiting putter in. Once a waiter has
// been handed an item (or its item accepted), a cancellation arriving later
// does not undo it: the item is delivered and the next await raises. A put
// cancelled before its item was accepted drops that item.
//
// Thread safety: loop thread only. Must outlive its waiters.
#pragma once

#include <cstddef>
#include <deque>
#include <optional>
#include <utility>

#include "pizzeria/coro/detail/waiter.hpp"

namespace pz {

template <typename T>
class Queue {
 public:
  explicit Queue(std::size_t capacity = 0) : capacity_(capacity) {}
  Queue(const Queue&) = delete;
  Queue& operator=(const Queue&) = delete;

  [[nodiscard]] std::size_t size() const noexcept { return items_.size(); }
  [[nodiscard]] bool empty() const noexcept { return items_.empty(); }
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
  [[nodiscard]] bool full() const noexcept { return capacity_ != 0 && items_.size() >= capacity_; }

  // Puts without suspending; false (and `value` untouched) when full.
  bool try_put(T& value) {
    if (detail::Waiter* waiter = getters_.pop_front()) {
      auto& getter = static_cast<GetAwaiter&>(*waiter);
      getter.slot_.emplace(std::move(value));
      getter.complete_soon();
      return true;
    }
    if (full()) {
      return false;
    }
    items_.push_back(std::move(value));
    return true;
  }
  bool try_put(T&& value) { return try_put(value); }

  // Gets without suspending; nullopt when empty.
  std::optional<T> try_get() {
    if (items_.empty()) {
      return std::nullopt;
    }
    std::optional<T> value(std::move(items_.front()));
    items_.pop_front();
    if (detail::Waiter* waiter = putters_.pop_front()) {
      auto& putter = static_cast<PutAwaiter&>(*waiter);
      items_.push_back(std::move(putter.value_));
      putter.complete_soon();
    }
    return value;
  }

  class [[nodiscard]] PutAwaiter : private detail::Waiter {
   public:
    PutAwaiter(Queue& queue, T value)
        : Waiter(&PutAwaiter::undo), queue_(&queue), value_(std::move(value)) {}
    ~PutAwaiter() { queue_->putters_.remove(*this); }
    PutAwaiter(PutAwaiter&&) noexcept = default;
    PutAwaiter(const PutAwaiter&) = delete;
    PutAwaiter& operator=(const PutAwaiter&) = delete;

    bool await_ready() { return queue_->putters_.empty() && queue_->try_put(value_); }
    template <typename Promise>
    bool await_suspend(std::coroutine_handle<Promise> handle) {
      if (!arm(handle, detail::current_loop("pz::Queue::put"))) {
        return false;
      }
      queue_->putters_.push_back(*this);
      return true;
    }
    void await_resume() const { throw_if_cancelled(); }

   private:
    friend class Queue;
    static void undo(detail::Waiter& waiter) noexcept {
      auto& self = static_cast<PutAwaiter&>(waiter);
      self.queue_->putters_.remove(self);
    }
    Queue* queue_;
    T value_;
  };

  class [[nodiscard]] GetAwaiter : private detail::Waiter {
   public:
    explicit GetAwaiter(Queue& queue) noexcept : Waiter(&GetAwaiter::undo), queue_(&queue) {}
    ~GetAwaiter() { queue_->getters_.remove(*this); }
    GetAwaiter(GetAwaiter&&) noexcept = default;
    GetAwaiter(const GetAwaiter&) = delete;
    GetAwaiter& operator=(const GetAwaiter&) = delete;

    bool await_ready() {
      if (queue_->getters_.empty()) {
        slot_ = queue_->try_get();
      }
      return slot_.has_value();
    }
    template <typename Promise>
    bool await_suspend(std::coroutine_handle<Promise> handle) {
      if (!arm(handle, detail::current_loop("pz::Queue::get"))) {
        return false;
      }
      queue_->getters_.push_back(*this);
      return true;
    }
    T await_resume() {
      if (slot_) {
        return std::move(*slot_);
      }
      throw_if_cancelled();
      throw std::logic_error("pz::Queue::get resumed without an item");
    }

   private:
    friend class Queue;
    static void undo(detail::Waiter& waiter) noexcept {
      auto& self = static_cast<GetAwaiter&>(waiter);
      self.queue_->getters_.remove(self);
    }
    Queue* queue_;
    std::optional<T> slot_;
  };

  // Suspends while the queue is full.
  PutAwaiter put(T value) { return PutAwaiter(*this, std::move(value)); }
  // Suspends while the queue is empty.
  GetAwaiter get() noexcept { return GetAwaiter(*this); }

 private:
  std::deque<T> items_;
  detail::WaiterList getters_;
  detail::WaiterList putters_;
  std::size_t capacity_;
};

}  // namespace pz
