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

std::string RedisReply::describe() const {
  constexpr std::size_t kShown = 100;
  switch (kind) {
    case Kind::status:
      return "the status " + text.substr(0, kShown);
    case Kind::error:
      return "the error " + text.substr(0, kShown);
    case Kind::integer:
      return "the integer " + std::to_string(integer);
    case Kind::bulk:
      return "the string " + text.substr(0, kShown);
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
