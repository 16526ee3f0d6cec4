// EventLoopOptions::busy_poll: when the loop spins, and that it still sleeps.
// The assertions count the loop's polls (EventLoop::poll_counts()), never
// how long anything took.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

#include "pizzeria/core/event_loop.hpp"
#include "support/poller_kinds.hpp"
#include "support/socket_pair.hpp"

using namespace std::chrono_literals;

namespace pz {
namespace {

class BusyPollTest : public ::testing::TestWithParam<PollerKind> {
 protected:
  [[nodiscard]] EventLoopOptions options(Duration busy_poll) const {
    EventLoopOptions result;
    result.poller = GetParam();
    result.busy_poll = busy_poll;
    return result;
  }

  void send_byte() { ASSERT_EQ(::write(pair_.left.get(), "x", 1), 1); }

  // Watches the pair's right end on `loop` (each event reads it dry, then
  // runs `after`) and sends the byte that the loop's first poll finds.
  [[nodiscard]] FdWatch watch_a_sent_byte(EventLoop& loop, std::function<void()> after = {}) {
    FdWatch watch = loop.watch(pair_.right.get(), Interest::readable,
                               [this, after = std::move(after)](IoEvents) {
                                 char bytes[16];
                                 while (::read(pair_.right.get(), bytes, sizeof bytes) > 0) {
                                 }
                                 if (after) {
                                   after();
                                 }
                               });
    send_byte();
    return watch;
  }

  test::SocketPair pair_ = test::make_socket_pair();
};

INSTANTIATE_TEST_SUITE_P(Pollers, BusyPollTest, test::kAllPollers, test::PollerName{});

TEST_P(BusyPollTest, AnIdleLoopSleepsEvenWithAnHourOfBudget) {
  EventLoop loop(options(1h));
  bool fired = false;
  loop.call_later(20ms, [&] {
    fired = true;
    loop.stop();
  });
  loop.run();
  EXPECT_TRUE(fired);
  EXPECT_EQ(loop.poll_counts().busy, 0U) << "nothing had happened, so nothing to spin for";
  EXPECT_GE(loop.poll_counts().blocking, 1U);
}

TEST_P(BusyPollTest, AfterEventsTheLoopSpinsForItsBudgetAndThenSleeps) {
  EventLoop loop(options(2ms));
  FdWatch watch = watch_a_sent_byte(loop);
  // Far enough away that the 2 ms spin ends long before it: then the loop
  // must go to sleep for the rest of the wait.
  loop.call_later(300ms, [&] { loop.stop(); });
  loop.run();
  EXPECT_GE(loop.poll_counts().busy, 1U);
  // The wait that found the byte, then the sleep after the spin (a spin
  // that ignored its budget would have spun until the timer instead).
  EXPECT_GE(loop.poll_counts().blocking, 2U);
}

TEST_P(BusyPollTest, TheSpinEndsAtTheNextTimer) {
  EventLoop loop(options(1h));
  FdWatch watch = watch_a_sent_byte(loop);
  bool fired = false;
  loop.call_later(20ms, [&] {
    fired = true;
    loop.stop();
  });
  loop.run();  // an hour-long spin past the timer would hang here
  EXPECT_TRUE(fired);
  EXPECT_GE(loop.poll_counts().busy, 1U);
  EXPECT_EQ(loop.poll_counts().blocking, 1U) << "only the wait that found the byte";
}

TEST_P(BusyPollTest, AnEventThatArrivesDuringTheSpinIsDispatchedWithoutSleeping) {
  EventLoop loop(options(1h));
  int bytes_seen = 0;
  std::thread writer;
  FdWatch watch = watch_a_sent_byte(loop, [&] {
    if (++bytes_seen == 1) {
      // The loop is about to spin: the second byte arrives while it does.
      writer = std::thread([&] {
        std::this_thread::sleep_for(10ms);
        send_byte();
      });
    } else {
      loop.stop();
    }
  });
  loop.run();
  writer.join();
  EXPECT_EQ(bytes_seen, 2);
  EXPECT_GE(loop.poll_counts().busy, 1U);
  EXPECT_EQ(loop.poll_counts().blocking, 1U) << "the second byte was found by spinning";
}

TEST_P(BusyPollTest, StopFromAnotherThreadEndsASpin) {
  EventLoop loop(options(1h));
  std::atomic<bool> spinning{false};
  std::thread stopper([&] {
    while (!spinning) {
      std::this_thread::yield();
    }
    loop.stop();
  });
  FdWatch watch = watch_a_sent_byte(loop, [&] { spinning = true; });
  loop.run();  // an hour-long spin would hang here
  stopper.join();
  EXPECT_FALSE(loop.running());
  EXPECT_EQ(loop.poll_counts().blocking, 1U);
}

TEST_P(BusyPollTest, ZeroBudgetNeverSpins) {
  EventLoop loop(options(Duration::zero()));
  FdWatch watch = watch_a_sent_byte(loop);
  loop.call_later(20ms, [&] { loop.stop(); });
  loop.run();
  EXPECT_EQ(loop.poll_counts().busy, 0U);
  EXPECT_GE(loop.poll_counts().blocking, 2U);
}

}  // namespace
}  // namespace pz
