// LoadOptions that cannot work are refused before anything is allocated or
// connected (check_load_options), with a message that says why.
#include <gtest/gtest.h>

#include <string>

#include "pizzeria/pizza/load_generator.hpp"

namespace pz {
namespace {

LoadOptions valid_options() {
  LoadOptions options;
  options.target = SocketAddress::parse("127.0.0.1", 12345);
  return options;
}

TEST(LoadOptionsLimits, RefusesMoreRequestsInFlightThanItWouldAllocateInTime) {
  LoadOptions options = valid_options();
  options.connections = 2;
  options.pipeline = 100'000'000;
  EXPECT_EQ(check_load_options(options),
            "--pipeline 100000000 on 2 connection(s) would keep more than 10000000 requests in "
            "flight; use a smaller window");
}

TEST(LoadOptionsLimits, AcceptsAWindowAsLargeAsTheLimit) {
  LoadOptions options = valid_options();
  options.connections = 10;
  options.pipeline = 1'000'000;
  EXPECT_EQ(check_load_options(options), "");
}

}  // namespace
}  // namespace pz
