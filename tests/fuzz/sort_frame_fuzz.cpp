// libFuzzer target for SortFrameReader, the sort server's framing of what
// any client sends. Byte 0 picks --max-frame, byte 1 the size of the recvs,
// byte 2 which of them go through room()/commit() instead of feed(); the
// rest is the client's bytes. Invariants:
// - a frame over --max-frame is refused exactly when its header is whole;
// - the body is exactly the 8+length bytes' tail, the rest is left over;
// - memory follows the bytes: capacity <= 2 x body bytes + 64 KiB.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "pizzeria/programs/sort_frame_reader.hpp"

namespace {

using pz::programs::SortFrameReader;

void check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "sort_frame_fuzz: invariant failed: %s\n", what);
    std::abort();
  }
}

std::uint64_t declared(std::string_view bytes) {
  std::uint64_t length = 0;
  for (std::size_t i = 0; i < SortFrameReader::kHeaderSize; ++i) {
    length = (length << 8) | static_cast<unsigned char>(bytes[i]);
  }
  return length;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) {
    return 0;
  }
  const std::uint64_t max_frame = data[0] == 255 ? UINT64_MAX : data[0] * 64;
  const std::size_t chunk = data[1] % 128 + 1;
  const std::uint8_t direct = data[2];
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 3, size - 3);

  SortFrameReader frame(max_frame);
  std::size_t at = 0;
  bool refused = false;
  for (std::size_t turn = 0; at < bytes.size() && !frame.complete(); ++turn) {
    const std::string_view piece = bytes.substr(at, chunk);
    try {
      const auto room = frame.room();
      if (((direct >> (turn % 8)) & 1) != 0 && !room.empty()) {
        const std::size_t count = std::min(room.size(), piece.size());
        std::memcpy(room.data(), piece.data(), count);
        frame.commit(count);
        at += count;
      } else {
        const std::size_t used = frame.feed(piece);
        check(used == piece.size() || frame.complete(),
              "a piece is taken whole unless the frame ends in it");
        at += used;
      }
    } catch (const SortFrameReader::FrameTooLargeError&) {
      refused = true;
      break;
    }
    const std::uint64_t body = frame.received() - std::min<std::uint64_t>(frame.received(), 8);
    check(frame.capacity() <= 2 * body + SortFrameReader::kFirstChunk,
          "memory follows the bytes received");
  }
  const bool whole_header = bytes.size() >= SortFrameReader::kHeaderSize;
  check(refused == (whole_header && declared(bytes) > max_frame),
        "refused exactly when the header declares more than --max-frame");
  if (refused) {
    return 0;
  }
  check(frame.received() == at, "received counts the bytes taken");
  if (frame.complete()) {
    const std::uint64_t length = frame.length();
    check(at == SortFrameReader::kHeaderSize + length, "a frame is its header and body");
    check(SortFrameReader::header_for(length) == bytes.substr(0, 8), "the header encodes back");
    check(frame.take_body() == bytes.substr(8, length), "the body is the bytes after the header");
    check(!frame.has_header() && frame.received() == 0, "taking the body empties the reader");
  } else {
    check(at == bytes.size(), "an incomplete frame took every byte");
    check(!whole_header || declared(bytes) > bytes.size() - 8, "incomplete means bytes are owed");
  }
  return 0;
}
