// pz::Mutex: mutual exclusion between tasks of one loop (asyncio.Lock).
//
//   {
//     pz::MutexGuard guard = co_await mutex.scoped_lock();
//     ... // other tasks awaiting the mutex stay suspended
//   }     // unlocked; the next waiter gets it
//
// FIFO hand-off like pz::Semaphore. Not a thread mutex: it never blocks the
// thread, only the awaiting task.
//
// Thread safety: loop thread only. Must outlive its waiters.
#pragma once

#include <utility>

#include "pizzeria/coro/semaphore.hpp"

namespace pz {

class Mutex;

// Owns a lock of a Mutex; unlocks when destroyed.
class [[nodiscard]] MutexGuard {
 public:
  MutexGuard() noexcept = default;
  explicit MutexGuard(Mutex& mutex) noexcept : mutex_(&mutex) {}
  MutexGuard(MutexGuard&& other) noexcept : mutex_(std::exchange(other.mutex_, nullptr)) {}
  MutexGuard& operator=(MutexGuard&& other) noexcept {
    if (this != &other) {
      unlock();
      mutex_ = std::exchange(other.mutex_, nullptr);
    }
    return *this;
  }
  MutexGuard(const MutexGuard&) = delete;
  MutexGuard& operator=(const MutexGuard&) = delete;
  ~MutexGuard() { unlock(); }

  inline void unlock() noexcept;
  [[nodiscard]] bool owns_lock() const noexcept { return mutex_ != nullptr; }

 private:
  Mutex* mutex_ = nullptr;
};

class Mutex {
 public:
  Mutex() noexcept = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  [[nodiscard]] bool locked() const noexcept { return permit_.available() == 0; }
  [[nodiscard]] bool try_lock() noexcept { return permit_.try_acquire(); }

  // co_await lock(): the caller owns the mutex afterwards and must unlock().
  Semaphore::Awaiter lock() noexcept { return permit_.acquire(); }
  void unlock() noexcept { permit_.release(); }

  class [[nodiscard]] GuardAwaiter {
   public:
    explicit GuardAwaiter(Mutex& mutex) noexcept
        : mutex_(&mutex), inner_(mutex.permit_.acquire()) {}
    bool await_ready() noexcept { return inner_.await_ready(); }
    template <typename Promise>
    bool await_suspend(std::coroutine_handle<Promise> handle) {
      return inner_.await_suspend(handle);
    }
    MutexGuard await_resume() {
      inner_.await_resume();
      return MutexGuard(*mutex_);
    }

   private:
    Mutex* mutex_;
    Semaphore::Awaiter inner_;
  };

  // co_await scoped_lock(): a guard that unlocks when it goes out of scope.
  GuardAwaiter scoped_lock() noexcept { return GuardAwaiter(*this); }

 private:
  Semaphore permit_{1};
};

inline void MutexGuard::unlock() noexcept {
  if (mutex_ != nullptr) {
    std::exchange(mutex_, nullptr)->unlock();
  }
}

}  // namespace pz
