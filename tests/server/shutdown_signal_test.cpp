#include "pizzeria/server/shutdown_signal.hpp"

#include <gtest/gtest.h>
#include <poll.h>

#include <thread>

namespace pz {
namespace {

bool readable(int fd) {
  pollfd entry{fd, POLLIN, 0};
  return ::poll(&entry, 1, 0) == 1 && (entry.revents & POLLIN) != 0;
}

TEST(ShutdownSignal, StartsUnrequestedAndQuiet) {
  ShutdownSignal signal;
  EXPECT_FALSE(signal.requested());
  EXPECT_FALSE(readable(signal.fd()));
}

TEST(ShutdownSignal, WakesWaitersFromAnotherThreadAndStaysReadable) {
  ShutdownSignal signal;
  std::thread requester([&] { signal.request(); });
  pollfd entry{signal.fd(), POLLIN, 0};
  ASSERT_EQ(::poll(&entry, 1, -1), 1);
  requester.join();
  EXPECT_TRUE(signal.requested());
  // Any number of waiters, at any later time, see it.
  EXPECT_TRUE(readable(signal.fd()));
  EXPECT_TRUE(readable(signal.fd()));
}

TEST(ShutdownSignal, KeepsTheTimeOfTheFirstRequest) {
  ShutdownSignal signal;
  const auto before = std::chrono::steady_clock::now();
  signal.request();
  const auto first = signal.requested_at();
  signal.request();
  EXPECT_EQ(signal.requested_at(), first);
  EXPECT_GE(first, before);
  EXPECT_LE(first, std::chrono::steady_clock::now());
}

}  // namespace
}  // namespace pz
