#include "pizzeria/net/redis_credentials.hpp"

#include <cstdlib>
#include <stdexcept>

namespace pz {

namespace {

std::string variable(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

}  // namespace

RedisCredentials RedisCredentials::from_environment() {
  RedisCredentials credentials{.user = variable("PIZZERIA_REDIS_USER"),
                               .password = variable("PIZZERIA_REDIS_PASSWORD")};
  if (!credentials.user.empty() && credentials.password.empty()) {
    throw std::invalid_argument(
        "PIZZERIA_REDIS_USER is set but PIZZERIA_REDIS_PASSWORD is not: Redis's AUTH needs the "
        "user's password");
  }
  return credentials;
}

}  // namespace pz
