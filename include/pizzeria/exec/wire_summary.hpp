// pz::wire_summary: a short, printable rendering of a tagged wire value
// (wire.hpp), for error messages that must say which input a task had, such
// as a deadline's pz::TimeoutError: `(12, "margherita", [1.5, 2])`.
//
// It reads the tags only, so it needs no type: any encoded value, including
// the argument tuple of a task, can be summarised. Strings are quoted with
// control bytes escaped and cut, lists and maps show their first elements,
// and the whole text is cut to `max_chars` with "...". Bytes that do not
// decode end the summary with "<undecodable>" instead of throwing: the
// summary is for a message about another failure.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace pz {

[[nodiscard]] std::string wire_summary(std::string_view encoded, std::size_t max_chars = 120);

}  // namespace pz
