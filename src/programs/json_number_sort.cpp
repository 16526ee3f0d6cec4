#include "pizzeria/programs/json_number_sort.hpp"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <memory>
#include <numeric>
#include <span>
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
// number's place and key; a stable counting or radix sort orders the keys;
// the reply is written with the texts moved and the separators left where
// they were. It runs ~150 instructions per number (callgrind, the seed's
// list of 10,000 numbers below 10,000), so the loops below avoid what costs
// per number: a capacity check per push, a loop per digit, two radix passes
// where one counting pass does.

struct Entry {
  std::uint64_t key;  // the value, biased so unsigned order is numeric order
  std::uint32_t start;
  std::uint32_t length;
};

// The fast path's working memory, kept per thread from one sort to the next.
// The seed's list of 10,000 numbers needs arrays of ~230 KB; allocated
// afresh, each was above malloc's mmap threshold (or trimmed off the heap's
// top when freed), so every sort faulted its pages in again: half of a
// 10,000-number sort's time was the kernel's (337 us a sort, 0.35 s of
// 0.64 s in system time).
struct SortBuffers {
  // In input order: where the separators are. Sized for the worst case
  // and never initialised: memory is only touched as entries are written.
  std::unique_ptr<Entry[]> entries;
  std::size_t entries_capacity = 0;
  std::vector<Entry> sorted;
  std::vector<Entry> scratch;
  std::vector<std::uint32_t> counts;

  // A rare huge request should not pin its memory in the thread for ever.
  static constexpr std::size_t kKeptBytes = std::size_t{8} << 20;
  struct ReleaseIfHuge {
    SortBuffers& buffers;
    explicit ReleaseIfHuge(SortBuffers& kept) : buffers(kept) {}
    ReleaseIfHuge(const ReleaseIfHuge&) = delete;
    ReleaseIfHuge& operator=(const ReleaseIfHuge&) = delete;
    ~ReleaseIfHuge() {
      const std::size_t kept =
          (buffers.entries_capacity + buffers.sorted.capacity() + buffers.scratch.capacity()) *
              sizeof(Entry) +
          buffers.counts.capacity() * sizeof(std::uint32_t);
      if (kept > kKeptBytes) {
        buffers = {};
      }
    }
  };
};

// Keys spanning at most this many values are counted rather than radix
// sorted: one counting pass and one scatter instead of two of each per byte
// that differs. The seed's numbers (0-9,999) span 10,000.
constexpr std::uint64_t kMaxCountedSpan = std::uint64_t{1} << 16;

// Writes `entries` ordered by key into `sorted`. Stable by construction:
// counting and LSD radix sorts move equal keys in order, and so does
// insertion sort. Radix passes stop at the highest byte in which keys differ.
void stable_sort_entries(std::span<const Entry> entries, std::uint64_t min_key,
                         std::uint64_t max_key, SortBuffers& buffers) {
  std::vector<Entry>& sorted = buffers.sorted;
  const std::size_t n = entries.size();
  if (n <= 32) {
    sorted.assign(entries.begin(), entries.end());
    for (std::size_t i = 1; i < n; ++i) {
      const Entry entry = sorted[i];
      std::size_t j = i;
      for (; j > 0 && sorted[j - 1].key > entry.key; --j) {
        sorted[j] = sorted[j - 1];
      }
      sorted[j] = entry;
    }
    return;
  }
  sorted.resize(n);
  const std::uint64_t span = max_key - min_key;
  if (span < kMaxCountedSpan && span <= 4 * n) {
    std::vector<std::uint32_t>& offsets = buffers.counts;
    offsets.assign(span + 1, 0);
    for (const Entry& entry : entries) {
      ++offsets[entry.key - min_key];
    }
    std::exclusive_scan(offsets.begin(), offsets.end(), offsets.begin(), std::uint32_t{0});
    for (const Entry& entry : entries) {
      sorted[offsets[entry.key - min_key]++] = entry;
    }
    return;
  }
  // Every key lies between min_key and max_key, so it agrees with both above
  // the highest bit in which they differ: only the bytes up to that one are
  // sorted on (those below it may differ even where min and max agree). The
  // keys are not all equal here (that span is counted), so passes >= 1.
  const int passes = (std::bit_width(min_key ^ max_key) + 7) / 8;
  buffers.scratch.resize(n);
  // The first pass reads the input in place; the targets alternate so that
  // the last pass writes `sorted`.
  const Entry* from = entries.data();
  Entry* to = passes % 2 == 1 ? sorted.data() : buffers.scratch.data();
  Entry* spare = passes % 2 == 1 ? buffers.scratch.data() : sorted.data();
  for (int shift = 0; shift < 8 * passes; shift += 8) {
    std::size_t offsets[256] = {};
    for (std::size_t i = 0; i < n; ++i) {
      ++offsets[(from[i].key >> shift) & 0xFF];
    }
    std::exclusive_scan(std::begin(offsets), std::end(offsets), std::begin(offsets),
                        std::size_t{0});
    for (std::size_t i = 0; i < n; ++i) {
      to[offsets[(from[i].key >> shift) & 0xFF]++] = from[i];
    }
    from = to;
    std::swap(to, spare);
  }
}

// Integers of up to 18 digits fit an int64 exactly.
constexpr std::size_t kMaxFastDigits = 18;

std::uint64_t load8(const char* p) {
  std::uint64_t word;
  std::memcpy(&word, p, 8);
  return word;
}

// The value of the `length` (1-8) decimal digits at the low end of `digits`
// (the text's bytes minus '0', first digit in the lowest byte): three
// multiplications combine pairs, then quads, then the eight.
std::uint64_t swar_value(std::uint64_t digits, std::size_t length) {
  digits <<= 8 * (8 - length);  // leading zero digits below the number
  digits = (digits * ((10 << 8) + 1)) >> 8 & 0x00FF00FF00FF00FF;
  digits = (digits * ((100 << 16) + 1)) >> 16 & 0x0000FFFF0000FFFF;
  return (digits * ((std::uint64_t{10000} << 32) + 1)) >> 32;
}

// Sorts `json` into `out` if it is a valid array of such integers; false
// leaves the input (anything else, valid or not) to the general path, which
// also words the errors.
bool sort_small_integers(std::string_view json, std::string& out) {
  static_assert(std::endian::native == std::endian::little, "swar_value reads little-endian words");
  const std::size_t n = json.size();
  // The closing ']' is a sentinel: it is neither a digit, a space, a sign
  // nor a ',', so every scanning loop below stops at it without checking
  // the length (the array must then end exactly there).
  if (n < 2 || json[0] != '[' || json[n - 1] != ']' || n > UINT32_MAX) {
    return false;
  }
  const char* p = json.data();
  thread_local SortBuffers buffers;
  const SortBuffers::ReleaseIfHuge release_at_return{buffers};
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
  // In input order; the separators are what lies between two entries. Each
  // number takes at least two bytes with its separator (the last one with
  // the ']'), so this many entries never run out and the loop writes them
  // without a capacity check.
  if (buffers.entries_capacity < n / 2 + 1) {
    buffers.entries = std::make_unique_for_overwrite<Entry[]>(n / 2 + 1);
    buffers.entries_capacity = n / 2 + 1;
  }
  Entry* next = buffers.entries.get();
  constexpr std::uint64_t kBias = std::uint64_t{1} << 63;  // -0 lands on 0's key
  std::uint64_t min_key = UINT64_MAX;
  std::uint64_t max_key = 0;
  for (;;) {
    const std::size_t start = at;
    const bool negative = p[at] == '-';
    at += negative ? 1 : 0;
    std::uint64_t magnitude = 0;
    std::size_t digits = 0;
    if (at + 8 <= n) {
      // Digits are the bytes 0-9 after subtracting '0'; the first byte that
      // is not flags itself with its high bit (carries only run upwards, so
      // the bytes below it are exact).
      const std::uint64_t word = load8(p + at) ^ 0x3030303030303030;
      const std::uint64_t not_digit = (word | (word + 0x7676767676767676)) & 0x8080808080808080;
      if (not_digit != 0) {
        digits = static_cast<std::size_t>(std::countr_zero(not_digit)) / 8;
        magnitude = digits == 0 ? 0 : swar_value(word, digits);
      } else {
        digits = 8;  // and more: the digit by digit loop below goes on
        magnitude = swar_value(word, 8);
      }
    }
    if (digits == 8 || at + 8 > n) {
      // Past 8 digits, or near the end; wraps harmlessly past 19 digits:
      // such numbers are refused below.
      while (is_digit(p[at + digits])) {
        magnitude = magnitude * 10 + static_cast<std::uint64_t>(p[at + digits] - '0');
        ++digits;
      }
    }
    if (digits == 0 || digits > kMaxFastDigits || (digits > 1 && p[at] == '0')) {
      return false;  // not a number, too long, or a leading zero
    }
    at += digits;
    const char after = p[at];
    if (after == '.' || after == 'e' || after == 'E') {
      return false;
    }
    const std::uint64_t key = negative ? kBias - magnitude : kBias + magnitude;
    min_key = std::min(min_key, key);
    max_key = std::max(max_key, key);
    *next++ = {key, static_cast<std::uint32_t>(start), static_cast<std::uint32_t>(at - start)};
    if (after == ',' && p[at + 1] == ' ') {  // json.dumps' separator
      at += 2;
      continue;
    }
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
  const std::span<const Entry> entries(buffers.entries.get(),
                                       static_cast<std::size_t>(next - buffers.entries.get()));
  stable_sort_entries(entries, min_key, max_key, buffers);
  const std::vector<Entry>& sorted = buffers.sorted;
  // Room for copies of 8 bytes at a time that may run past their end (the
  // next copy overwrites the excess); trimmed at the end.
  out.resize(n + 8);
  char* o = out.data();
  *o++ = '[';
  const auto copy = [&o, p, n](std::size_t from, std::size_t to) {
    const std::size_t length = to - from;
    if (length <= 8 && from + 8 <= n) {
      std::memcpy(o, p + from, 8);  // the usual case: one load and store
    } else if (to + 8 <= n) {
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
  copy(previous_end, n - 1);
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
