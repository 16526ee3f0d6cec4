#include "pizzeria/pizza/order_session.hpp"

#include <gtest/gtest.h>

#include <string>

namespace pz::pizza {
namespace {

TEST(OrderSession, QueuesOneReplyPerLineAndHandsThemOutInOrder) {
  OrderSession session;
  session.on_input("1\n2\nab");
  EXPECT_EQ(session.pending_output(),
            "Thank you for ordering 1 pizzas!\nThank you for ordering 2 pizzas!\n");
  session.consume_output(14);  // "Thank you for "
  EXPECT_EQ(session.pending_output(), "ordering 1 pizzas!\nThank you for ordering 2 pizzas!\n");
  session.on_input("c\n");
  session.on_end_of_input();
  EXPECT_EQ(session.orders_answered(), 3U);
  EXPECT_EQ(session.pending_output(),
            "ordering 1 pizzas!\nThank you for ordering 2 pizzas!\n"
            "Wrong number of pizzas, please try again\n");
  session.consume_output(session.pending_output().size());
  EXPECT_FALSE(session.has_pending_output());
}

TEST(OrderSession, AnswersTheUnterminatedFinalLineAtEndOfInput) {
  OrderSession session;
  session.on_input("5");
  EXPECT_FALSE(session.has_pending_output());
  session.on_end_of_input();
  EXPECT_EQ(session.pending_output(), "Thank you for ordering 5 pizzas!\n");
}

TEST(OrderSession, StopsWantingInputWhileRepliesPileUp) {
  OrderSession session;
  std::string chunk;
  for (std::size_t i = 0; i < OrderSession::kReadChunk / 2; ++i) {
    chunk += "7\n";
  }
  std::size_t chunks = 0;
  while (session.wants_input()) {
    session.on_input(chunk);
    ++chunks;
  }
  // The bound the models rely on: at most one chunk's replies past the mark.
  EXPECT_LT(session.pending_output().size(),
            OrderSession::kOutputHighWater + OrderSession::kReadChunk * kMaxReplyLength);
  session.consume_output(session.pending_output().size() - 10);
  EXPECT_TRUE(session.wants_input());
  EXPECT_EQ(session.orders_answered(), chunks * (OrderSession::kReadChunk / 2));
}

}  // namespace
}  // namespace pz::pizza
