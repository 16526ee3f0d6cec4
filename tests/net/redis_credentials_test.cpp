#include "pizzeria/net/redis_credentials.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <stdexcept>

namespace pz {
namespace {

TEST(RedisCredentials, ComeFromTheEnvironmentAndAreEmptyWithoutIt) {
  ::unsetenv("PIZZERIA_REDIS_USER");
  ::unsetenv("PIZZERIA_REDIS_PASSWORD");
  EXPECT_TRUE(RedisCredentials::from_environment().empty());
  ::setenv("PIZZERIA_REDIS_PASSWORD", "secret", 1);
  RedisCredentials credentials = RedisCredentials::from_environment();
  EXPECT_FALSE(credentials.empty());
  EXPECT_EQ(credentials.user, "");
  EXPECT_EQ(credentials.password, "secret");
  ::setenv("PIZZERIA_REDIS_USER", "oven", 1);
  credentials = RedisCredentials::from_environment();
  EXPECT_EQ(credentials.user, "oven");
  EXPECT_EQ(credentials.password, "secret");
  ::unsetenv("PIZZERIA_REDIS_PASSWORD");
  EXPECT_THROW((void)RedisCredentials::from_environment(), std::invalid_argument);
  ::unsetenv("PIZZERIA_REDIS_USER");
}

}  // namespace
}  // namespace pz
