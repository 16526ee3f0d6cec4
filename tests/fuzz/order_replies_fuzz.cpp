// libFuzzer target for OrderReplies, what `pizzeria order` makes of a pizza
// server's bytes. Byte 0 is the number of orders sent, byte 1 the size of
// the recvs the bytes arrive in; the rest is what the server sends.
// Invariants, checked against the bytes themselves:
// - every reply handed out is one line, '\n' last, under the line bound;
// - no more replies than orders, and too_many exactly when a byte follows
//   the last reply owed; line_too_long exactly at kMaxReplyLine bytes
//   without a newline;
// - the replies are the bytes received, in order;
// - how the bytes are cut into recvs changes nothing.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "pizzeria/pizza/order_replies.hpp"

namespace {

using pz::pizza::OrderReplies;

void check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "order_replies_fuzz: invariant failed: %s\n", what);
    std::abort();
  }
}

struct Seen {
  std::vector<std::string> lines;
  OrderReplies::Status status;
  std::size_t partial;
  bool busy;
};

Seen read(std::string_view bytes, std::size_t owed, std::size_t chunk) {
  OrderReplies replies(owed);
  Seen seen{};
  seen.status = OrderReplies::Status::reading;
  while (!bytes.empty()) {
    const std::size_t length = std::min(chunk, bytes.size());
    seen.status = replies.feed(bytes.substr(0, length),
                               [&](std::string_view line) { seen.lines.emplace_back(line); });
    bytes.remove_prefix(length);
    if (seen.status == OrderReplies::Status::too_many ||
        seen.status == OrderReplies::Status::line_too_long) {
      break;
    }
  }
  seen.status = replies.status();
  seen.partial = replies.partial();
  seen.busy = replies.busy();
  check(replies.replies() == seen.lines.size(), "every reply counted is handed out");
  return seen;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) {
    return 0;
  }
  const std::size_t owed = data[0] % 32;
  const std::size_t chunk = data[1] % 64 + 1;
  std::string stream(reinterpret_cast<const char*>(data) + 2, size - 2);
  if (data[1] >= 192 && !stream.empty()) {
    // Now and then a line at the bound, which random bytes almost never make.
    stream.insert(0, OrderReplies::kMaxReplyLine - 1, stream.back() == '\n' ? 'x' : stream.back());
  }
  const Seen seen = read(stream, owed, chunk);

  std::string joined;
  bool busy = false;
  for (const std::string& line : seen.lines) {
    check(!line.empty() && line.back() == '\n', "a reply ends its line");
    check(line.find('\n') == line.size() - 1, "a reply is one line");
    check(line.size() <= OrderReplies::kMaxReplyLine, "a reply is within the line bound");
    busy = busy || line == pz::pizza::kBusyReply;
    joined += line;
  }
  check(seen.lines.size() <= owed, "no more replies than orders");
  check(busy == seen.busy, "busy exactly when a reply is the busy reply");
  check(std::string_view(stream).substr(0, joined.size()) == joined,
        "the replies are the bytes received");
  const std::string_view rest = std::string_view(stream).substr(joined.size());
  switch (seen.status) {
    case OrderReplies::Status::complete:
      check(seen.lines.size() == owed && rest.empty(), "complete: every reply, nothing after");
      break;
    case OrderReplies::Status::too_many:
      check(seen.lines.size() == owed && !rest.empty(), "too many: a byte after the last reply");
      break;
    case OrderReplies::Status::line_too_long:
      check(seen.partial == OrderReplies::kMaxReplyLine &&
                rest.substr(0, seen.partial).find('\n') == std::string_view::npos,
            "too long: the bound reached without a newline");
      break;
    case OrderReplies::Status::reading:
      check(seen.lines.size() < owed && rest.size() == seen.partial &&
                rest.find('\n') == std::string_view::npos,
            "reading: a reply still owed, the rest its unended line");
      break;
  }
  const Seen whole = read(stream, owed, stream.size() + 1);
  check(whole.lines == seen.lines && whole.status == seen.status && whole.partial == seen.partial,
        "the cut of the recvs does not change the replies");
  return 0;
}
