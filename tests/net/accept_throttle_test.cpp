// pz::AcceptThrottle over a real loopback listener, at the descriptor limit
// (RLIMIT_NOFILE lowered to the next free descriptor, so accept4 fails with
// EMFILE while a client waits in the backlog).
#include "pizzeria/net/accept_throttle.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

#include "pizzeria/net/listen_socket.hpp"
#include "pizzeria/net/socket_address.hpp"
#include "pizzeria/net/socket_ops.hpp"

namespace pz {
namespace {

using namespace std::chrono_literals;

int lowest_free_fd() {
  const int probe = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ::close(probe);
  return probe;
}

// Lowers RLIMIT_NOFILE so that no descriptor is left; restores it when
// destroyed.
class NoDescriptorsLeft {
 public:
  NoDescriptorsLeft() {
    ::getrlimit(RLIMIT_NOFILE, &original_);
    rlimit tight = original_;
    tight.rlim_cur = static_cast<rlim_t>(lowest_free_fd());
    ok_ = ::setrlimit(RLIMIT_NOFILE, &tight) == 0;
  }
  NoDescriptorsLeft(const NoDescriptorsLeft&) = delete;
  NoDescriptorsLeft& operator=(const NoDescriptorsLeft&) = delete;
  ~NoDescriptorsLeft() { ::setrlimit(RLIMIT_NOFILE, &original_); }
  [[nodiscard]] bool ok() const noexcept { return ok_; }

 private:
  rlimit original_{};
  bool ok_ = false;
};

struct Listener {
  UniqueFd fd = open_listen_socket(SocketAddress::parse("127.0.0.1", 0), {.non_blocking = true});
  SocketAddress address = SocketAddress::local_of(fd.get());
};

TEST(AcceptThrottle, AcceptsAPendingClientAndSaysNoneWhenTheBacklogIsEmpty) {
  Listener listener;
  AcceptThrottle throttle;
  const UniqueFd client = connect_tcp(listener.address);
  const TimePoint now{};
  AcceptThrottle::Result first = throttle.accept(listener.fd.get(), now);
  EXPECT_EQ(first.outcome, AcceptThrottle::Outcome::accepted);
  EXPECT_TRUE(first.client);
  AcceptThrottle::Result second = throttle.accept(listener.fd.get(), now);
  EXPECT_EQ(second.outcome, AcceptThrottle::Outcome::none);
  EXPECT_EQ(second.error, EAGAIN);
  EXPECT_EQ(throttle.pauses(), 0U);
}

TEST(AcceptThrottle, WithASpareItTakesTheClientToRefuseItAtTheDescriptorLimit) {
  Listener listener;
  std::vector<std::string> lines;
  AcceptThrottle throttle({.keep_spare = true,
                           .label = "test",
                           .log = [&lines](std::string_view line) { lines.emplace_back(line); }});
  const UniqueFd client = connect_tcp(listener.address);
  AcceptThrottle::Result result;
  {
    const NoDescriptorsLeft limit;
    ASSERT_TRUE(limit.ok());
    result = throttle.accept(listener.fd.get(), TimePoint{});
  }
  EXPECT_EQ(result.outcome, AcceptThrottle::Outcome::refuse);
  EXPECT_EQ(result.error, EMFILE);
  EXPECT_TRUE(result.client);
  EXPECT_TRUE(lines.empty());
}

// The spin the throttle exists to prevent: at the limit without a spare
// (or when the spare's slot was taken), every wake-up would fail again. The
// throttle pauses instead, and during the pause it makes no accept4 call at
// all: the client stays queued however often a careless caller asks.
TEST(AcceptThrottle, WithoutASpareItPausesAndDoesNotRetryUntilThePauseEnds) {
  Listener listener;
  std::vector<std::string> lines;
  AcceptThrottle throttle({.first_pause = 10ms,
                           .last_pause = 40ms,
                           .keep_spare = false,
                           .label = "test",
                           .log = [&lines](std::string_view line) { lines.emplace_back(line); }});
  const UniqueFd client = connect_tcp(listener.address);
  const TimePoint start{std::chrono::seconds(100)};
  {
    const NoDescriptorsLeft limit;
    ASSERT_TRUE(limit.ok());
    EXPECT_EQ(throttle.accept(listener.fd.get(), start).outcome, AcceptThrottle::Outcome::paused);
    for (int i = 0; i < 1000; ++i) {
      EXPECT_EQ(throttle.accept(listener.fd.get(), start + 9ms).outcome,
                AcceptThrottle::Outcome::paused);
    }
    EXPECT_EQ(throttle.pauses(), 1U);
    EXPECT_EQ(throttle.paused_until(), start + 10ms);
    // Still at the limit when the pause ends: the next pause is twice as long.
    EXPECT_EQ(throttle.accept(listener.fd.get(), start + 10ms).outcome,
              AcceptThrottle::Outcome::paused);
    EXPECT_EQ(throttle.paused_until(), start + 30ms);
  }
  ASSERT_EQ(lines.size(), 2U);
  EXPECT_EQ(lines[0],
            "accept on test failed: Too many open files (EMFILE), out of descriptors; pausing "
            "accepts for 10 ms");
  EXPECT_EQ(lines[1],
            "accept on test failed: Too many open files (EMFILE), out of descriptors; pausing "
            "accepts for 20 ms");
  // Descriptors again: the client is accepted, and the pauses start over.
  EXPECT_EQ(throttle.accept(listener.fd.get(), start + 30ms).outcome,
            AcceptThrottle::Outcome::accepted);
  const UniqueFd other = connect_tcp(listener.address);
  {
    const NoDescriptorsLeft limit;
    ASSERT_TRUE(limit.ok());
    EXPECT_EQ(throttle.accept(listener.fd.get(), start + 40ms).outcome,
              AcceptThrottle::Outcome::paused);
  }
  EXPECT_EQ(throttle.paused_until(), start + 50ms);
}

}  // namespace
}  // namespace pz
