// pz::pizza::OrderSession: the protocol side of one connection, shared by every
// server model: bytes in, replies out, with bounded memory.
//
//   read() -> on_input(bytes) -> [OrderParser] -> replies appended
//   write(pending_output()) -> consume_output(n)
//   peer's end of stream -> on_end_of_input()  (answers the unterminated line)
//
// Memory bound: a model reads at most kReadChunk bytes at a time and only while
// wants_input() holds, so pending output never exceeds
// kOutputHighWater + kReadChunk * (longest reply) bytes (about 230 KiB), however
// fast a client pipelines orders without reading the replies.
//
// Thread safety: none; one session per connection.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "pizzeria/pizza/order_parser.hpp"

namespace pz::pizza {

class OrderSession {
 public:
  // Largest read a model should do per call (bytes).
  static constexpr std::size_t kReadChunk = 4096;
  // Models stop reading while at least this many reply bytes are unsent.
  static constexpr std::size_t kOutputHighWater = 64 * 1024;

  explicit OrderSession(int max_order = kDefaultMaxOrder) : parser_(max_order) {}

  // Parses received bytes and queues one reply per completed line.
  void on_input(std::string_view bytes);
  // The peer finished sending: an unterminated final line is answered.
  void on_end_of_input();

  [[nodiscard]] std::string_view pending_output() const noexcept {
    return std::string_view(output_).substr(sent_);
  }
  [[nodiscard]] bool has_pending_output() const noexcept { return sent_ < output_.size(); }
  // Marks the first `bytes` of pending_output() as written.
  void consume_output(std::size_t bytes) noexcept;

  // False while the peer is behind on reading replies (backpressure).
  [[nodiscard]] bool wants_input() const noexcept {
    return output_.size() - sent_ < kOutputHighWater;
  }
  // True while a line has begun but not ended (a request in progress).
  [[nodiscard]] bool in_line() const noexcept { return parser_.in_line(); }
  // Number of lines answered so far.
  [[nodiscard]] std::size_t orders_answered() const noexcept { return answered_; }

 private:
  OrderParser parser_;
  // Replies not yet written start at output_[sent_]; the buffer is compacted
  // lazily so a reply is copied at most once more.
  std::string output_;
  std::size_t sent_ = 0;
  std::size_t answered_ = 0;
};

}  // namespace pz::pizza
