// pz::Semaphore: a counter of permits; acquire() suspends while none is left
// (asyncio.Semaphore).
//
// Fair: a released permit goes straight to the longest waiter (hand-off), so
// a task that keeps re-acquiring cannot starve the others.
//
// Thread safety: loop thread only. Must outlive its waiters.
#pragma once

#include <coroutine>
#include <cstddef>

#include "pizzeria/coro/detail/waiter.hpp"

namespace pz {

class Semaphore {
 public:
  explicit Semaphore(std::size_t permits) noexcept : permits_(permits) {}
  Semaphore(const Semaphore&) = delete;
  Semaphore& operator=(const Semaphore&) = delete;

  [[nodiscard]] std::size_t available() const noexcept { return permits_; }

  // Takes a permit if one is free and nobody queues before us.
  [[nodiscard]] bool try_acquire() noexcept {
    if (permits_ > 0 && waiters_.empty()) {
      --permits_;
      return true;
    }
    return false;
  }

  // Returns a permit, handing it to the first waiter if there is one.
  void release() noexcept {
    if (detail::Waiter* waiter = waiters_.pop_front()) {
      waiter->complete_soon();
    } else {
      ++permits_;
    }
  }

  class [[nodiscard]] Awaiter : private detail::Waiter {
   public:
    explicit Awaiter(Semaphore& semaphore) noexcept
        : Waiter(&Awaiter::undo), semaphore_(&semaphore) {}
    ~Awaiter() { semaphore_->waiters_.remove(*this); }
    Awaiter(Awaiter&&) noexcept = default;
    Awaiter(const Awaiter&) = delete;
    Awaiter& operator=(const Awaiter&) = delete;

    bool await_ready() noexcept { return semaphore_->try_acquire(); }
    template <typename Promise>
    bool await_suspend(std::coroutine_handle<Promise> handle) {
      if (!arm(handle, detail::current_loop("pz::Semaphore::acquire"))) {
        return false;
      }
      semaphore_->waiters_.push_back(*this);
      return true;
    }
    // On success the permit is ours (handed over by release()).
    void await_resume() const { throw_if_cancelled(); }

   private:
    static void undo(detail::Waiter& waiter) noexcept {
      auto& self = static_cast<Awaiter&>(waiter);
      self.semaphore_->waiters_.remove(self);
    }
    Semaphore* semaphore_;
  };

  Awaiter acquire() noexcept { return Awaiter(*this); }

 private:
  detail::WaiterList waiters_;
  std::size_t permits_;
};

}  // namespace pz
