// detail::Waiter: the state every suspending pizzeria awaitable shares: the
// suspended coroutine, its stop-token registration, and the loop callback
// that will resume it.
//
// Rules that make every await cancellable without races (single thread):
// - A waiter is resumed exactly once, always from a loop callback (so each
//   coroutine step is a loop callback, measured by the slow-callback option).
// - Whoever completes the waiter first wins. Completion detaches the stop
//   registration, so a later stop cannot undo a completed operation (a Queue
//   item that was handed over is delivered; the next await raises instead).
// - Cancellation first calls the owner's `undo` (take the waiter off a list,
//   cancel a timer, drop fd interest), then resumes it with CancelledError.
// - Destroying a waiter (its frame torn down) unregisters everything.
#pragma once

#include <coroutine>
#include <stdexcept>

#include "pizzeria/core/event_loop.hpp"
#include "pizzeria/coro/cancelled_error.hpp"
#include "pizzeria/coro/detail/promise_base.hpp"
#include "pizzeria/coro/stop_token.hpp"

namespace pz::detail {

// The calling thread's loop; throws if there is none (awaiting a loop
// operation outside pz::run is a usage error worth a clear message).
inline EventLoop& current_loop(const char* what) {
  EventLoop* loop = EventLoop::current();
  if (loop == nullptr) {
    throw std::logic_error(std::string(what) +
                           ": no event loop on this thread (start the coroutine with pz::run)");
  }
  return *loop;
}

class Waiter {
 public:
  using UndoFn = void (*)(Waiter&) noexcept;

  explicit Waiter(UndoFn undo) noexcept : stop_(&Waiter::on_stop, this), undo_(undo) {}
  // Awaitables may be moved before they are awaited (into pz::timeout, say),
  // never after: nothing is registered yet, so a move just copies `undo`.
  Waiter(Waiter&& other) noexcept : Waiter(other.undo_) {}
  Waiter(const Waiter&) = delete;
  Waiter& operator=(const Waiter&) = delete;
  ~Waiter() {
    stop_.detach();
    wake_.cancel();
  }

  // Records the coroutine and registers with its stop token. Returns false
  // when the token is already stopped: the caller must then not suspend (and
  // must not have registered anything); await_resume will raise.
  template <typename Promise>
  bool arm(std::coroutine_handle<Promise> handle, EventLoop& loop) noexcept {
    StopToken token = token_of(handle);
    if (token.stop_requested()) {
      cancelled_ = true;
      return false;
    }
    handle_ = handle;
    loop_ = &loop;
    stop_.attach(token);
    return true;
  }

  // Completes the wait from outside a callback of this waiter's own making
  // (Event::set, Semaphore::release...): resumes in a later loop callback.
  void complete_soon() noexcept {
    stop_.detach();
    schedule_resume();
  }

  // Completes the wait from inside a loop callback (a timer or fd callback):
  // resumes right here, so the step is that callback.
  void complete_now() {
    stop_.detach();
    resume(handle_);
  }

  [[nodiscard]] bool cancelled() const noexcept { return cancelled_; }
  void throw_if_cancelled() const {
    if (cancelled_) {
      throw CancelledError();
    }
  }
  [[nodiscard]] EventLoop& loop() const noexcept { return *loop_; }

  // Intrusive links for WaiterList.
  Waiter* prev_ = nullptr;
  Waiter* next_ = nullptr;
  bool linked_ = false;

 private:
  static void on_stop(void* self) noexcept {
    auto& waiter = *static_cast<Waiter*>(self);
    waiter.undo_(waiter);
    waiter.cancelled_ = true;
    waiter.schedule_resume();
  }

  void schedule_resume() noexcept {
    std::coroutine_handle<> handle = handle_;
    // call_soon only allocates for callables larger than the inline buffer;
    // this one is a single pointer, so it cannot throw.
    wake_ = loop_->call_soon([handle] { resume(handle); });
  }

  std::coroutine_handle<> handle_;
  EventLoop* loop_ = nullptr;
  StopNode stop_;
  Handle wake_;
  UndoFn undo_;
  bool cancelled_ = false;
};

// FIFO of waiters, intrusive (no allocation per wait).
class WaiterList {
 public:
  [[nodiscard]] bool empty() const noexcept { return head_ == nullptr; }
  [[nodiscard]] Waiter* front() const noexcept { return head_; }

  void push_back(Waiter& waiter) noexcept {
    waiter.prev_ = tail_;
    waiter.next_ = nullptr;
    (tail_ != nullptr ? tail_->next_ : head_) = &waiter;
    tail_ = &waiter;
    waiter.linked_ = true;
  }

  void remove(Waiter& waiter) noexcept {
    if (!waiter.linked_) {
      return;
    }
    (waiter.prev_ != nullptr ? waiter.prev_->next_ : head_) = waiter.next_;
    (waiter.next_ != nullptr ? waiter.next_->prev_ : tail_) = waiter.prev_;
    waiter.prev_ = waiter.next_ = nullptr;
    waiter.linked_ = false;
  }

  Waiter* pop_front() noexcept {
    Waiter* waiter = head_;
    if (waiter != nullptr) {
      remove(*waiter);
    }
    return waiter;
  }

 private:
  Waiter* head_ = nullptr;
  Waiter* tail_ = nullptr;
};

}  // namespace pz::detail
