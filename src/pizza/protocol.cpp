#include "pizzeria/pizza/protocol.hpp"

#include <array>
#include <charconv>

#include "pizzeria/pizza/order_parser.hpp"

namespace pz::pizza {

void append_reply(std::string& out, Order order) {
  if (!order.valid()) {
    out.append(kWrongNumberReply);
    return;
  }
  // to_chars rather than fmt: this runs once per order on every server's hot
  // path, and a stack buffer avoids any temporary string.
  std::array<char, 16> digits{};
  const auto result = std::to_chars(digits.data(), digits.data() + digits.size(), order.pizzas);
  out.append("Thank you for ordering ");
  out.append(digits.data(), result.ptr);
  out.append(" pizzas!\n");
}

std::string reply_for(Order order) {
  std::string reply;
  append_reply(reply, order);
  return reply;
}

Order parse_order_line(std::string_view line, int max_order) {
  OrderParser parser(max_order);
  Order result = Order::wrong_number();
  int lines = 0;
  const auto take = [&](Order order) {
    // Only the first line counts; an embedded '\n' makes the input not "one
    // line", and the over-long rule already answered it as wrong.
    if (lines++ == 0) {
      result = order;
    }
  };
  parser.feed(line, take);
  parser.finish(take);
  return lines == 1 ? result : Order::wrong_number();
}

}  // namespace pz::pizza
