// pz::Task<T>: a lazy coroutine that produces a T (or throws), awaited once.
//
//   pz::Task<int> answer() { co_return 42; }
//   pz::Task<int> twice() { co_return 2 * co_await answer(); }
//   int x = pz::run(twice());  // 84
//
// Lazy: calling a Task function allocates its frame and runs nothing; the body
// starts when the task is awaited (or spawned into a TaskGroup, or passed to
// pz::run). Awaiting resumes the child by symmetric transfer and the child's
// completion resumes the awaiter the same way, so a chain of awaits a million
// deep runs in constant stack.
//
// Exceptions thrown by the body are rethrown to the awaiter. A Task is
// move-only and owns its frame: destroying a Task that never started frees
// the frame without running the body; destroying one suspended mid-await
// destroys the frame and everything it holds (every pizzeria awaitable
// unregisters itself from the loop in its destructor).
//
// Cancellation: an awaited Task shares its awaiter's stop token, so cancelling
// the outermost task reaches whatever leaf the chain is suspended on.
//
// Thread safety: a Task is a value; its body runs on whichever thread resumes
// it (in pizzeria, the loop thread that awaits it).
#pragma once

#include <coroutine>
#include <cstddef>
#include <exception>
#include <type_traits>
#include <utility>
#include <variant>

#include "pizzeria/coro/detail/frame_allocator.hpp"
#include "pizzeria/coro/detail/promise_base.hpp"
#include "pizzeria/coro/stop_token.hpp"

namespace pz {

template <typename T = void>
class Task;

namespace detail {

class TaskPromiseBase {
 public:
  static void* operator new(std::size_t size) { return allocate_frame(size); }
  static void operator delete(void* frame, std::size_t size) noexcept {
    deallocate_frame(frame, size);
  }

  std::suspend_always initial_suspend() noexcept { return {}; }

  struct FinalAwaiter {
    bool await_ready() noexcept { return false; }
    template <typename Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> self) noexcept {
      std::coroutine_handle<> next = self.promise().continuation_;
      return next ? transfer_to(next) : std::noop_coroutine();
    }
    void await_resume() noexcept {}
  };
  FinalAwaiter final_suspend() noexcept { return {}; }

  [[nodiscard]] StopToken stop_token() const noexcept { return token_; }

  void start(std::coroutine_handle<> continuation, StopToken token) noexcept {
    continuation_ = continuation;
    token_ = token;
  }

 private:
  std::coroutine_handle<> continuation_;
  StopToken token_;
};

template <typename T>
class TaskPromise final : public TaskPromiseBase {
 public:
  Task<T> get_return_object() noexcept;

  template <typename U>
  requires std::is_convertible_v<U&&, T>
  void return_value(U&& value) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
    result_.template emplace<1>(std::forward<U>(value));
  }
  void unhandled_exception() noexcept { result_.template emplace<2>(std::current_exception()); }

  T take_result() {
    if (result_.index() == 2) {
      std::rethrow_exception(std::get<2>(result_));
    }
    return std::move(std::get<1>(result_));
  }

 private:
  std::variant<std::monostate, T, std::exception_ptr> result_;
};

template <typename T>
class TaskPromise<T&> final : public TaskPromiseBase {
 public:
  Task<T&> get_return_object() noexcept;

  void return_value(T& value) noexcept { value_ = std::addressof(value); }
  void unhandled_exception() noexcept { exception_ = std::current_exception(); }

  T& take_result() {
    if (exception_) {
      std::rethrow_exception(exception_);
    }
    return *value_;
  }

 private:
  T* value_ = nullptr;
  std::exception_ptr exception_;
};

template <>
class TaskPromise<void> final : public TaskPromiseBase {
 public:
  Task<void> get_return_object() noexcept;

  void return_void() noexcept {}
  void unhandled_exception() noexcept { exception_ = std::current_exception(); }

  void take_result() {
    if (exception_) {
      std::rethrow_exception(exception_);
    }
  }

 private:
  std::exception_ptr exception_;
};

}  // namespace detail

template <typename T>
class [[nodiscard]] Task {
 public:
  using promise_type = detail::TaskPromise<T>;
  using value_type = T;
  using Handle = std::coroutine_handle<promise_type>;

  Task() noexcept = default;
  Task(Task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  Task& operator=(Task&& other) noexcept {
    if (this != &other) {
      destroy();
      handle_ = std::exchange(other.handle_, {});
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() { destroy(); }

  // False for a default-constructed or moved-from Task.
  [[nodiscard]] bool valid() const noexcept { return static_cast<bool>(handle_); }
  // True once the body has finished (returned or thrown).
  [[nodiscard]] bool done() const noexcept { return handle_ && handle_.done(); }

  class Awaiter {
   public:
    explicit Awaiter(Handle child) noexcept : child_(child) {}
    bool await_ready() noexcept { return false; }
    template <typename Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> parent) noexcept {
      child_.promise().start(parent, token_ ? *token_ : detail::token_of(parent));
      return detail::transfer_to(child_);
    }
    T await_resume() { return child_.promise().take_result(); }

    // Runs the child under `token` instead of the awaiter's (pz::timeout's
    // narrower scope, a TaskGroup's shared token).
    Awaiter& with_token(StopToken token) noexcept {
      override_ = token;
      token_ = &override_;
      return *this;
    }

   private:
    Handle child_;
    StopToken override_;
    StopToken* token_ = nullptr;
  };

  // Starts the task and suspends the awaiter until it finishes. A Task can be
  // awaited once.
  Awaiter operator co_await() && noexcept { return Awaiter(handle_); }
  Awaiter operator co_await() & noexcept { return Awaiter(handle_); }

  // Gives up ownership of the frame (for schedulers: TaskGroup, run()).
  [[nodiscard]] Handle release() noexcept { return std::exchange(handle_, {}); }
  [[nodiscard]] Handle handle() const noexcept { return handle_; }

 private:
  friend class detail::TaskPromise<T>;
  explicit Task(Handle handle) noexcept : handle_(handle) {}

  void destroy() noexcept {
    if (handle_) {
      // A frame destroyed while suspended tears down the awaits it holds;
      // TaskGroups among them must not mistake that for a forgotten join().
      detail::TeardownScope teardown;
      std::exchange(handle_, {}).destroy();
    }
  }

  Handle handle_;
};

namespace detail {

template <typename T>
Task<T> TaskPromise<T>::get_return_object() noexcept {
  return Task<T>(std::coroutine_handle<TaskPromise>::from_promise(*this));
}
template <typename T>
Task<T&> TaskPromise<T&>::get_return_object() noexcept {
  return Task<T&>(std::coroutine_handle<TaskPromise>::from_promise(*this));
}
inline Task<void> TaskPromise<void>::get_return_object() noexcept {
  return Task<void>(std::coroutine_handle<TaskPromise>::from_promise(*this));
}

}  // namespace detail

}  // namespace pz

namespace pz {

// co_await pz::current_stop_token(): the awaiting task's stop token, without
// suspending. For code that links its own StopSource to the task's.
inline detail::CurrentToken current_stop_token() noexcept {
  return {};
}

}  // namespace pz
