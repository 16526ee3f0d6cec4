#include "pizzeria/net/redis_reply.hpp"

#include <utility>

#include "pizzeria/core/loggable_text.hpp"
#include "pizzeria/net/redis_error.hpp"

namespace pz {

const RedisReply& RedisReply::or_throw(std::string_view what) const& {
  if (is_error()) {
    throw RedisError(std::string(what) + " failed: the Redis server replied " +
                     loggable_text(text));
  }
  return *this;
}

std::string RedisReply::describe() const {
  // Escaped and cut: the reply may come from a peer that is not Redis.
  constexpr std::size_t kShown = 100;
  switch (kind) {
    case Kind::status:
      return "the status " + loggable_text(text, kShown);
    case Kind::error:
      return "the error " + loggable_text(text, kShown);
    case Kind::integer:
      return "the integer " + std::to_string(integer);
    case Kind::bulk:
      return "the string " + loggable_text(text, kShown);
    case Kind::nil:
      return "nil";
    case Kind::array:
      return "an array of " + std::to_string(elements.size());
  }
  return "an unknown reply";
}

RedisReply&& RedisReply::or_throw(std::string_view what) && {
  static_cast<const RedisReply&>(*this).or_throw(what);
  return std::move(*this);
}

}  // namespace pz
