// pz::RedisReplyReader: RESP2 bytes in, whole RedisReply values out, with a
// bound on what one reply may take. The parsing is hiredis's reader (Debian
// libhiredis-dev, the reference parser); this class adds the bounds and the
// conversion to plain values, and does no I/O, so RedisConnection feeds it
// from its stream and tests/fuzz/redis_reply_fuzz.cpp feeds it anything.
//
//   RedisReplyReader reader;
//   reader.feed(bytes_from_the_socket);
//   while (std::optional<RedisReply> reply = reader.next()) { ... }
//
// The peer is not trusted to be Redis. hiredis keeps a reply's bytes and its
// parsed elements until the reply is whole, so an endless bulk string
// ("$9999999999") or array would take all the memory of the process:
// - feed() refuses bytes that make the reply being parsed (with what is
//   buffered behind it) pass `max_bytes`;
// - next() refuses a reply of more than `max_elements` elements (an array
//   and each value in it count one; each costs hiredis and RedisReply
//   objects of ~150 bytes), checked before hiredis allocates: an array's
//   element pointers are allocated when its count is read, so "*2147483647"
//   alone would cost 16 GB of address space.
// Both throw RedisReplyTooLargeError; bytes that are not RESP make next()
// throw std::runtime_error with hiredis's reason. After either the reader
// is unusable (the connection is to be dropped).
//
// Thread safety: a value used by one thread. Not movable: hiredis holds a
// pointer to the reader's budget.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string_view>

#include "pizzeria/net/redis_reply.hpp"

struct redisReader;

namespace pz {

class RedisReplyReader {
 public:
  // The defaults of RedisConnection: a kitchen's replies are a few hundred
  // bytes and a few dozen elements.
  static constexpr std::size_t kMaxReplyBytes = std::size_t{4} << 20;
  static constexpr std::size_t kMaxReplyElements = std::size_t{1} << 16;

  explicit RedisReplyReader(std::size_t max_bytes = kMaxReplyBytes,
                            std::size_t max_elements = kMaxReplyElements);
  RedisReplyReader(const RedisReplyReader&) = delete;
  RedisReplyReader& operator=(const RedisReplyReader&) = delete;
  ~RedisReplyReader();

  void feed(std::string_view bytes);
  [[nodiscard]] std::optional<RedisReply> next();
  // Bytes fed that no reply has taken yet.
  [[nodiscard]] std::size_t unparsed() const noexcept;

  // What the reply being parsed has taken, against the limits. hiredis
  // hands the reader's privdata (this) to every object function.
  struct Budget {
    std::size_t max_bytes;
    std::size_t max_elements;
    std::size_t bytes = 0;     // fed towards the reply being parsed
    std::size_t elements = 0;  // hiredis objects made for it
    bool refused = false;      // an object function refused: see next()
  };

 private:
  struct ReaderDeleter {
    void operator()(redisReader* reader) const noexcept;
  };

  Budget budget_;
  std::unique_ptr<redisReader, ReaderDeleter> reader_;
};

}  // namespace pz
