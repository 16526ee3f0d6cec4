#include "pizzeria/programs/json_number_sort.hpp"

#include <algorithm>
#include <cstdlib>
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

// Exact comparison of two integers given as sign and digits (no leading zeros).
bool integer_less(const Number& a, const Number& b) {
  const bool a_zero = a.digits == "0";
  const bool b_zero = b.digits == "0";
  const bool a_negative = a.negative && !a_zero;  // -0 == 0
  const bool b_negative = b.negative && !b_zero;
  if (a_negative != b_negative) {
    return a_negative;
  }
  const bool magnitude_less =
      a.digits.size() != b.digits.size() ? a.digits.size() < b.digits.size() : a.digits < b.digits;
  const bool magnitude_greater =
      a.digits.size() != b.digits.size() ? a.digits.size() > b.digits.size() : a.digits > b.digits;
  return a_negative ? magnitude_greater : magnitude_less;
}

bool number_less(const Number& a, const Number& b) {
  if (a.integer && b.integer) {
    return integer_less(a, b);
  }
  return a.value < b.value;
}

}  // namespace

std::string sort_json_numbers(std::string_view json) {
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
