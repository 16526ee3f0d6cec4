// pz::programs::SortFrameReader: the sort server's side of the seed's
// remote-sort framing (seed 002, 0.14): an 8-byte big-endian length, then
// that many bytes of JSON. It does no I/O; the server feeds it what it
// receives (fuzzed in tests/fuzz/sort_frame_fuzz.cpp).
//
//   SortFrameReader frame(max_frame);
//   std::size_t used = frame.feed(received);   // throws FrameTooLargeError
//   ... or, without a copy: recv into frame.room(), then frame.commit(got)
//   if (frame.complete()) sort(frame.take_body());
//
// What a client can make it hold is what the client has sent: the body's
// buffer grows with the bytes that arrive, geometrically from 64 KiB and
// never past the declared length, so it is at most twice the body bytes
// received plus 64 KiB. A header that merely declares 16 MiB costs nothing.
// A declared length over `max_frame` is refused as soon as the header is
// whole, before any of the body is taken.
//
// Thread safety: a value for one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

namespace pz::programs {

class SortFrameReader {
 public:
  static constexpr std::size_t kHeaderSize = 8;
  static constexpr std::size_t kFirstChunk = 64 * 1024;

  class FrameTooLargeError : public std::length_error {
   public:
    using std::length_error::length_error;
  };

  explicit SortFrameReader(std::uint64_t max_frame) noexcept : max_frame_(max_frame) {}

  // Takes from `bytes` what belongs to the frame; returns how many bytes
  // that was (bytes after a complete frame are left to the caller).
  std::size_t feed(std::string_view bytes);

  // Where the next bytes of the body may be received directly: not empty
  // once the header is whole and the frame is not complete, at most what
  // the frame still needs. commit(n) takes n bytes written there.
  [[nodiscard]] std::span<char> room();
  void commit(std::size_t count);

  [[nodiscard]] bool has_header() const noexcept { return header_have_ == kHeaderSize; }
  [[nodiscard]] bool complete() const noexcept { return has_header() && done_ == length_; }
  // The declared body length (0 until the header is whole).
  [[nodiscard]] std::uint64_t length() const noexcept { return length_; }
  // Bytes of the frame taken so far, header included.
  [[nodiscard]] std::uint64_t received() const noexcept { return header_have_ + done_; }
  // Bytes held for the body.
  [[nodiscard]] std::size_t capacity() const noexcept { return body_.size(); }
  // The body, once complete(); the reader is then empty.
  [[nodiscard]] std::string take_body();

  // The header of a frame of `size` bytes (for clients).
  [[nodiscard]] static std::string header_for(std::uint64_t size);

 private:
  void grow_body(std::size_t need);

  std::uint64_t max_frame_;
  unsigned char header_[kHeaderSize] = {};
  std::size_t header_have_ = 0;
  std::uint64_t length_ = 0;
  std::string body_;  // body_.size() is the capacity; done_ bytes are filled
  std::size_t done_ = 0;
};

}  // namespace pz::programs
