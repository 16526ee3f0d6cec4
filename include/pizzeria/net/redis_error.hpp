// pz::RedisError: a Redis server answered a command with an error reply that
// the caller did not expect (RedisReply::or_throw). Failures of the
// connection itself (refused, reset, closed, a reply that is not RESP) are
// std::system_error or std::runtime_error, as for any stream.
#pragma once

#include <stdexcept>
#include <string>

namespace pz {

class RedisError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace pz
