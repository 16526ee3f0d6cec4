#include "pizzeria/core/loggable_text.hpp"

#include <gtest/gtest.h>

#include <string>

namespace pz {
namespace {

using namespace std::string_literals;

TEST(LoggableText, PrintableTextIsKeptAsItIs) {
  EXPECT_EQ(loggable_text("ERR unknown command 'FOO'"), "ERR unknown command 'FOO'");
}

TEST(LoggableText, ControlBytesBackslashesAndHighBytesAreEscaped) {
  EXPECT_EQ(loggable_text("a\nb\rc\td\\e\x1b[2J\x00\xff"s), "a\\nb\\rc\\td\\\\e\\x1b[2J\\x00\\xff");
}

TEST(LoggableText, LongTextIsCutToTheBoundWithItsFullSize) {
  const std::string text(4 << 20, 'x');
  EXPECT_EQ(loggable_text(text, 10), "xxxxxxxxxx... (4194304 bytes)");
  EXPECT_EQ(loggable_text(text).size(), kLoggedBytes + std::string("... (4194304 bytes)").size());
}

TEST(LoggableText, AnEscapeIsNeverCutInHalf) {
  EXPECT_EQ(loggable_text("abc\x01"s, 5), "abc... (4 bytes)");
  EXPECT_EQ(loggable_text("abc\x01"s, 7), "abc\\x01");
}

TEST(LoggableText, EmptyTextStaysEmpty) {
  EXPECT_EQ(loggable_text(""), "");
}

}  // namespace
}  // namespace pz
