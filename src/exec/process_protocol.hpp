// Messages between a ProcessPool and its workers (private to src/exec).
//
// A stream socket carries frames: u32 little-endian payload length, then the
// payload, whose first byte is the message kind:
//
//   parent -> worker
//     kInit    string name, tuple args         run the initializer once
//     kTask    u64 id, string name, u32 count, count x (tuple args)
//   worker -> parent
//     kHello                                   first frame: the worker loop runs
//     kStarted u64 id                          the task message was read and
//                                              starts now
//     kResults u64 id, u32 count, count x (u8 ok, then result value if ok,
//              else string error message)
//     kInitFailed string message               then the worker exits
//
// Values use the tagged encoding of pizzeria/exec/wire.hpp. The parent never
// sends a second task before the first one's results arrive, so neither side
// ever blocks writing while the other blocks writing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace pz::process_protocol {

inline constexpr std::uint8_t kInit = 1;
inline constexpr std::uint8_t kTask = 2;
inline constexpr std::uint8_t kResults = 3;
inline constexpr std::uint8_t kInitFailed = 4;
inline constexpr std::uint8_t kStarted = 5;
inline constexpr std::uint8_t kHello = 6;

// Frames above this are refused as corrupt rather than allocated.
inline constexpr std::uint32_t kMaxFrame = 1U << 30;

// Blocking helpers. write_frame adds the length prefix; read_frame returns
// false on a clean end of stream before any byte of a frame. Both throw
// std::system_error on I/O errors; write_frame throws pz::WireError, before
// sending anything, for a payload over kMaxFrame, and read_frame for a
// length over it.
void write_frame(int fd, const std::string& payload);
// One frame whose payload is `head` followed by `tail`, sent without joining
// them: a batch's items (megabytes for the sort server) are not copied into
// the message that carries them.
void write_frame(int fd, std::string_view head, std::string_view tail);
bool read_frame(int fd, std::string& payload);

}  // namespace pz::process_protocol
