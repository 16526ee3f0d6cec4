// libFuzzer target for RedisReplyReader, what RedisConnection (and so the
// kitchen and `serve --kitchen`) makes of the bytes a Redis server, or
// anything pretending to be one, sends.
//
// Byte 0 picks the element limit, byte 1 the chunk size the bytes are fed
// in; the rest is the server's bytes. Invariants:
// - only RedisReplyTooLargeError or std::runtime_error (not RESP) escape;
// - no reply has more elements than the limit;
// - each reply, written back as RESP, parses to itself;
// - how the bytes are cut into feeds changes nothing: fed whole, the same
//   replies come out, and the same failure or none.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "pizzeria/net/redis_reply.hpp"
#include "pizzeria/net/redis_reply_reader.hpp"
#include "pizzeria/net/redis_reply_too_large_error.hpp"

namespace {

using pz::RedisReply;

void check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "redis_reply_fuzz: invariant failed: %s\n", what);
    std::abort();
  }
}

std::size_t elements_of(const RedisReply& reply) {
  std::size_t count = 1;
  for (const RedisReply& element : reply.elements) {
    count += elements_of(element);
  }
  return count;
}

void encode(std::string& out, const RedisReply& reply) {
  switch (reply.kind) {
    case RedisReply::Kind::status:
      out += "+" + reply.text + "\r\n";
      break;
    case RedisReply::Kind::error:
      out += "-" + reply.text + "\r\n";
      break;
    case RedisReply::Kind::integer:
      out += ":" + std::to_string(reply.integer) + "\r\n";
      break;
    case RedisReply::Kind::bulk:
      out += "$" + std::to_string(reply.text.size()) + "\r\n" + reply.text + "\r\n";
      break;
    case RedisReply::Kind::nil:
      out += "$-1\r\n";
      break;
    case RedisReply::Kind::array:
      out += "*" + std::to_string(reply.elements.size()) + "\r\n";
      for (const RedisReply& element : reply.elements) {
        encode(out, element);
      }
      break;
  }
}

struct Outcome {
  std::vector<RedisReply> replies;
  int failure = 0;  // 0 none, 1 too large, 2 not RESP
};

Outcome read_all(std::string_view bytes, std::size_t chunk, std::size_t max_elements) {
  Outcome outcome;
  pz::RedisReplyReader reader(pz::RedisReplyReader::kMaxReplyBytes, max_elements);
  try {
    while (!bytes.empty()) {
      const std::size_t length = std::min(chunk, bytes.size());
      reader.feed(bytes.substr(0, length));
      bytes.remove_prefix(length);
      while (auto reply = reader.next()) {
        outcome.replies.push_back(std::move(*reply));
      }
    }
  } catch (const pz::RedisReplyTooLargeError&) {
    outcome.failure = 1;
  } catch (const std::runtime_error&) {
    outcome.failure = 2;
  }
  return outcome;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) {
    return 0;
  }
  const std::size_t max_elements = data[0] % 64 + 1;
  const std::size_t chunk = data[1] % 16 + 1;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 2, size - 2);

  const Outcome chunked = read_all(bytes, chunk, max_elements);
  for (const RedisReply& reply : chunked.replies) {
    check(elements_of(reply) <= max_elements, "a reply stays within the element limit");
    std::string written;
    encode(written, reply);
    pz::RedisReplyReader again;
    again.feed(written);
    const auto parsed = again.next();
    check(parsed.has_value() && *parsed == reply, "a reply written back parses to itself");
    check(again.unparsed() == 0, "a reply written back is read whole");
    (void)reply.describe();
  }
  const Outcome whole = read_all(bytes, bytes.size() + 1, max_elements);
  check(whole.replies == chunked.replies, "the cut of the feeds does not change the replies");
  check(whole.failure == chunked.failure, "the cut of the feeds does not change the failure");
  return 0;
}
