#include "pizzeria/net/redis_reply.hpp"

#include <utility>

#include "pizzeria/net/redis_error.hpp"

namespace pz {

const RedisReply& RedisReply::or_throw(std::string_view what) const& {
  if (is_error()) {
    throw RedisError(std::string(what) + " failed: the Redis server replied " + text);
  }
  return *this;
}

RedisReply&& RedisReply::or_throw(std::string_view what) && {
  static_cast<const RedisReply&>(*this).or_throw(what);
  return std::move(*this);
}

}  // namespace pz
