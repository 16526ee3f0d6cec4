// pz::Queue<T>: a FIFO between tasks of one loop whose put() suspends while
// the queue is full and get() while it is empty (asyncio.Queue).
//
//   pz::Queue<std::string> orders(100);    // at most 100 queued
//   co_await orders.put("margherita");     // producer
//   std::string next = co_await orders.get();  // consumer
//
// A capacity of 0 means unbounded (as asyncio's maxsize=0).
//
// Shutdown (asyncio.Queue.shutdown, Python 3.13): once shutdown() is called,
// every put, waiting or new, raises QueueShutDownError; gets return the items
// still queued and then raise it, so consumers can loop until it ends them:
//
//   try { for (;;) handle(co_await orders.get()); }
//   catch (const pz::QueueShutDownError&) {}   // no more orders will come
//
// shutdown(true) also drops the queued items, so gets raise at once.
//
// task_done() and join(), as asyncio.Queue's: every item put counts as
// unfinished until a consumer calls task_done() for it, and join() completes
// when none is, so a producer can wait for the work itself to be done:
//
//   worker:   for (;;) { auto order = co_await orders.get(); co_await bake(order);
//                        orders.task_done(); }
//   producer: ... co_await orders.put(o); ...  co_await orders.join();
//
// shutdown(true) counts the items it drops as done, as asyncio's does.
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
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "pizzeria/coro/detail/waiter.hpp"
#include "pizzeria/coro/event.hpp"
#include "pizzeria/coro/queue_shut_down_error.hpp"

namespace pz {

template <typename T>
class Queue {
 public:
  explicit Queue(std::size_t capacity = 0) : capacity_(capacity) { all_done_.set(); }
  Queue(const Queue&) = delete;
  Queue& operator=(const Queue&) = delete;

  [[nodiscard]] std::size_t size() const noexcept { return items_.size(); }
  [[nodiscard]] bool empty() const noexcept { return items_.empty(); }
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
  [[nodiscard]] bool full() const noexcept { return capacity_ != 0 && items_.size() >= capacity_; }

  // Ends the queue: waiting and later puts raise QueueShutDownError, and so
  // do gets once the queue is empty (at once with `immediate`, which drops
  // the queued items). Waiters are resumed on the loop, not here.
  void shutdown(bool immediate = false) {
    shut_down_ = true;
    if (immediate) {
      // Dropped items will never be processed: counted as done, so join()
      // does not wait for them for ever.
      unfinished_ -= items_.size();
      items_.clear();
      if (unfinished_ == 0) {
        all_done_.set();
      }
    }
    // Getters wait only while the queue is empty: none of them can get an
    // item now. Putters' items are refused, not queued.
    while (detail::Waiter* waiter = getters_.pop_front()) {
      static_cast<GetAwaiter&>(*waiter).complete_soon();
    }
    while (detail::Waiter* waiter = putters_.pop_front()) {
      static_cast<PutAwaiter&>(*waiter).complete_soon();
    }
  }
  [[nodiscard]] bool is_shut_down() const noexcept { return shut_down_; }

  // Marks one item taken earlier as processed. Throws std::logic_error when
  // called more times than items were put (asyncio's ValueError), which
  // would otherwise let join() complete before the work is done.
  void task_done() {
    if (unfinished_ == 0) {
      throw std::logic_error("pz::Queue::task_done: called more times than items were put");
    }
    if (--unfinished_ == 0) {
      all_done_.set();
    }
  }
  // Completes once every item put so far has had its task_done() (at once
  // if none is unfinished); raises CancelledError if cancelled first.
  Event::Awaiter join() noexcept { return all_done_.wait(); }
  // Items put and not yet marked task_done().
  [[nodiscard]] std::size_t unfinished() const noexcept { return unfinished_; }

  // Puts without suspending; false (and `value` untouched) when full.
  // Raises QueueShutDownError once shut down.
  bool try_put(T& value) {
    if (shut_down_) {
      throw_shut_down("put");
    }
    if (detail::Waiter* waiter = getters_.pop_front()) {
      auto& getter = static_cast<GetAwaiter&>(*waiter);
      getter.slot_.emplace(std::move(value));
      getter.complete_soon();
      count_put();
      return true;
    }
    if (full()) {
      return false;
    }
    items_.push_back(std::move(value));
    count_put();
    return true;
  }
  bool try_put(T&& value) { return try_put(value); }

  // Gets without suspending; nullopt when empty. Raises QueueShutDownError
  // once shut down and empty.
  std::optional<T> try_get() {
    if (shut_down_ && items_.empty()) {
      throw_shut_down("get");
    }
    return take();
  }

  class [[nodiscard]] PutAwaiter : private detail::Waiter {
   public:
    PutAwaiter(Queue& queue, T value)
        : Waiter(&PutAwaiter::undo), queue_(&queue), value_(std::move(value)) {}
    ~PutAwaiter() { queue_->putters_.remove(*this); }
    PutAwaiter(PutAwaiter&&) noexcept = default;
    PutAwaiter(const PutAwaiter&) = delete;
    PutAwaiter& operator=(const PutAwaiter&) = delete;

    bool await_ready() {
      if (queue_->shut_down_) {
        return true;  // await_resume raises
      }
      accepted_ = queue_->putters_.empty() && queue_->try_put(value_);
      return accepted_;
    }
    template <typename Promise>
    bool await_suspend(std::coroutine_handle<Promise> handle) {
      if (!arm(handle, detail::current_loop("pz::Queue::put"))) {
        return false;
      }
      queue_->putters_.push_back(*this);
      return true;
    }
    void await_resume() const {
      if (accepted_) {
        return;
      }
      throw_if_cancelled();
      queue_->throw_shut_down("put");  // the only other way to be resumed
    }

   private:
    friend class Queue;
    static void undo(detail::Waiter& waiter) noexcept {
      auto& self = static_cast<PutAwaiter&>(waiter);
      self.queue_->putters_.remove(self);
    }
    Queue* queue_;
    T value_;
    bool accepted_ = false;  // the item is in the queue, or with a getter
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
        slot_ = queue_->take();
      }
      // Shut down and empty: await_resume raises.
      return slot_.has_value() || (queue_->shut_down_ && queue_->items_.empty());
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
      if (queue_->shut_down_) {
        queue_->throw_shut_down("get");
      }
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
  // The front item, letting the first waiting putter in; nullopt when empty.
  std::optional<T> take() {
    if (items_.empty()) {
      return std::nullopt;
    }
    std::optional<T> value(std::move(items_.front()));
    items_.pop_front();
    if (detail::Waiter* waiter = putters_.pop_front()) {
      auto& putter = static_cast<PutAwaiter&>(*waiter);
      items_.push_back(std::move(putter.value_));
      putter.accepted_ = true;
      putter.complete_soon();
      count_put();
    }
    return value;
  }

  void count_put() {
    ++unfinished_;
    all_done_.clear();
  }

  [[noreturn]] void throw_shut_down(const char* operation) const {
    throw QueueShutDownError(std::string("pz::Queue::") + operation + ": the queue was shut down" +
                             (std::string_view(operation) == "get" ? " and is empty" : ""));
  }

  std::deque<T> items_;
  detail::WaiterList getters_;
  detail::WaiterList putters_;
  std::size_t capacity_;
  bool shut_down_ = false;
  std::size_t unfinished_ = 0;  // put, not yet task_done()
  Event all_done_;              // set while unfinished_ is 0
};

}  // namespace pz
