// libFuzzer target for the pizza protocol parser (OrderParser, OrderSession).
//
// Input layout: byte 0 picks the line limit, byte 1 the maximum order, bytes
// 2..9 seed the chunking; the rest is the byte stream a client sends.
// Invariants checked on every input:
// 1. One order per line: as many orders as '\n'-terminated lines, plus one for
//    non-empty unterminated bytes at the end.
// 2. Each order agrees with an independent, deliberately naive reference that
//    works on whole lines (split, strip, compare digit strings).
// 3. Chunking independence: the same bytes fed in pseudo-random chunks give
//    exactly the same orders, and OrderSession emits exactly their replies.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "pizzeria/pizza/order_parser.hpp"
#include "pizzeria/pizza/order_session.hpp"
#include "pizzeria/pizza/protocol.hpp"

namespace {

using pz::pizza::Order;

void check(bool condition, const char* what) {
  if (!condition) {
    __builtin_fprintf(stderr, "pizza_protocol_fuzz: invariant failed: %s\n", what);
    std::abort();
  }
}

// The reference: whole-line rules written as plainly as possible.
Order reference_order(std::string_view line, std::size_t max_line, int max_order) {
  if (line.size() > max_line) {
    return Order::wrong_number();
  }
  const auto blank = [](char c) { return c == ' ' || c == '\t'; };
  while (!line.empty() && blank(line.front())) {
    line.remove_prefix(1);
  }
  while (!line.empty() && blank(line.back())) {
    line.remove_suffix(1);
  }
  if (!line.empty() && line.front() == '+') {
    line.remove_prefix(1);
  }
  if (line.empty()) {
    return Order::wrong_number();
  }
  for (const char c : line) {
    if (c < '0' || c > '9') {
      return Order::wrong_number();
    }
  }
  while (line.size() > 1 && line.front() == '0') {
    line.remove_prefix(1);
  }
  if (line.size() > 9) {  // certainly above any int max_order we use
    return Order::wrong_number();
  }
  const long value = std::strtol(std::string(line).c_str(), nullptr, 10);
  return value >= 1 && value <= max_order ? Order{static_cast<int>(value)} : Order::wrong_number();
}

std::vector<Order> reference_orders(std::string_view stream, std::size_t max_line, int max_order) {
  std::vector<Order> orders;
  while (!stream.empty()) {
    const auto newline = stream.find('\n');
    std::string_view line = stream.substr(0, newline);
    if (newline != std::string_view::npos && !line.empty() && line.back() == '\r') {
      line.remove_suffix(1);  // "\r\n" ends the line; a final lone '\r' does not
    }
    orders.push_back(reference_order(line, max_line, max_order));
    if (newline == std::string_view::npos) {
      break;
    }
    stream.remove_prefix(newline + 1);
  }
  return orders;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 10) {
    return 0;
  }
  // Small limits make over-long lines (and their discarded tails) common.
  const std::size_t max_line = data[0] == 0 ? pz::pizza::kMaxLineLength : data[0] % 64 + 1;
  const int max_order = data[1] == 0 ? pz::pizza::kDefaultMaxOrder : data[1];
  std::uint64_t seed = 0;
  for (std::size_t i = 2; i < 10; ++i) {
    seed = seed << 8 | data[i];
  }
  const std::string_view stream(reinterpret_cast<const char*>(data) + 10, size - 10);

  std::vector<Order> whole;
  pz::pizza::OrderParser parser(max_order, max_line);
  const auto into_whole = [&](Order order) { whole.push_back(order); };
  parser.feed(stream, into_whole);
  parser.finish(into_whole);

  const std::vector<Order> expected = reference_orders(stream, max_line, max_order);
  check(whole.size() == expected.size(), "one order per line");
  check(whole == expected, "orders agree with the whole-line reference");

  std::vector<Order> chunked;
  pz::pizza::OrderParser chunk_parser(max_order, max_line);
  const auto into_chunked = [&](Order order) { chunked.push_back(order); };
  std::string_view rest = stream;
  while (!rest.empty()) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;  // an LCG is plenty here
    const std::size_t length = std::min<std::size_t>(rest.size(), (seed >> 33) % 17);
    chunk_parser.feed(rest.substr(0, length), into_chunked);
    rest.remove_prefix(length);
  }
  chunk_parser.finish(into_chunked);
  check(chunked == whole, "chunking does not change the orders");

  if (max_line == pz::pizza::kMaxLineLength) {
    pz::pizza::OrderSession session(max_order);
    std::string expected_replies;
    for (const Order order : whole) {
      pz::pizza::append_reply(expected_replies, order);
    }
    for (std::size_t offset = 0; offset < stream.size(); offset += 7) {
      session.on_input(stream.substr(offset, 7));
    }
    session.on_end_of_input();
    check(session.pending_output() == expected_replies, "the session emits exactly the replies");
    check(session.orders_answered() == whole.size(), "the session counts every order");
  }
  return 0;
}
