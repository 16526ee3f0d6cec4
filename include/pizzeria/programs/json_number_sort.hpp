// The sort server's work (seed 002, sections 0.14-0.15): sort a JSON array of
// numbers, as Python's json.dumps writes it ("[5, 3, 9]"), keeping each
// number's original text and the request's separators in place, so the reply
// has exactly the request's length ("[3, 5, 9]"), which is what the seed's
// client reads with readexactly(len(data)).
//
//   std::string sorted = pz::programs::sort_json_numbers("[10, -2.5, 3e2, 7]");
//   // "[-2.5, 7, 10, 3e2]"
//
// Accepted: '[' optional whitespace, numbers in JSON's grammar separated by
// ',' with optional whitespace, optional whitespace, ']'; nothing after.
// Integers compare exactly however long; other numbers stand for their
// doubles (1e999 for infinity), and an integer compares exactly with a double,
// as Python compares an int with a float (2^53 + 1 > 2^53.0).
// The sort is stable (equal numbers keep their order, hence their texts).
//
// Thread safety: pure function.
#pragma once

#include <string>
#include <string_view>

namespace pz::programs {

// Throws std::invalid_argument saying what is wrong and at which byte.
[[nodiscard]] std::string sort_json_numbers(std::string_view json);

}  // namespace pz::programs
