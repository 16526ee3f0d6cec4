// pz::loggable_text: bytes that came from the network, made fit for one
// line of a log. Printable ASCII is kept; a backslash and every other byte
// are written as escapes (\n, \r, \t, \\, \xNN), so a peer cannot forge
// log lines, move the cursor of the terminal that shows them or break a
// log parser; and the result is cut to at most `max` bytes plus a note of
// the full size ("... (4194304 bytes)"), so a peer that sends megabytes
// cannot make a line of megabytes.
//
//   log("Redis replied " + pz::loggable_text(reply.text));
//
// Pure; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace pz {

// Enough for any message a well-behaved peer sends (Redis's longest
// errors are about 150 bytes), short enough to keep a line a line.
inline constexpr std::size_t kLoggedBytes = 200;

[[nodiscard]] std::string loggable_text(std::string_view bytes, std::size_t max = kLoggedBytes);

}  // namespace pz
