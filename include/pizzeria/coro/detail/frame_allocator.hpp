// Allocation of coroutine frames.
//
// Every Task call allocates a frame, so spawn-heavy code (a task per order, a
// task per connection) spends much of its time in malloc/free. Frames are
// recycled through small per-thread free lists, one per 64-byte size class up
// to 1 KiB (asio recycles its awaitable frames the same way). A frame freed on
// another thread simply joins that thread's list. Under AddressSanitizer the
// cache is off so that use-after-free of a frame is still caught.
#pragma once

#include <cstddef>

namespace pz::detail {

void* allocate_frame(std::size_t size);
void deallocate_frame(void* frame, std::size_t size) noexcept;

}  // namespace pz::detail
