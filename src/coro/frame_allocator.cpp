#include "pizzeria/coro/detail/frame_allocator.hpp"

#include <array>
#include <new>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define PZ_FRAME_CACHE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define PZ_FRAME_CACHE 0
#endif
#endif
#ifndef PZ_FRAME_CACHE
#define PZ_FRAME_CACHE 1
#endif

namespace pz::detail {

#if PZ_FRAME_CACHE

namespace {

// 32, not 64: a frame of 96 bytes (a TaskGroup child) would otherwise take
// 128, which is 0.3 MiB over 10,000 connections.
constexpr std::size_t kGranule = 32;
constexpr std::size_t kClasses = 32;  // frames up to 1 KiB
// Enough to absorb a burst of short tasks without holding on to much memory
// once the burst is over.
constexpr std::size_t kMaxCachedPerClass = 256;

struct FreeBlock {
  FreeBlock* next;
};

struct FrameCache {
  std::array<FreeBlock*, kClasses> heads{};
  std::array<std::size_t, kClasses> counts{};

  FrameCache() = default;
  FrameCache(const FrameCache&) = delete;
  FrameCache& operator=(const FrameCache&) = delete;
  ~FrameCache() {
    for (FreeBlock*& head : heads) {
      while (head != nullptr) {
        FreeBlock* next = head->next;
        ::operator delete(head);
        head = next;
      }
    }
  }
};

thread_local FrameCache cache;

std::size_t size_class(std::size_t size) noexcept {
  return (size + kGranule - 1) / kGranule;
}

}  // namespace

void* allocate_frame(std::size_t size) {
  const std::size_t index = size_class(size);
  if (index < kClasses) {
    if (FreeBlock* block = cache.heads[index]) {
      cache.heads[index] = block->next;
      --cache.counts[index];
      return block;
    }
    return ::operator new(index* kGranule);
  }
  return ::operator new(size);
}

void deallocate_frame(void* frame, std::size_t size) noexcept {
  const std::size_t index = size_class(size);
  if (index < kClasses && cache.counts[index] < kMaxCachedPerClass) {
    auto* block = static_cast<FreeBlock*>(frame);
    block->next = cache.heads[index];
    cache.heads[index] = block;
    ++cache.counts[index];
    return;
  }
  ::operator delete(frame);
}

#else

void* allocate_frame(std::size_t size) {
  return ::operator new(size);
}
void deallocate_frame(void* frame, std::size_t /*size*/) noexcept {
  ::operator delete(frame);
}

#endif

}  // namespace pz::detail
