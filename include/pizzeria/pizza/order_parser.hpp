// pz::pizza::OrderParser: the incremental line parser of the pizza protocol.
//
// Feed it whatever byte chunks the socket returned; it calls back once per
// completed line, in order, with the Order that line means. It never stores a
// line: it parses as bytes arrive (a small state machine), so its memory is a
// few integers whatever the client sends, and chunk boundaries cannot change
// the result.
//
//   bytes:  " +7 \r\n" "1001\n" "abc"   <end of stream>
//   orders:  Order{7}   wrong    wrong (finish(): the unterminated final line)
//
// Rules (docs/pizza-service.md, "The protocol"):
// - A line ends at `\n`; one `\r` just before it is ignored. Any other `\r`
//   is an ordinary (invalid) byte.
// - An order is [spaces/tabs] ['+'] digits [spaces/tabs]; valid when
//   1 <= n <= max_order. Leading zeros are fine ("007" is 7); anything else
//   (empty, '-', other bytes, overflow) is a wrong number.
// - A line longer than max_line_length bytes (not counting its line ending)
//   yields one wrong-number order the moment it crosses the limit; the rest of
//   it, up to and including its `\n`, is discarded.
// - At end of stream (finish()), unterminated bytes count as a final line;
//   the discarded tail of an over-long line does not.
//
// Thread safety: none; one parser per connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "pizzeria/pizza/protocol.hpp"

namespace pz::pizza {

class OrderParser {
 public:
  explicit OrderParser(int max_order = kDefaultMaxOrder,
                       std::size_t max_line_length = kMaxLineLength) noexcept
      : max_order_(max_order), max_line_length_(max_line_length) {}

  // Parses `bytes` and calls on_order(Order) for every line they complete.
  template <class OnOrder>
  void feed(std::string_view bytes, OnOrder&& on_order) {
    for (const char byte : bytes) {
      if (const Event event = step(byte); event != Event::kNone) {
        on_order(event == Event::kValid ? Order{static_cast<int>(value_)} : Order::wrong_number());
        if (event != Event::kOverLong) {
          reset_line();
        }
      }
    }
  }

  // End of stream: calls on_order once if an unterminated line is pending.
  // The parser is then ready for a new stream.
  template <class OnOrder>
  void finish(OnOrder&& on_order) {
    if (const Event event = end_of_stream(); event != Event::kNone) {
      on_order(event == Event::kValid ? Order{static_cast<int>(value_)} : Order::wrong_number());
    }
    reset_line();
  }

  // True when bytes of an unfinished line are pending (so finish() would
  // answer them, or the tail of an over-long line is being discarded).
  [[nodiscard]] bool in_line() const noexcept {
    return length_ > 0 || pending_cr_ || state_ == State::kDiscarding;
  }

  [[nodiscard]] int max_order() const noexcept { return max_order_; }
  [[nodiscard]] std::size_t max_line_length() const noexcept { return max_line_length_; }

 private:
  enum class State : std::uint8_t {
    kLeadingBlanks,   // only spaces/tabs so far
    kAfterSign,       // saw '+', a digit must follow
    kDigits,          // inside the number
    kTrailingBlanks,  // number done, only spaces/tabs may follow
    kInvalid,         // the line is already a wrong number; wait for its end
    kDiscarding,      // over-long line already answered; drop bytes to '\n'
  };
  enum class Event : std::uint8_t { kNone, kValid, kWrong, kOverLong };

  Event step(char byte) noexcept;
  Event end_of_stream() noexcept;
  Event end_of_line() const noexcept;
  // Consumes one byte of line content; may report the line as over-long.
  Event content(char byte) noexcept;
  void reset_line() noexcept;

  int max_order_;
  std::size_t max_line_length_;
  State state_ = State::kLeadingBlanks;
  // A '\r' seen last: ignored if '\n' follows, line content otherwise.
  bool pending_cr_ = false;
  // Bytes of the current line consumed so far (line ending excluded).
  std::size_t length_ = 0;
  // The number so far, saturated at max_order + 1 so it cannot overflow.
  std::int64_t value_ = 0;
};

}  // namespace pz::pizza
