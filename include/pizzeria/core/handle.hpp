// pz::Handle: what call_soon() returns; lets the caller cancel the callback
// before it runs (asyncio's Handle).
//
// A Handle is a small value (no allocation, no reference count). It stays
// valid, and harmless, after its callback ran or was cancelled: cancel() then
// does nothing. It must not outlive its loop.
//
// Thread safety: cancel() and pending() only on the loop's thread.
#pragma once

#include <cstdint>

namespace pz {

class EventLoop;

class Handle {
 public:
  Handle() noexcept = default;

  // Drops the callback (destroying what it captured, now) if it has not run
  // yet. Safe from inside any callback, including this one.
  void cancel() noexcept;

  // True while the callback is queued: not yet run and not cancelled.
  [[nodiscard]] bool pending() const noexcept;

 private:
  friend class EventLoop;
  Handle(EventLoop* loop, std::uint64_t sequence) noexcept : loop_(loop), sequence_(sequence) {}

  EventLoop* loop_ = nullptr;
  std::uint64_t sequence_ = 0;  // position in the loop's FIFO of ready callbacks
};

}  // namespace pz
