#include "pizzeria/core/poller.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <system_error>

#include "support/poller_kinds.hpp"
#include "support/socket_pair.hpp"

using namespace std::chrono_literals;

namespace pz {
namespace {

class PollerTest : public ::testing::TestWithParam<PollerKind> {
 protected:
  std::unique_ptr<Poller> poller_ = make_poller(GetParam());
  test::SocketPair pair_ = test::make_socket_pair();
  std::array<PollEvent, 8> events_{};
};

INSTANTIATE_TEST_SUITE_P(Backends, PollerTest, test::kAllPollers, test::PollerName{});

TEST_P(PollerTest, ReportsItsKind) {
  EXPECT_EQ(poller_->kind(), GetParam());
}

TEST_P(PollerTest, WaitWithZeroTimeoutReturnsAtOnceWhenNothingIsReady) {
  poller_->add(pair_.left.get(), Interest::readable, 42);
  EXPECT_EQ(poller_->wait(events_, 0ns), 0U);
}

TEST_P(PollerTest, ReturnsTheTokenOfTheReadyFd) {
  poller_->add(pair_.left.get(), Interest::readable, 42);
  ASSERT_EQ(::write(pair_.right.get(), "x", 1), 1);
  ASSERT_EQ(poller_->wait(events_, 1s), 1U);
  EXPECT_EQ(events_[0].token, 42U);
  EXPECT_TRUE(events_[0].events.readable);
  EXPECT_FALSE(events_[0].events.writable);
}

TEST_P(PollerTest, ModifyChangesInterestAndToken) {
  poller_->add(pair_.left.get(), Interest::readable, 1);
  poller_->modify(pair_.left.get(), Interest::writable, 2);
  ASSERT_EQ(poller_->wait(events_, 1s), 1U);
  EXPECT_EQ(events_[0].token, 2U);
  EXPECT_TRUE(events_[0].events.writable);
}

TEST_P(PollerTest, RemovedFdsAreNotReported) {
  poller_->add(pair_.left.get(), Interest::writable, 1);
  poller_->remove(pair_.left.get());
  EXPECT_EQ(poller_->wait(events_, 0ns), 0U);
  poller_->remove(pair_.left.get());  // removing twice is harmless
}

TEST_P(PollerTest, AddingAnFdTwiceIsAnError) {
  poller_->add(pair_.left.get(), Interest::readable, 1);
  EXPECT_THROW(poller_->add(pair_.left.get(), Interest::readable, 1), std::system_error);
}

TEST_P(PollerTest, TheTimeoutIsHonoured) {
  poller_->add(pair_.left.get(), Interest::readable, 1);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(poller_->wait(events_, 2ms), 0U);
  // Not a timing assertion on speed: only that it did not return early.
  EXPECT_GE(std::chrono::steady_clock::now() - start, 2ms);
}

}  // namespace
}  // namespace pz
