// The pizza protocol (docs/pizza-service.md, "The protocol"): the constants and
// the reply formatter every server model and the client share. No I/O here.
//
// Thread safety: everything is a pure function or a constant.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace pz::pizza {

// The seed's ADDRESS.
inline constexpr std::string_view kDefaultHost = "127.0.0.1";
inline constexpr int kDefaultPort = 12345;

// Largest order accepted unless the server is told otherwise (--max-order).
inline constexpr int kDefaultMaxOrder = 1000;

// Longest line, in bytes, not counting the `\n` and a `\r` just before it. A
// valid order needs at most 5 significant bytes ("+1000"); 1 KiB leaves room
// for generous padding while keeping a garbage-spewing client's cost tiny.
// The parser never buffers a line (it parses as bytes arrive), so this limit
// is a protocol rule, not a buffer size: an over-long line is answered with
// the wrong-number reply as soon as it crosses the limit, once, and the rest
// of it up to the next `\n` is discarded.
inline constexpr std::size_t kMaxLineLength = 1024;

inline constexpr std::string_view kWrongNumberReply = "Wrong number of pizzas, please try again\n";
inline constexpr std::string_view kBusyReply = "Server busy, please try again later\n";
// With --kitchen, for a valid order the kitchen's queue could not take (it
// is unreachable, refused it, or a fence proved it never ran): nothing was
// ordered.
inline constexpr std::string_view kKitchenClosedReply =
    "Sorry, the kitchen is closed, please try again later\n";
// With --kitchen, for a valid order whose fate the server could not find
// out in time (Redis stopped answering after it was sent): it may be on
// the kitchen's queue, so ordering again may make it twice.
inline constexpr std::string_view kKitchenUnsureReply =
    "Sorry, the kitchen did not answer in time: your order may have gone through\n";

// The longest reply the formatter can produce (an order of INT_MAX pizzas).
inline constexpr std::size_t kMaxReplyLength =
    std::string_view("Thank you for ordering  pizzas!\n").size() + 10;

// The outcome of one line: either a valid order of `pizzas` (1..max_order)
// or a wrong number (pizzas == 0).
struct Order {
  int pizzas = 0;

  [[nodiscard]] bool valid() const noexcept { return pizzas > 0; }
  [[nodiscard]] static Order wrong_number() noexcept { return Order{}; }
  friend bool operator==(const Order&, const Order&) = default;
};

// Appends the exact reply for `order` to `out`.
void append_reply(std::string& out, Order order);

// The reply for `order` as a string (convenience for clients and tests).
[[nodiscard]] std::string reply_for(Order order);

// Parses one complete line (without its `\n`; a trailing `\r` is the caller's
// business) as an order. The same rules as OrderParser, for callers that
// already hold whole lines.
[[nodiscard]] Order parse_order_line(std::string_view line, int max_order = kDefaultMaxOrder);

}  // namespace pz::pizza
