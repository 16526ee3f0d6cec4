#include "pizzeria/programs/factor_operands.hpp"

#include <langinfo.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace pz::programs {

namespace {

// Length of the valid UTF-8 sequence starting at text[i], or 0 if invalid.
std::size_t utf8_sequence_length(std::string_view text, std::size_t i) {
  const auto lead = static_cast<unsigned char>(text[i]);
  std::size_t length = 0;
  std::uint32_t code = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
    code = lead & 0x1Fu;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    code = lead & 0x0Fu;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    code = lead & 0x07u;
  } else {
    return 0;
  }
  if (i + length > text.size()) {
    return 0;
  }
  for (std::size_t k = 1; k < length; ++k) {
    const auto next = static_cast<unsigned char>(text[i + k]);
    if ((next & 0xC0u) != 0x80u) {
      return 0;
    }
    code = (code << 6) | (next & 0x3Fu);
  }
  // Overlong forms, surrogates and values past U+10FFFF are not characters.
  const bool overlong = (length == 3 && code < 0x800) || (length == 4 && code < 0x10000);
  if (overlong || (code >= 0xD800 && code <= 0xDFFF) || code > 0x10FFFF) {
    return 0;
  }
  return length;
}

void append_octal_escape(std::string& out, unsigned char byte) {
  out += '\\';
  out += static_cast<char>('0' + ((byte >> 6) & 7));
  out += static_cast<char>('0' + ((byte >> 3) & 7));
  out += static_cast<char>('0' + (byte & 7));
}

}  // namespace

QuoteStyle quote_style_from_environment() {
  const char* codeset = ::nl_langinfo(CODESET);
  return codeset != nullptr && std::strcmp(codeset, "UTF-8") == 0 ? QuoteStyle::utf8
                                                                  : QuoteStyle::c_locale;
}

std::string quote_operand(std::string_view text, QuoteStyle style) {
  const bool utf8 = style == QuoteStyle::utf8;
  std::string out = utf8 ? "\u2018" : "'";
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    switch (c) {
      case '\a':
        out += "\\a";
        continue;
      case '\b':
        out += "\\b";
        continue;
      case '\f':
        out += "\\f";
        continue;
      case '\n':
        out += "\\n";
        continue;
      case '\r':
        out += "\\r";
        continue;
      case '\t':
        out += "\\t";
        continue;
      case '\v':
        out += "\\v";
        continue;
      case '\\':
        out += "\\\\";
        continue;
      case '\'':
        // Only the ASCII quote needs escaping inside ASCII quotes.
        out += utf8 ? "'" : "\\'";
        continue;
      default:
        break;
    }
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7F) {
      out += c;
    } else if (byte >= 0x80 && utf8) {
      const std::size_t length = utf8_sequence_length(text, i);
      if (length == 0) {
        append_octal_escape(out, byte);
      } else {
        out.append(text.substr(i, length));
        i += length - 1;
      }
    } else {
      append_octal_escape(out, byte);
    }
  }
  out += utf8 ? "\u2019" : "'";
  return out;
}

ParsedOperand parse_factor_operand(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size() && text[i] == ' ') {
    ++i;
  }
  if (i < text.size() && text[i] == '+') {
    ++i;
  }
  if (i == text.size()) {
    return {};
  }
  constexpr UInt128 kMax = ~UInt128{0};
  ParsedOperand result{ParsedOperand::Status::valid, 0};
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (c < '0' || c > '9') {
      return {};
    }
    const auto digit = static_cast<unsigned>(c - '0');
    // Keep scanning after an overflow: "1e99..." is invalid, not too large.
    if (result.status == ParsedOperand::Status::valid) {
      if (result.value > (kMax - digit) / 10) {
        result.status = ParsedOperand::Status::too_large;
      } else {
        result.value = result.value * 10 + digit;
      }
    }
  }
  return result;
}

void append_factor_line(std::string& out, UInt128 n) {
  append_decimal(out, n);
  out += ':';
  if (static_cast<std::uint64_t>(n >> 64) == 0) {
    // The common case stays in 64-bit words end to end.
    thread_local std::vector<std::uint64_t> factors;
    factors.clear();
    append_prime_factors(static_cast<std::uint64_t>(n), factors);
    for (const std::uint64_t factor : factors) {
      out += ' ';
      append_decimal(out, factor);
    }
  } else {
    for (const UInt128 factor : prime_factors(n)) {
      out += ' ';
      append_decimal(out, factor);
    }
  }
  out += '\n';
}

void factor_operand(std::string_view operand, QuoteStyle style, FactorReport& report) {
  const ParsedOperand parsed = parse_factor_operand(operand);
  switch (parsed.status) {
    case ParsedOperand::Status::valid:
      append_factor_line(report.out, parsed.value);
      return;
    case ParsedOperand::Status::invalid:
      report.errors += "factor: ";
      report.errors += quote_operand(operand, style);
      report.errors += " is not a valid positive integer\n";
      break;
    case ParsedOperand::Status::too_large:
      report.errors += "factor: ";
      report.errors += quote_operand(operand, style);
      report.errors += " is too large: pizzeria factors numbers below 2^128\n";
      break;
  }
  report.failed = true;
}

void factor_text(std::string_view text, QuoteStyle style, FactorReport& report) {
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_operand_separator(text[i])) {
      ++i;
    }
    const std::size_t begin = i;
    while (i < text.size() && !is_operand_separator(text[i])) {
      ++i;
    }
    if (i > begin) {
      factor_operand(text.substr(begin, i - begin), style, report);
    }
  }
}

}  // namespace pz::programs
