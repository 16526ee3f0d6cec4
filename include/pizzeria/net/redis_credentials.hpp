// pz::RedisCredentials: what a RedisConnection says to a Redis that wants a
// password (`requirepass`, or an ACL user since Redis 6): it sends
// AUTH [user] password as the first command on every connection it opens.
//
//   pz::RedisCredentials who = pz::RedisCredentials::from_environment();
//   auto redis = co_await pz::RedisConnection::open("10.0.0.5", 6379, who);
//
// The pizzeria commands take them from the environment, not from their
// command line, which every user of the machine can read (ps, /proc), as
// redis-cli does with REDISCLI_AUTH.
#pragma once

#include <string>

namespace pz {

struct RedisCredentials {
  std::string user;      // an ACL user; empty: Redis's default user
  std::string password;  // empty: no AUTH is sent

  [[nodiscard]] bool empty() const noexcept { return password.empty(); }

  // PIZZERIA_REDIS_USER and PIZZERIA_REDIS_PASSWORD, each empty when unset.
  // Throws std::invalid_argument for a user without a password (AUTH needs
  // one).
  [[nodiscard]] static RedisCredentials from_environment();
};

}  // namespace pz
