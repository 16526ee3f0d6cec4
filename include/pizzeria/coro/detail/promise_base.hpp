// What every pizzeria coroutine promise shares, and how awaitables find the
// stop token of the coroutine awaiting them.
#pragma once

#include <coroutine>
#include <utility>

#include "pizzeria/coro/stop_token.hpp"

namespace pz::detail {

// The stop token of the coroutine behind `handle`, or an empty token when the
// awaiting coroutine is not one of ours (it then simply cannot be cancelled).
template <typename Promise>
StopToken token_of(std::coroutine_handle<Promise> handle) noexcept {
  if constexpr (requires { handle.promise().stop_token(); }) {
    return handle.promise().stop_token();
  } else {
    return {};
  }
}

// Counts frames being destroyed while suspended (a Task dropped mid-await, a
// TaskGroup tearing down its children during unwinding), so that a TaskGroup
// destroyed as part of such teardown knows it is not a forgotten join().
inline thread_local int frames_being_torn_down = 0;

struct TeardownScope {
  TeardownScope() noexcept { ++frames_being_torn_down; }
  TeardownScope(const TeardownScope&) = delete;
  TeardownScope& operator=(const TeardownScope&) = delete;
  ~TeardownScope() { --frames_being_torn_down; }
};

}  // namespace pz::detail

namespace pz::detail {

// co_await CurrentToken{} yields the awaiting coroutine's stop token without
// suspending.
struct CurrentToken {
  StopToken token;
  bool await_ready() const noexcept { return false; }
  template <typename Promise>
  bool await_suspend(std::coroutine_handle<Promise> handle) noexcept {
    token = token_of(handle);
    return false;
  }
  StopToken await_resume() const noexcept { return token; }
};

}  // namespace pz::detail

// Symmetric transfer (an await_suspend returning the next coroutine to run)
// is compiled as a tail call only when optimising: GCC at -O0 turns it into a
// nested call, so a chain of a million awaits would use a million stack
// frames. Unoptimised builds therefore run coroutines through a small
// per-thread trampoline instead: transfer_to() parks the next coroutine and
// returns noop, and resume() keeps resuming whatever was parked. Every place
// pizzeria starts or resumes a coroutine goes through detail::resume().
// ThreadSanitizer's function entry/exit hooks also defeat the tail call.
#if defined(__SANITIZE_THREAD__)
#define PZ_SYMMETRIC_TRANSFER 0
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define PZ_SYMMETRIC_TRANSFER 0
#endif
#endif
#if !defined(PZ_SYMMETRIC_TRANSFER) && defined(__OPTIMIZE__)
#define PZ_SYMMETRIC_TRANSFER 1
#endif
#if !defined(PZ_SYMMETRIC_TRANSFER)
#define PZ_SYMMETRIC_TRANSFER 0
#endif

namespace pz::detail {

#if PZ_SYMMETRIC_TRANSFER

inline void resume(std::coroutine_handle<> handle) {
  handle.resume();
}
inline std::coroutine_handle<> transfer_to(std::coroutine_handle<> next) noexcept {
  return next;
}

#else

inline thread_local std::coroutine_handle<> trampoline_next;

inline void resume(std::coroutine_handle<> handle) {
  // Nested resumes (TaskGroup::spawn starting a child inside its parent's
  // step) run their own loop and then restore the outer one's state.
  std::coroutine_handle<> saved = std::exchange(trampoline_next, handle);
  while (trampoline_next) {
    std::exchange(trampoline_next, nullptr).resume();
  }
  trampoline_next = saved;
}

inline std::coroutine_handle<> transfer_to(std::coroutine_handle<> next) noexcept {
  trampoline_next = next == std::noop_coroutine() ? nullptr : next;
  return std::noop_coroutine();
}

#endif

}  // namespace pz::detail
