// pz::RedisReplyTooLargeError: a reply was larger than pz::RedisConnection
// takes (RedisConnection::kMaxReplyBytes bytes, or kMaxReplyElements
// elements). The rest of the reply was never read, so the connection is
// broken. The command whose reply it was raises this type; commands queued
// behind it on the same connection raise the plain std::runtime_error of a
// broken connection. A caller that asked for one thing (one stream entry,
// say) therefore knows that this thing cannot be read through this client,
// and can deal with it instead of asking again for ever: `pizzeria kitchen`
// deletes such an entry unread.
#pragma once

#include <stdexcept>

namespace pz {

class RedisReplyTooLargeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace pz
