// pz::TimerHandle: what call_later()/call_at() return; cancels a timer
// (asyncio's TimerHandle).
//
// A small value naming a slot in the loop's timer table plus the slot's
// generation, so a handle to a timer that already fired or was cancelled can
// never touch the timer that reuses its slot. It must not outlive its loop.
//
// Thread safety: every member only on the loop's thread.
#pragma once

#include <cstdint>

#include "pizzeria/core/clock.hpp"

namespace pz {

class EventLoop;

class TimerHandle {
 public:
  TimerHandle() noexcept = default;

  // Cancels the timer if it has not fired: its callback is destroyed now and
  // its heap entry is dropped lazily. Safe from inside any callback,
  // including the timer's own (where it does nothing: the timer already fired).
  void cancel() noexcept;

  // True while the timer is armed: not fired and not cancelled.
  [[nodiscard]] bool pending() const noexcept;

  // When the timer is (or was) due.
  [[nodiscard]] TimePoint when() const noexcept { return when_; }

 private:
  friend class EventLoop;
  TimerHandle(EventLoop* loop, std::uint32_t slot, std::uint32_t generation,
              TimePoint when) noexcept
      : loop_(loop), slot_(slot), generation_(generation), when_(when) {}

  EventLoop* loop_ = nullptr;
  std::uint32_t slot_ = 0;
  std::uint32_t generation_ = 0;
  TimePoint when_{};
};

}  // namespace pz
