// pz::TaskGroup: structured concurrency (asyncio.TaskGroup, Trio's nursery).
//
//   pz::TaskGroup group;
//   for (auto& order : orders) group.spawn(cook(order));
//   co_await group.join();  // every child has finished here
//
// - spawn() starts the child at once and runs it until its first suspension
//   (no extra trip through the loop), then returns.
// - join() suspends until every child has finished. If a child throws
//   (anything but CancelledError, which is how a cancelled child ends), the
//   group cancels all the others (their awaits raise CancelledError), waits
//   for them, and join() rethrows that first exception. Cancelling the task
//   that awaits join() cancels the children the same way, and join() then
//   raises CancelledError.
// - Children share the group's stop token; cancel() stops them all.
//
// Why join() and not the destructor: C++ cannot co_await in a destructor, so
// leaving the scope cannot wait for the children. The rule instead: no child
// may outlive its group.
// - Forgetting join() (the group dies with children running, during normal
//   execution) is a bug and a fatal error, with a message, as it would be with
//   a joinable std::thread: continuing would leave orphans.
// - When the group dies because an exception unwinds its scope, or because
//   the frame holding it is being torn down (a cancelled parent destroyed
//   mid-await), it stops the children and destroys their frames right away:
//   they never resume, their locals are destroyed, every await they were
//   suspended on unregisters from the loop. Nothing leaks and nothing runs
//   later against a dead scope; what is lost is only the children's chance to
//   run code after their current await, so code that must run on
//   cancellation belongs in destructors, as it does in any C++.
//
// Thread safety: loop thread only.
#pragma once

#include <coroutine>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <utility>

#include "pizzeria/coro/cancelled_error.hpp"
#include "pizzeria/coro/detail/frame_allocator.hpp"
#include "pizzeria/coro/detail/promise_base.hpp"
#include "pizzeria/coro/stop_token.hpp"
#include "pizzeria/coro/task.hpp"

namespace pz {

class TaskGroup;

namespace detail {

// The frame that runs one child for its group: awaits the child Task under
// the group's token and reports how it ended. It owns its own frame: at the
// end it unlinks itself from the group and destroys itself.
struct GroupChild {
  struct promise_type {
    static void* operator new(std::size_t size) { return allocate_frame(size); }
    static void operator delete(void* frame, std::size_t size) noexcept {
      deallocate_frame(frame, size);
    }

    GroupChild get_return_object() noexcept {
      return {std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_always initial_suspend() noexcept { return {}; }
    struct FinalAwaiter {
      bool await_ready() noexcept { return false; }
      inline std::coroutine_handle<> await_suspend(
          std::coroutine_handle<promise_type> self) noexcept;
      void await_resume() noexcept {}
    };
    FinalAwaiter final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    inline void unhandled_exception() noexcept;
    inline StopToken stop_token() const noexcept;

    TaskGroup* group = nullptr;
    promise_type* prev = nullptr;
    promise_type* next = nullptr;
  };
  std::coroutine_handle<promise_type> handle;
};

template <typename T>
GroupChild run_group_child(Task<T> task) {
  co_await std::move(task);
}

}  // namespace detail

class TaskGroup {
 public:
  TaskGroup() noexcept : uncaught_at_start_(std::uncaught_exceptions()) {}
  TaskGroup(const TaskGroup&) = delete;
  TaskGroup& operator=(const TaskGroup&) = delete;
  ~TaskGroup() {
    if (head_ == nullptr) {
      return;
    }
    if (std::uncaught_exceptions() <= uncaught_at_start_ && detail::frames_being_torn_down == 0) {
      std::fprintf(stderr,
                   "pizzeria: fatal: a TaskGroup was destroyed with %zu children still running; "
                   "co_await group.join() before it goes out of scope\n",
                   running_);
      std::abort();
    }
    stop_.request_stop();
    detail::TeardownScope teardown;
    while (head_ != nullptr) {
      Child* child = head_;
      unlink(*child);
      std::coroutine_handle<Child>::from_promise(*child).destroy();
    }
  }

  // Starts `task` as a child of the group; it runs until its first
  // suspension before spawn() returns. Its result, if any, is discarded (use
  // pz::gather to collect results).
  template <typename T>
  void spawn(Task<T> task) {
    auto handle = detail::run_group_child(std::move(task)).handle;
    Child& child = handle.promise();
    child.group = this;
    link(child);
    detail::resume(handle);
  }

  // Stops every child (and any spawned later). Idempotent.
  void cancel() noexcept { stop_.request_stop(); }
  [[nodiscard]] bool cancelled() const noexcept { return stop_.stop_requested(); }

  // Children that have not finished yet.
  [[nodiscard]] std::size_t size() const noexcept { return running_; }

  class [[nodiscard]] JoinAwaiter {
   public:
    explicit JoinAwaiter(TaskGroup& group) noexcept
        : group_(&group), parent_stop_(&JoinAwaiter::on_parent_stop, this) {}
    JoinAwaiter(JoinAwaiter&& other) noexcept : JoinAwaiter(*other.group_) {}
    JoinAwaiter(const JoinAwaiter&) = delete;
    JoinAwaiter& operator=(const JoinAwaiter&) = delete;
    ~JoinAwaiter() {
      if (group_->joiner_ == this) {
        group_->joiner_ = nullptr;
      }
    }

    bool await_ready() const noexcept { return group_->running_ == 0; }
    template <typename Promise>
    bool await_suspend(std::coroutine_handle<Promise> handle) noexcept {
      handle_ = handle;
      group_->joiner_ = this;
      // A parent cancelled before or while joining cancels the children; the
      // join still waits for all of them.
      parent_stop_.attach(detail::token_of(handle));
      return group_->running_ != 0;
    }
    void await_resume() {
      parent_stop_.detach();
      if (group_->error_) {
        std::rethrow_exception(std::exchange(group_->error_, nullptr));
      }
      if (parent_cancelled_) {
        throw CancelledError();
      }
    }

   private:
    friend class TaskGroup;
    static void on_parent_stop(void* self) noexcept {
      auto& awaiter = *static_cast<JoinAwaiter*>(self);
      awaiter.parent_cancelled_ = true;
      awaiter.group_->cancel();
    }

    TaskGroup* group_;
    detail::StopNode parent_stop_;
    std::coroutine_handle<> handle_;
    bool parent_cancelled_ = false;
  };

  // Suspends until every child has finished; rethrows the first failure.
  JoinAwaiter join() noexcept { return JoinAwaiter(*this); }

 private:
  friend struct detail::GroupChild::promise_type;
  using Child = detail::GroupChild::promise_type;

  void link(Child& child) noexcept {
    child.prev = nullptr;
    child.next = head_;
    if (head_ != nullptr) {
      head_->prev = &child;
    }
    head_ = &child;
    ++running_;
  }

  void unlink(Child& child) noexcept {
    (child.prev != nullptr ? child.prev->next : head_) = child.next;
    if (child.next != nullptr) {
      child.next->prev = child.prev;
    }
    --running_;
  }

  // Called from a child's final suspend: the child's frame is destroyed here;
  // returns who runs next (the joiner once the last child is done).
  std::coroutine_handle<> on_child_done(std::coroutine_handle<Child> child) noexcept {
    unlink(child.promise());
    child.destroy();
    if (running_ == 0 && joiner_ != nullptr) {
      return detail::transfer_to(std::exchange(joiner_, nullptr)->handle_);
    }
    return std::noop_coroutine();
  }

  void on_child_failed(std::exception_ptr error) noexcept {
    // A child that ended in CancelledError was cancelled (by this group, by
    // the joiner, or by a narrower scope of its own, pz::with_stop_token):
    // that is how cancellation ends, not a failure to propagate (asyncio's
    // TaskGroup ignores cancelled children the same way).
    try {
      std::rethrow_exception(error);
    } catch (const CancelledError&) {
      return;
    } catch (...) {
    }
    if (!error_) {
      error_ = std::move(error);
    }
    stop_.request_stop();
  }

  StopSource stop_;
  Child* head_ = nullptr;
  std::size_t running_ = 0;
  std::exception_ptr error_;
  JoinAwaiter* joiner_ = nullptr;
  int uncaught_at_start_;
};

namespace detail {

inline std::coroutine_handle<> GroupChild::promise_type::FinalAwaiter::await_suspend(
    std::coroutine_handle<promise_type> self) noexcept {
  return self.promise().group->on_child_done(self);
}

inline void GroupChild::promise_type::unhandled_exception() noexcept {
  group->on_child_failed(std::current_exception());
}

inline StopToken GroupChild::promise_type::stop_token() const noexcept {
  return group->stop_.token();
}

}  // namespace detail

}  // namespace pz
