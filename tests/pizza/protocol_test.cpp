#include "pizzeria/pizza/protocol.hpp"

#include <gtest/gtest.h>

#include <climits>

namespace pz::pizza {
namespace {

TEST(Protocol, FormatsTheExactReplies) {
  EXPECT_EQ(reply_for(Order{7}), "Thank you for ordering 7 pizzas!\n");
  EXPECT_EQ(reply_for(Order{1000}), "Thank you for ordering 1000 pizzas!\n");
  EXPECT_EQ(reply_for(Order::wrong_number()), "Wrong number of pizzas, please try again\n");
  EXPECT_EQ(kBusyReply, "Server busy, please try again later\n");
}

TEST(Protocol, BoundsTheLongestReply) {
  EXPECT_EQ(reply_for(Order{INT_MAX}).size(), kMaxReplyLength);
}

TEST(Protocol, AppendsRepliesAfterExistingOutput) {
  std::string out = "x";
  append_reply(out, Order{2});
  append_reply(out, Order{});
  EXPECT_EQ(out, "xThank you for ordering 2 pizzas!\nWrong number of pizzas, please try again\n");
}

TEST(Protocol, ParsesWholeLines) {
  EXPECT_EQ(parse_order_line("7"), Order{7});
  EXPECT_EQ(parse_order_line(" +7\t"), Order{7});
  EXPECT_EQ(parse_order_line(""), Order::wrong_number());
  EXPECT_EQ(parse_order_line("1001"), Order::wrong_number());
  EXPECT_EQ(parse_order_line("1001", 2000), Order{1001});
  EXPECT_EQ(parse_order_line("7\n8"), Order::wrong_number());
  EXPECT_EQ(parse_order_line(std::string(2000, ' ') + "7"), Order::wrong_number());
}

}  // namespace
}  // namespace pz::pizza
