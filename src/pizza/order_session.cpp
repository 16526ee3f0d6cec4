#include "pizzeria/pizza/order_session.hpp"

namespace pz::pizza {

void OrderSession::on_input(std::string_view bytes) {
  parser_.feed(bytes, [this](Order order) {
    append_reply(output_, order);
    ++answered_;
  });
}

void OrderSession::on_end_of_input() {
  parser_.finish([this](Order order) {
    append_reply(output_, order);
    ++answered_;
  });
}

void OrderSession::consume_output(std::size_t bytes) noexcept {
  sent_ += bytes;
  if (sent_ >= output_.size()) {
    output_.clear();
    sent_ = 0;
  } else if (sent_ >= output_.size() / 2) {
    // Drop the written half so the buffer does not creep forward forever.
    output_.erase(0, sent_);
    sent_ = 0;
  }
}

}  // namespace pz::pizza
