// pz::Event: a flag tasks can wait for (asyncio.Event).
//
//   pz::Event ready;
//   ... co_await ready.wait();   // in one task
//   ready.set();                 // in another: wakes every waiter
//
// Waiters resume in a later loop callback, in the order they started
// waiting. wait() on a set event completes without suspending.
//
// Thread safety: every member on the loop's thread only. The Event must
// outlive its waiters.
#pragma once

#include <coroutine>

#include "pizzeria/coro/detail/waiter.hpp"

namespace pz {

class Event {
 public:
  Event() noexcept = default;
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  [[nodiscard]] bool is_set() const noexcept { return set_; }

  // Sets the flag and wakes every current waiter.
  void set() noexcept {
    set_ = true;
    while (detail::Waiter* waiter = waiters_.pop_front()) {
      waiter->complete_soon();
    }
  }
  void clear() noexcept { set_ = false; }

  class [[nodiscard]] Awaiter : private detail::Waiter {
   public:
    explicit Awaiter(Event& event) noexcept : Waiter(&Awaiter::undo), event_(&event) {}
    ~Awaiter() { event_->waiters_.remove(*this); }
    Awaiter(Awaiter&&) noexcept = default;
    Awaiter(const Awaiter&) = delete;
    Awaiter& operator=(const Awaiter&) = delete;

    bool await_ready() const noexcept { return event_->set_; }
    template <typename Promise>
    bool await_suspend(std::coroutine_handle<Promise> handle) {
      if (!arm(handle, detail::current_loop("pz::Event::wait"))) {
        return false;
      }
      event_->waiters_.push_back(*this);
      return true;
    }
    void await_resume() const { throw_if_cancelled(); }

   private:
    static void undo(detail::Waiter& waiter) noexcept {
      auto& self = static_cast<Awaiter&>(waiter);
      self.event_->waiters_.remove(self);
    }
    Event* event_;
  };

  // Completes when the flag is set; raises CancelledError if cancelled first.
  Awaiter wait() noexcept { return Awaiter(*this); }

 private:
  detail::WaiterList waiters_;
  bool set_ = false;
};

}  // namespace pz
