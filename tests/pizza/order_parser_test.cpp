#include "pizzeria/pizza/order_parser.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "pizzeria/pizza/protocol.hpp"

namespace pz::pizza {
namespace {

const std::string kWrong(kWrongNumberReply);

// The replies a whole stream gets when fed in one piece.
std::string replies_for(std::string_view stream, int max_order = kDefaultMaxOrder) {
  OrderParser parser(max_order);
  std::string replies;
  parser.feed(stream, [&](Order order) { append_reply(replies, order); });
  parser.finish([&](Order order) { append_reply(replies, order); });
  return replies;
}

TEST(OrderParser, AnswersAPlainNumber) {
  EXPECT_EQ(replies_for("7\n"), "Thank you for ordering 7 pizzas!\n");
}

TEST(OrderParser, AcceptsALeadingPlusSign) {
  EXPECT_EQ(replies_for("+7\n"), "Thank you for ordering 7 pizzas!\n");
}

TEST(OrderParser, AcceptsSurroundingSpacesAndTabs) {
  EXPECT_EQ(replies_for(" 7 \n"), "Thank you for ordering 7 pizzas!\n");
  EXPECT_EQ(replies_for("\t +7\t \n"), "Thank you for ordering 7 pizzas!\n");
}

TEST(OrderParser, IgnoresACarriageReturnBeforeTheNewline) {
  EXPECT_EQ(replies_for("7\r\n"), "Thank you for ordering 7 pizzas!\n");
}

TEST(OrderParser, TreatsACarriageReturnElsewhereAsAnInvalidByte) {
  EXPECT_EQ(replies_for("7\r\r\n"), kWrong);
  EXPECT_EQ(replies_for("\r7\n"), kWrong);
  // At end of stream nothing follows the '\r', so it is not a line ending.
  EXPECT_EQ(replies_for("7\r"), kWrong);
}

TEST(OrderParser, RejectsZero) {
  EXPECT_EQ(replies_for("0\n"), kWrong);
}

TEST(OrderParser, RejectsNegativeNumbers) {
  EXPECT_EQ(replies_for("-3\n"), kWrong);
  EXPECT_EQ(replies_for("-0\n"), kWrong);
}

TEST(OrderParser, AcceptsTheMaximumAndRejectsOneMore) {
  EXPECT_EQ(replies_for("1000\n"), "Thank you for ordering 1000 pizzas!\n");
  EXPECT_EQ(replies_for("1001\n"), kWrong);
  EXPECT_EQ(replies_for("1\n"), "Thank you for ordering 1 pizzas!\n");
}

TEST(OrderParser, HonoursAConfiguredMaximum) {
  EXPECT_EQ(replies_for("5\n6\n", 5), "Thank you for ordering 5 pizzas!\n" + kWrong);
}

TEST(OrderParser, AcceptsLeadingZeros) {
  EXPECT_EQ(replies_for("007\n"), "Thank you for ordering 7 pizzas!\n");
  EXPECT_EQ(replies_for("000\n"), kWrong);
}

TEST(OrderParser, RejectsText) {
  EXPECT_EQ(replies_for("abc\n"), kWrong);
  EXPECT_EQ(replies_for("7a\n"), kWrong);
  EXPECT_EQ(replies_for("7 7\n"), kWrong);
  EXPECT_EQ(replies_for("+ 7\n"), kWrong);
  EXPECT_EQ(replies_for("++7\n"), kWrong);
  EXPECT_EQ(replies_for("+\n"), kWrong);
  EXPECT_EQ(replies_for("7.0\n"), kWrong);
  EXPECT_EQ(replies_for("1_0\n"), kWrong);
}

TEST(OrderParser, RejectsAnEmptyLine) {
  EXPECT_EQ(replies_for("\n"), kWrong);
  EXPECT_EQ(replies_for("\r\n"), kWrong);
  EXPECT_EQ(replies_for("  \t\n"), kWrong);
}

TEST(OrderParser, RejectsTwoToTheSeventiethWithoutOverflowing) {
  EXPECT_EQ(replies_for("1180591620717411303424\n"), kWrong);
  // Digits far beyond any integer type must saturate, not wrap to a valid n.
  EXPECT_EQ(replies_for(std::string(1000, '9') + "\n"), kWrong);
  EXPECT_EQ(replies_for("18446744073709551623\n"), kWrong);  // 2^64 + 7
}

TEST(OrderParser, RejectsBinaryGarbage) {
  const std::string garbage{'\x00', '\xff', '7', '\x80', '\x1b', '\x7f'};
  EXPECT_EQ(replies_for(garbage + "\n"), kWrong);
  EXPECT_EQ(replies_for(std::string("7\0\n", 3)), kWrong);
}

TEST(OrderParser, AnswersAnOverLongLineOnceAndDiscardsTheRest) {
  std::string replies;
  OrderParser parser;
  const auto collect = [&](Order order) { append_reply(replies, order); };
  // A 1 MiB line without a newline, fed in socket-sized chunks: exactly one
  // reply, as soon as the limit is crossed, and none at end of stream.
  const std::string chunk(4096, '7');
  for (int i = 0; i < 256; ++i) {
    parser.feed(chunk, collect);
    EXPECT_EQ(replies, kWrong);
  }
  parser.finish(collect);
  EXPECT_EQ(replies, kWrong);
}

TEST(OrderParser, ResumesAfterTheNewlineThatEndsAnOverLongLine) {
  EXPECT_EQ(replies_for(std::string(5000, ' ') + "\n7\n"),
            kWrong + "Thank you for ordering 7 pizzas!\n");
}

TEST(OrderParser, AcceptsALineOfExactlyTheLimitIncludingItsLineEnding) {
  std::string line(kMaxLineLength - 1, ' ');
  line += '7';
  EXPECT_EQ(replies_for(line + "\r\n"), "Thank you for ordering 7 pizzas!\n");
  EXPECT_EQ(replies_for(line + "\n"), "Thank you for ordering 7 pizzas!\n");
  EXPECT_EQ(replies_for(line), "Thank you for ordering 7 pizzas!\n");
  EXPECT_EQ(replies_for(" " + line + "\n"), kWrong);
  // One byte over only because its '\r' is not followed by '\n'.
  EXPECT_EQ(replies_for(line + "\rx\n"), kWrong);
}

TEST(OrderParser, AnswersTheUnterminatedFinalLineAtEndOfStream) {
  EXPECT_EQ(replies_for("3\n4"),
            "Thank you for ordering 3 pizzas!\nThank you for ordering 4 pizzas!\n");
  EXPECT_EQ(replies_for("3\nabc"), "Thank you for ordering 3 pizzas!\n" + kWrong);
  // No bytes after the last newline: no extra line.
  EXPECT_EQ(replies_for("3\n"), "Thank you for ordering 3 pizzas!\n");
  EXPECT_EQ(replies_for(""), "");
}

TEST(OrderParser, ReportsWhetherALineIsPending) {
  OrderParser parser;
  int orders = 0;
  const auto count = [&](Order) { ++orders; };
  EXPECT_FALSE(parser.in_line());
  parser.feed("1\n2", count);
  EXPECT_TRUE(parser.in_line());
  parser.feed("\n", count);
  EXPECT_FALSE(parser.in_line());
  parser.feed("\r", count);
  EXPECT_TRUE(parser.in_line());
  parser.feed("\n", count);
  EXPECT_EQ(orders, 3);
}

TEST(OrderParser, AnswersPipelinedOrdersInOrderWhateverTheChunking) {
  const std::string stream =
      "1\n+2\r\n 3 \nabc\n0\n\n1001\n" + std::string(1500, 'x') + "\n4\r\r\n\t5\n-3\n6";
  const std::string expected =
      "Thank you for ordering 1 pizzas!\nThank you for ordering 2 pizzas!\n"
      "Thank you for ordering 3 pizzas!\n" +
      kWrong + kWrong + kWrong + kWrong + kWrong + kWrong + "Thank you for ordering 5 pizzas!\n" +
      kWrong + "Thank you for ordering 6 pizzas!\n";
  ASSERT_EQ(replies_for(stream), expected);
  // Every split into two chunks, and byte by byte, gives the same replies.
  for (std::size_t split = 0; split <= stream.size(); ++split) {
    OrderParser parser;
    std::string replies;
    const auto collect = [&](Order order) { append_reply(replies, order); };
    parser.feed(std::string_view(stream).substr(0, split), collect);
    parser.feed(std::string_view(stream).substr(split), collect);
    parser.finish(collect);
    ASSERT_EQ(replies, expected) << "split at byte " << split;
  }
  OrderParser parser;
  std::string replies;
  const auto collect = [&](Order order) { append_reply(replies, order); };
  for (const char byte : stream) {
    parser.feed(std::string_view(&byte, 1), collect);
  }
  parser.finish(collect);
  EXPECT_EQ(replies, expected);
}

TEST(OrderParser, StartsAFreshStreamAfterFinish) {
  OrderParser parser;
  std::string replies;
  const auto collect = [&](Order order) { append_reply(replies, order); };
  parser.feed("12", collect);
  parser.finish(collect);
  parser.feed("3\n", collect);
  EXPECT_EQ(replies, "Thank you for ordering 12 pizzas!\nThank you for ordering 3 pizzas!\n");
}

}  // namespace
}  // namespace pz::pizza
