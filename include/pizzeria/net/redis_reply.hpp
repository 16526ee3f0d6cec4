// pz::RedisReply: one reply of a Redis server (RESP2), as a plain value.
//
//   RedisReply reply = co_await redis.command({"XADD", "orders", "*", "pizzas", "3"});
//   if (reply.is_error()) ...            // "-ERR ..." replies are values, not throws
//   std::string id = reply.text;         // a bulk string
//
// The server's error replies ("-ERR wrong number of arguments") come back as
// replies of kind `error`, not as exceptions: many callers expect some
// (BUSYGROUP when a consumer group exists already). or_throw() turns one into
// a RedisError for callers that expect none.
//
// Thread safety: a value; no sharing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pz {

struct RedisReply {
  enum class Kind : std::uint8_t { status, error, integer, bulk, nil, array };

  Kind kind = Kind::nil;
  std::string text;                  // status, error and bulk replies
  std::int64_t integer = 0;          // integer replies
  std::vector<RedisReply> elements;  // array replies

  [[nodiscard]] bool is_error() const noexcept { return kind == Kind::error; }
  [[nodiscard]] bool is_nil() const noexcept { return kind == Kind::nil; }

  // This reply, or a RedisError naming `what` and the server's message.
  const RedisReply& or_throw(std::string_view what) const&;
  RedisReply&& or_throw(std::string_view what) &&;

  // What this reply is, for messages about a reply of the wrong shape:
  // "the integer 5", "the string 1-1", "an array of 3", "nil". Texts are cut
  // to 100 bytes and escaped (pz::loggable_text): the reply may come from a
  // peer that is not Redis.
  [[nodiscard]] std::string describe() const;

  friend bool operator==(const RedisReply&, const RedisReply&) = default;
};

}  // namespace pz
