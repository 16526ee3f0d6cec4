#include "pizzeria/programs/json_number_sort.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <stdexcept>
#include <vector>

namespace pz::programs {

namespace {

struct Number {
  std::string_view text;
  bool integer = true;
  bool negative = false;
  std::string_view digits;  // integers: the digits without sign
  double value = 0;
};

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

[[noreturn]] void fail(const std::string& what, std::size_t at) {
  throw std::invalid_argument("invalid JSON number array: " + what + " at byte " +
                              std::to_string(at));
}

// JSON's number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
Number scan_number(std::string_view json, std::size_t& at) {
  const std::size_t begin = at;
  Number number;
  if (at < json.size() && json[at] == '-') {
    number.negative = true;
    ++at;
  }
  const std::size_t digits_begin = at;
  if (at < json.size() && json[at] == '0') {
    ++at;
  } else if (at < json.size() && is_digit(json[at])) {
    while (at < json.size() && is_digit(json[at])) {
      ++at;
    }
  } else {
    fail("expected a number", at);
  }
  number.digits = json.substr(digits_begin, at - digits_begin);
  if (at < json.size() && json[at] == '.') {
    number.integer = false;
    ++at;
    if (at >= json.size() || !is_digit(json[at])) {
      fail("expected a digit after '.'", at);
    }
    while (at < json.size() && is_digit(json[at])) {
      ++at;
    }
  }
  if (at < json.size() && (json[at] == 'e' || json[at] == 'E')) {
    number.integer = false;
    ++at;
    if (at < json.size() && (json[at] == '+' || json[at] == '-')) {
      ++at;
    }
    if (at >= json.size() || !is_digit(json[at])) {
      fail("expected a digit in the exponent", at);
    }
    while (at < json.size() && is_digit(json[at])) {
      ++at;
    }
  }
  number.text = json.substr(begin, at - begin);
  // strtod needs a terminated string; numbers are short, so copy.
  const std::string copy(number.text);
  number.value = std::strtod(copy.c_str(), nullptr);
  return number;
}

// Exact three-way comparison of two integers given as sign and digits (no
// leading zeros); -0 == 0.
int compare_integers(bool a_negative, std::string_view a_digits, bool b_negative,
                     std::string_view b_digits) {
  a_negative = a_negative && a_digits != "0";
  b_negative = b_negative && b_digits != "0";
  if (a_negative != b_negative) {
    return a_negative ? -1 : 1;
  }
  int magnitude = 0;
  if (a_digits.size() != b_digits.size()) {
    magnitude = a_digits.size() < b_digits.size() ? -1 : 1;
  } else if (a_digits != b_digits) {
    magnitude = a_digits < b_digits ? -1 : 1;
  }
  return a_negative ? -magnitude : magnitude;
}

// Doubles hold every integer of up to 15 digits exactly.
constexpr std::size_t kExactDoubleDigits = 15;

// Exact three-way comparison of an integer with a double (which may be
// infinite: 1e999), as Python compares an int with a float. Comparing the
// integer's rounded double instead would make 2^53 + 1 equal to 2^53.0 and
// 2^53.0 equal to 2^53 while 2^53 < 2^53 + 1: not a strict weak ordering,
// which std::stable_sort requires (it returned such arrays unsorted).
int compare_integer_with_double(const Number& integer, double value) {
  if (integer.digits.size() <= kExactDoubleDigits) {
    return integer.value < value ? -1 : integer.value > value ? 1 : 0;
  }
  if (std::isinf(value)) {
    return value > 0 ? -1 : 1;
  }
  // floor(value) is an integer that a double holds exactly, and fixed
  // notation with precision 0 prints it exactly (at most 309 digits).
  const double whole = std::floor(value);
  char text[400];
  const auto printed =
      std::to_chars(std::begin(text), std::end(text), whole, std::chars_format::fixed, 0);
  std::string_view digits(text, static_cast<std::size_t>(printed.ptr - text));
  const bool negative = !digits.empty() && digits.front() == '-';
  digits.remove_prefix(negative ? 1 : 0);
  const int versus_whole = compare_integers(integer.negative, integer.digits, negative, digits);
  if (versus_whole != 0) {
    return versus_whole;  // integers differing from floor(value) differ from value the same way
  }
  return value > whole ? -1 : 0;
}

// A strict weak ordering: every number stands for one real number (an
// integer for itself, anything else for its double) and they compare exactly.
bool number_less(const Number& a, const Number& b) {
  if (a.integer && b.integer) {
    return compare_integers(a.negative, a.digits, b.negative, b.digits) < 0;
  }
  if (a.integer) {
    return compare_integer_with_double(a, b.value) < 0;
  }
  if (b.integer) {
    return compare_integer_with_double(b, a.value) > 0;
  }
  return a.value < b.value;
}

// ---- The fast path: arrays of integers that fit an int64 (what the seed's
// client and json.dumps of a list of ints send). One pass records each
// number's place and key; a stable radix sort orders the keys; the reply is
// written with the texts moved and the separators left where they were.

struct Entry {
  std::uint64_t key;  // the value, biased so unsigned order is numeric order
  std::uint32_t start;
  std::uint32_t length;
};

// Stable by construction: LSD radix sort moves equal keys in order, and so
// does insertion sort. Bytes in which no two keys differ are skipped, so
// small numbers (the seed's are below 10,000) take two passes.
void stable_sort_entries(std::vector<Entry>& entries, std::vector<Entry>& scratch) {
  const std::size_t n = entries.size();
  if (n <= 32) {
    for (std::size_t i = 1; i < n; ++i) {
      const Entry entry = entries[i];
      std::size_t j = i;
      for (; j > 0 && entries[j - 1].key > entry.key; --j) {
        entries[j] = entries[j - 1];
      }
      entries[j] = entry;
    }
    return;
  }
  std::uint64_t differing = 0;
  for (const Entry& entry : entries) {
    differing |= entry.key ^ entries[0].key;
  }
  scratch.resize(n);
  for (int shift = 0; shift < 64; shift += 8) {
    if (((differing >> shift) & 0xFF) == 0) {
      continue;
    }
    std::size_t offsets[256] = {};
    for (const Entry& entry : entries) {
      ++offsets[(entry.key >> shift) & 0xFF];
    }
    std::size_t total = 0;
    for (std::size_t& offset : offsets) {
      const std::size_t count = offset;
      offset = total;
      total += count;
    }
    for (const Entry& entry : entries) {
      scratch[offsets[(entry.key >> shift) & 0xFF]++] = entry;
    }
    entries.swap(scratch);
  }
}

// Integers of up to 18 digits fit an int64 exactly.
constexpr std::size_t kMaxFastDigits = 18;

// Sorts `json` into `out` if it is a valid array of such integers; false
// leaves the input (anything else, valid or not) to the general path, which
// also words the errors.
bool sort_small_integers(std::string_view json, std::string& out) {
  const std::size_t n = json.size();
  // The closing ']' is a sentinel: it is neither a digit, a space, a sign
  // nor a ',', so every scanning loop below stops at it without checking
  // the length (the array must then end exactly there).
  if (n < 2 || json[0] != '[' || json[n - 1] != ']' || n > UINT32_MAX) {
    return false;
  }
  const char* p = json.data();
  // In input order; the separators are what lies between two entries.
  std::vector<Entry> entries;
  entries.reserve(n / 4 + 1);
  std::size_t at = 1;
  while (is_space(p[at])) {
    ++at;
  }
  if (p[at] == ']') {
    if (at + 1 != n) {
      return false;
    }
    out.assign(json);
    return true;
  }
  constexpr std::uint64_t kBias = std::uint64_t{1} << 63;  // -0 lands on 0's key
  for (;;) {
    const std::size_t start = at;
    const bool negative = p[at] == '-';
    at += negative ? 1 : 0;
    const std::size_t digits_begin = at;
    std::uint64_t magnitude = 0;
    if (p[at] == '0') {
      ++at;
    } else {
      // Wraps harmlessly past 19 digits: such numbers are refused below.
      while (is_digit(p[at])) {
        magnitude = magnitude * 10 + static_cast<std::uint64_t>(p[at] - '0');
        ++at;
      }
    }
    const std::size_t digits = at - digits_begin;
    if (digits == 0 || digits > kMaxFastDigits || p[at] == '.' || p[at] == 'e' || p[at] == 'E') {
      return false;
    }
    entries.push_back({negative ? kBias - magnitude : kBias + magnitude,
                       static_cast<std::uint32_t>(start), static_cast<std::uint32_t>(at - start)});
    while (is_space(p[at])) {
      ++at;
    }
    if (p[at] == ',') {
      ++at;
      while (is_space(p[at])) {
        ++at;
      }
      continue;
    }
    if (p[at] == ']' && at + 1 == n) {
      break;
    }
    return false;
  }
  const std::size_t gap_end = n - 1;
  std::vector<Entry> sorted = entries;
  std::vector<Entry> scratch;
  stable_sort_entries(sorted, scratch);
  // Room for copies of 8 bytes at a time that may run past their end (the
  // next copy overwrites the excess); trimmed at the end.
  out.resize(n + 8);
  char* o = out.data();
  *o++ = '[';
  const auto copy = [&o, p, n](std::size_t from, std::size_t to) {
    const std::size_t length = to - from;
    if (to + 8 <= n) {
      for (std::size_t i = 0; i < length; i += 8) {
        std::memcpy(o + i, p + from + i, 8);
      }
    } else {
      std::memcpy(o, p + from, length);
    }
    o += length;
  };
  std::size_t previous_end = 1;  // after '['
  for (std::size_t i = 0; i < entries.size(); ++i) {
    copy(previous_end, entries[i].start);  // the separator in place i
    previous_end = entries[i].start + entries[i].length;
    copy(sorted[i].start, sorted[i].start + sorted[i].length);
  }
  copy(previous_end, gap_end);
  *o = ']';
  out.resize(n);
  return true;
}

}  // namespace

std::string sort_json_numbers(std::string_view json) {
  std::string fast;
  if (sort_small_integers(json, fast)) {
    return fast;
  }
  std::size_t at = 0;
  if (json.empty() || json[0] != '[') {
    fail("expected '['", 0);
  }
  ++at;
  // The layout: text before the first number, between numbers, after the last.
  std::vector<Number> numbers;
  std::vector<std::string_view> gaps;
  std::size_t gap_begin = at;
  while (at < json.size() && is_space(json[at])) {
    ++at;
  }
  if (at < json.size() && json[at] == ']') {
    ++at;
  } else {
    while (true) {
      gaps.push_back(json.substr(gap_begin, at - gap_begin));
      numbers.push_back(scan_number(json, at));
      gap_begin = at;
      while (at < json.size() && is_space(json[at])) {
        ++at;
      }
      if (at < json.size() && json[at] == ',') {
        ++at;
        while (at < json.size() && is_space(json[at])) {
          ++at;
        }
        continue;
      }
      if (at < json.size() && json[at] == ']') {
        ++at;
        gaps.push_back(json.substr(gap_begin, at - 1 - gap_begin));
        break;
      }
      fail(at < json.size() ? "expected ',' or ']'" : "unterminated array", at);
    }
  }
  if (at != json.size()) {
    fail("unexpected bytes after the array", at);
  }
  if (numbers.empty()) {
    return std::string(json);
  }
  std::stable_sort(numbers.begin(), numbers.end(), number_less);
  std::string out;
  out.reserve(json.size());
  out += '[';
  for (std::size_t i = 0; i < numbers.size(); ++i) {
    out += gaps[i];
    out += numbers[i].text;
  }
  out += gaps.back();
  out += ']';
  return out;
}

}  // namespace pz::programs
