// pz::pizza::OrderReplies: what `pizzeria order` makes of the bytes a pizza
// server sends back. The client sent `owed` orders, so it takes `owed`
// reply lines and no more; a line longer than kMaxReplyLine is not a
// reply; a line equal to the busy reply marks the server busy. What the
// server may make the client hold is one reply line, whatever it sends.
//
//   OrderReplies replies(orders);
//   const auto status = replies.feed(received, [](std::string_view line) { print(line); });
//   if (status == OrderReplies::Status::too_many) ...
//
// Fuzzed in tests/fuzz/order_replies_fuzz.cpp. Thread safety: a value.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "pizzeria/pizza/protocol.hpp"

namespace pz::pizza {

class OrderReplies {
 public:
  // The longest reply line taken, newline included: far above any reply of
  // the protocol (the longest is the kitchen's, 53 bytes), far below
  // anything that could matter for memory.
  static constexpr std::size_t kMaxReplyLine = 4096;

  enum class Status {
    reading,        // more replies are owed
    complete,       // every reply is in
    too_many,       // a byte came after the last reply owed
    line_too_long,  // kMaxReplyLine bytes without a newline
  };

  explicit OrderReplies(std::size_t owed) noexcept
      : owed_(owed), status_(owed == 0 ? Status::complete : Status::reading) {}

  // Takes `bytes`, calling on_reply(line) with each whole reply line (its
  // '\n' included), in order. Stops at the first byte that is not
  // acceptable; after too_many or line_too_long, feed takes nothing more.
  template <typename OnReply>
  Status feed(std::string_view bytes, OnReply&& on_reply) {
    for (const char byte : bytes) {
      if (status_ != Status::reading && status_ != Status::complete) {
        break;
      }
      if (replies_ == owed_) {
        status_ = Status::too_many;
        break;
      }
      line_.push_back(byte);
      if (byte == '\n') {
        busy_ = busy_ || line_ == kBusyReply;
        on_reply(std::string_view(line_));
        ++replies_;
        line_.clear();
        if (replies_ == owed_) {
          status_ = Status::complete;
        }
      } else if (line_.size() >= kMaxReplyLine) {
        status_ = Status::line_too_long;
        break;
      }
    }
    return status_;
  }

  [[nodiscard]] Status status() const noexcept { return status_; }
  [[nodiscard]] std::size_t replies() const noexcept { return replies_; }
  [[nodiscard]] std::size_t owed() const noexcept { return owed_; }
  [[nodiscard]] bool busy() const noexcept { return busy_; }
  // Bytes of the reply line begun and not yet ended.
  [[nodiscard]] std::size_t partial() const noexcept { return line_.size(); }

 private:
  std::size_t owed_;
  std::size_t replies_ = 0;
  std::string line_;
  bool busy_ = false;
  Status status_;
};

}  // namespace pz::pizza
