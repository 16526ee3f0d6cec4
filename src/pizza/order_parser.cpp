#include "pizzeria/pizza/order_parser.hpp"

namespace pz::pizza {

namespace {

bool is_blank(char byte) noexcept {
  return byte == ' ' || byte == '\t';
}
bool is_digit(char byte) noexcept {
  return byte >= '0' && byte <= '9';
}

}  // namespace

OrderParser::Event OrderParser::step(char byte) noexcept {
  if (byte == '\n') {
    if (state_ == State::kDiscarding) {
      // The over-long line was answered when it crossed the limit.
      reset_line();
      return Event::kNone;
    }
    pending_cr_ = false;  // "\r\n": the '\r' belongs to the line ending
    return end_of_line();
  }
  if (state_ == State::kDiscarding) {
    return Event::kNone;
  }
  if (pending_cr_) {
    // No '\n' after the '\r': it was an ordinary byte of the line.
    pending_cr_ = false;
    if (const Event event = content('\r'); event != Event::kNone) {
      return event;  // over-long; `byte` belongs to the discarded tail
    }
  }
  if (byte == '\r') {
    pending_cr_ = true;
    return Event::kNone;
  }
  return content(byte);
}

OrderParser::Event OrderParser::content(char byte) noexcept {
  ++length_;
  if (length_ > max_line_length_) {
    state_ = State::kDiscarding;
    return Event::kOverLong;
  }
  switch (state_) {
    case State::kLeadingBlanks:
      if (is_blank(byte)) {
        break;
      }
      if (byte == '+') {
        state_ = State::kAfterSign;
        break;
      }
      [[fallthrough]];
    case State::kAfterSign:
      if (is_digit(byte)) {
        state_ = State::kDigits;
        value_ = byte - '0';
      } else {
        state_ = State::kInvalid;
      }
      break;
    case State::kDigits:
      if (is_digit(byte)) {
        // Saturate just above the limit: the exact value of a too-large
        // number does not matter, and 2^70 must not overflow.
        const std::int64_t limit = static_cast<std::int64_t>(max_order_) + 1;
        value_ = value_ * 10 + (byte - '0');
        if (value_ > limit) {
          value_ = limit;
        }
      } else if (is_blank(byte)) {
        state_ = State::kTrailingBlanks;
      } else {
        state_ = State::kInvalid;
      }
      break;
    case State::kTrailingBlanks:
      if (!is_blank(byte)) {
        state_ = State::kInvalid;
      }
      break;
    case State::kInvalid:
    case State::kDiscarding:
      break;
  }
  return Event::kNone;
}

OrderParser::Event OrderParser::end_of_line() const noexcept {
  const bool number = state_ == State::kDigits || state_ == State::kTrailingBlanks;
  return number && value_ >= 1 && value_ <= max_order_ ? Event::kValid : Event::kWrong;
}

OrderParser::Event OrderParser::end_of_stream() noexcept {
  if (state_ == State::kDiscarding) {
    return Event::kNone;
  }
  if (pending_cr_) {
    // A '\r' at end of stream has no '\n' after it: it is line content.
    pending_cr_ = false;
    if (const Event event = content('\r'); event != Event::kNone) {
      return event;
    }
  }
  return length_ == 0 ? Event::kNone : end_of_line();
}

void OrderParser::reset_line() noexcept {
  state_ = State::kLeadingBlanks;
  pending_cr_ = false;
  length_ = 0;
  value_ = 0;
}

}  // namespace pz::pizza
