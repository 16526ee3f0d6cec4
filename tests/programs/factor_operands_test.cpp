#include "pizzeria/programs/factor_operands.hpp"

#include <gtest/gtest.h>

namespace pz::programs {
namespace {

using Status = ParsedOperand::Status;

TEST(ParseFactorOperand, AcceptsLeadingSpacesPlusSignAndLeadingZeros) {
  EXPECT_EQ(parse_factor_operand("  +0012").value, UInt128{12});
  EXPECT_EQ(parse_factor_operand("  +0012").status, Status::valid);
  EXPECT_EQ(parse_factor_operand("0").status, Status::valid);
}

TEST(ParseFactorOperand, RejectsWhatGnuFactorRejects) {
  for (const char* text : {"", " ", "+", "++1", "+ 1", "-1", "12 ", "\t12", "0x10", "1e3", "abc"}) {
    EXPECT_EQ(parse_factor_operand(text).status, Status::invalid) << '"' << text << '"';
  }
}

TEST(ParseFactorOperand, SeparatesTooLargeFromInvalid) {
  EXPECT_EQ(parse_factor_operand("340282366920938463463374607431768211455").status, Status::valid);
  EXPECT_EQ(parse_factor_operand("340282366920938463463374607431768211456").status,
            Status::too_large);
  EXPECT_EQ(parse_factor_operand("340282366920938463463374607431768211456x").status,
            Status::invalid);
}

TEST(QuoteOperand, CLocaleEscapesQuotesControlsAndHighBytes) {
  EXPECT_EQ(quote_operand("a'b", QuoteStyle::c_locale), "'a\\'b'");
  EXPECT_EQ(quote_operand("\t\n\\", QuoteStyle::c_locale), "'\\t\\n\\\\'");
  EXPECT_EQ(quote_operand("\x01\x7f\xff", QuoteStyle::c_locale), "'\\001\\177\\377'");
  EXPECT_EQ(quote_operand("\xc3\xa9", QuoteStyle::c_locale), "'\\303\\251'");
}

TEST(QuoteOperand, Utf8LocaleUsesCurlyQuotesAndKeepsValidCharacters) {
  EXPECT_EQ(quote_operand("a'b", QuoteStyle::utf8), "\u2018a'b\u2019");
  EXPECT_EQ(quote_operand("\xc3\xa9", QuoteStyle::utf8), "\u2018\xc3\xa9\u2019");
  EXPECT_EQ(quote_operand("\xff", QuoteStyle::utf8), "\u2018\\377\u2019");
}

TEST(FactorText, SplitsOnSpaceTabAndNewlineOnlyAndReportsBadOperands) {
  FactorReport report;
  factor_text(" 12\t\t13\n\n-3 14\r", QuoteStyle::c_locale, report);
  EXPECT_EQ(report.out, "12: 2 2 3\n13: 13\n");
  EXPECT_EQ(report.errors,
            "factor: '-3' is not a valid positive integer\n"
            "factor: '14\\r' is not a valid positive integer\n");
  EXPECT_TRUE(report.failed);
}

TEST(FactorOperand, ValidOperandsLeaveTheReportSuccessful) {
  FactorReport report;
  factor_operand(" +0", QuoteStyle::c_locale, report);
  factor_operand("1", QuoteStyle::c_locale, report);
  factor_operand("18446744073709551616", QuoteStyle::c_locale, report);
  EXPECT_EQ(
      report.out, "0:\n1:\n18446744073709551616:" + [] {
        std::string twos;
        for (int i = 0; i < 64; ++i) {
          twos += " 2";
        }
        return twos;
      }() + "\n");
  EXPECT_FALSE(report.failed);
  EXPECT_TRUE(report.errors.empty());
}

}  // namespace
}  // namespace pz::programs
