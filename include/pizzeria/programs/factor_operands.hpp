// The text side of `pizzeria factor`: parsing operands and writing results and
// diagnostics exactly as GNU coreutils `factor` (9.1) does.
//
//   pz::programs::FactorReport report;
//   pz::programs::factor_text("12 abc\n13", pz::programs::QuoteStyle::c_locale, report);
//   // report.out    == "12: 2 2 3\n13: 13\n"
//   // report.errors == "factor: 'abc' is not a valid positive integer\n"
//   // report.failed == true   (GNU exits 1 after any invalid operand)
//
// GNU's rules, measured against /usr/bin/factor:
// - an operand is optional leading spaces (only ' '), an optional '+', then
//   one or more ASCII digits and nothing else; leading zeros are dropped;
// - standard input is split on ' ', '\t' and '\n' only;
// - a bad operand is quoted the way GNU's quote() does in the current locale
//   ('...' with C escapes in the C locale, curly quotes in a UTF-8 one).
// One deliberate difference: GNU factors numbers of any size with GMP;
// pizzeria stops at 2^128 - 1 and says so for larger operands.
//
// Thread safety: pure functions, safe from any thread.
#pragma once

#include <string>
#include <string_view>

#include "pizzeria/programs/prime_factors.hpp"

namespace pz::programs {

// How diagnostics quote an operand: GNU's locale_quoting_style in a C/POSIX
// locale ('abc', with \' escaped) or a UTF-8 locale (‘abc’).
enum class QuoteStyle { c_locale, utf8 };

// The style for the process's LC_CTYPE, after setlocale(LC_ALL, "").
[[nodiscard]] QuoteStyle quote_style_from_environment();

[[nodiscard]] std::string quote_operand(std::string_view text, QuoteStyle style);

struct ParsedOperand {
  enum class Status { valid, invalid, too_large };
  Status status = Status::invalid;
  UInt128 value = 0;
};

[[nodiscard]] ParsedOperand parse_factor_operand(std::string_view text);

// Appends "N: p1 p2 ...\n" for n.
void append_factor_line(std::string& out, UInt128 n);

// What factoring a run of operands produced: text for stdout and for stderr,
// and whether any operand was rejected (exit status 1).
struct FactorReport {
  std::string out;
  std::string errors;
  bool failed = false;
};

// Factors one operand (a command-line argument) into `report`.
void factor_operand(std::string_view operand, QuoteStyle style, FactorReport& report);

// Factors every operand of `text`, split as GNU splits standard input.
void factor_text(std::string_view text, QuoteStyle style, FactorReport& report);

// True for the bytes that separate operands on standard input.
[[nodiscard]] constexpr bool is_operand_separator(char c) {
  return c == ' ' || c == '\t' || c == '\n';
}

}  // namespace pz::programs
