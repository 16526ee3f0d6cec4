#include "pizzeria/pizza/order_replies.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pz::pizza {
namespace {

using Status = OrderReplies::Status;

struct Fed {
  Status status;
  std::vector<std::string> lines;
};

Fed feed(OrderReplies& replies, std::string_view bytes) {
  Fed fed{};
  fed.status = replies.feed(bytes, [&](std::string_view line) { fed.lines.emplace_back(line); });
  return fed;
}

TEST(OrderReplies, HandsOutEachReplyLineAsItEndsAndCompletesAtTheLastOwed) {
  OrderReplies replies(2);
  Fed fed = feed(replies, "Thank you for ordering 1 pizzas!\nThank");
  EXPECT_EQ(fed.status, Status::reading);
  EXPECT_EQ(fed.lines, std::vector<std::string>{"Thank you for ordering 1 pizzas!\n"});
  EXPECT_EQ(replies.partial(), 5u);
  fed = feed(replies, " you for ordering 2 pizzas!\n");
  EXPECT_EQ(fed.status, Status::complete);
  EXPECT_EQ(fed.lines, std::vector<std::string>{"Thank you for ordering 2 pizzas!\n"});
  EXPECT_EQ(replies.replies(), 2u);
}

TEST(OrderReplies, AByteAfterTheLastReplyOwedIsTooMany) {
  OrderReplies replies(1);
  const Fed fed = feed(replies, "Thank you for ordering 1 pizzas!\nX");
  EXPECT_EQ(fed.status, Status::too_many);
  EXPECT_EQ(fed.lines.size(), 1u);
  EXPECT_EQ(feed(replies, "more\n").lines.size(), 0u);  // nothing more is taken
}

TEST(OrderReplies, NoReplyOwedIsCompleteAtOnceAndAnyByteIsTooMany) {
  OrderReplies replies(0);
  EXPECT_EQ(replies.status(), Status::complete);
  EXPECT_EQ(feed(replies, "\n").status, Status::too_many);
}

TEST(OrderReplies, ALineReachingTheBoundWithoutANewlineIsNotAReply) {
  OrderReplies replies(3);
  EXPECT_EQ(feed(replies, std::string(OrderReplies::kMaxReplyLine - 1, 'x')).status,
            Status::reading);
  EXPECT_EQ(feed(replies, "x\n").status, Status::line_too_long);
  EXPECT_EQ(replies.partial(), OrderReplies::kMaxReplyLine);
  EXPECT_EQ(replies.replies(), 0u);
}

TEST(OrderReplies, TheBusyReplyMarksTheServerBusy) {
  OrderReplies replies(4);
  EXPECT_FALSE(replies.busy());
  EXPECT_EQ(feed(replies, kBusyReply).lines.size(), 1u);
  EXPECT_TRUE(replies.busy());
}

}  // namespace
}  // namespace pz::pizza
