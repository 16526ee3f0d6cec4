// libFuzzer target for what the kitchen makes of a Redis reply: the bytes go
// through RedisReplyReader, as on a kitchen's connection, and every reply
// that comes out is read as the kitchen reads XREADGROUP, XRANGE and XADD
// answers (StreamEntry), and described as its log lines describe them.
// Invariants: no crash, no exception; a log line stays bounded (the entry's
// fields and the reply's text are cut and escaped: no control byte gets
// into the log).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

#include "pizzeria/net/redis_reply.hpp"
#include "pizzeria/net/redis_reply_reader.hpp"
#include "pizzeria/pizza/stream_entry.hpp"

namespace {

using pz::RedisReply;
using pz::pizza::StreamEntry;

void check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "kitchen_reply_fuzz: invariant failed: %s\n", what);
    std::abort();
  }
}

void check_loggable(const std::string& line, std::size_t bound) {
  check(line.size() <= bound, "a described reply is bounded");
  for (const char c : line) {
    check(c >= 0x20 && c < 0x7F, "a described reply holds printable bytes only");
  }
}

// Every way the kitchen reads a reply, on `reply` and on what it holds.
void read_as_kitchen(RedisReply reply) {
  check_loggable(reply.describe(), 200);
  (void)StreamEntry::is_id(reply);
  RedisReply copy = reply;
  if (auto entry = StreamEntry::from_reply(copy)) {
    (void)entry->pizzas();
    check_loggable(entry->describe_fields(), 1000);
  }
  // XREADGROUP: [[stream, [entry]]]; XRANGE: [entry]; XAUTOCLAIM: [cursor,
  // [ids], ...]: each element of an array is read in turn.
  if (reply.kind == RedisReply::Kind::array) {
    for (RedisReply& element : reply.elements) {
      read_as_kitchen(std::move(element));
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  pz::RedisReplyReader reader(pz::RedisReplyReader::kMaxReplyBytes, 256);
  try {
    reader.feed(std::string_view(reinterpret_cast<const char*>(data), size));
    while (auto reply = reader.next()) {
      read_as_kitchen(std::move(*reply));
    }
  } catch (const std::runtime_error&) {
    // Too large or not RESP: the kitchen drops the connection.
  }
  return 0;
}
