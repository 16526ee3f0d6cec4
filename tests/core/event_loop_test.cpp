#include "pizzeria/core/event_loop.hpp"

#include <gtest/gtest.h>
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include "pizzeria/core/manual_clock.hpp"
#include "support/poller_kinds.hpp"

using namespace std::chrono_literals;

namespace pz {
namespace {

class EventLoopTest : public ::testing::TestWithParam<PollerKind> {
 protected:
  ManualClock clock_;
  EventLoop loop_{EventLoopOptions{.poller = GetParam(), .clock = &clock_}};
};

INSTANTIATE_TEST_SUITE_P(Pollers, EventLoopTest, test::kAllPollers, test::PollerName{});

TEST_P(EventLoopTest, CallSoonRunsCallbacksInFifoOrder) {
  std::vector<int> order;
  for (int i = 0; i < 100; ++i) {
    loop_.call_soon([&order, i] { order.push_back(i); });
  }
  loop_.run_once(0ns);
  ASSERT_EQ(order.size(), 100U);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(order[static_cast<std::size_t>(i)], i);
  }
}

TEST_P(EventLoopTest, CallbacksScheduledDuringAnIterationRunInTheNextOne) {
  std::vector<std::string> log;
  loop_.call_soon([&] {
    log.push_back("first");
    loop_.call_soon([&] { log.push_back("scheduled by first"); });
  });
  loop_.call_soon([&] { log.push_back("second"); });
  loop_.run_once(0ns);
  EXPECT_EQ(log, (std::vector<std::string>{"first", "second"}));
  EXPECT_EQ(loop_.ready_count(), 1U);
  loop_.run_once(0ns);
  EXPECT_EQ(log, (std::vector<std::string>{"first", "second", "scheduled by first"}));
}

TEST_P(EventLoopTest, AnEndlessChainOfCallSoonDoesNotStarveTimers) {
  int chain = 0;
  bool timer_fired = false;
  std::function<void()> again = [&] {
    ++chain;
    if (!timer_fired) {
      loop_.call_soon([&] { again(); });
    }
  };
  loop_.call_soon([&] { again(); });
  loop_.call_later(1ms, [&] { timer_fired = true; });
  clock_.advance(1ms);
  for (int i = 0; i < 3 && !timer_fired; ++i) {
    loop_.run_once(0ns);
  }
  EXPECT_TRUE(timer_fired);
  EXPECT_LE(chain, 3);
}

TEST_P(EventLoopTest, CancelledCallSoonDoesNotRunAndItsCapturesAreReleasedAtOnce) {
  auto token = std::make_shared<int>(7);
  bool ran = false;
  Handle handle = loop_.call_soon([&ran, token] { ran = true; });
  EXPECT_TRUE(handle.pending());
  EXPECT_EQ(token.use_count(), 2);
  handle.cancel();
  EXPECT_FALSE(handle.pending());
  EXPECT_EQ(token.use_count(), 1);
  loop_.run_once(0ns);
  EXPECT_FALSE(ran);
  handle.cancel();  // harmless after the fact
}

TEST_P(EventLoopTest, AHandleIsNotPendingAfterItsCallbackRan) {
  Handle handle = loop_.call_soon([] {});
  loop_.run_once(0ns);
  EXPECT_FALSE(handle.pending());
  Handle later = loop_.call_soon([] {});
  handle.cancel();  // must not touch the newer callback
  EXPECT_TRUE(later.pending());
}

TEST_P(EventLoopTest, TimersFireInDeadlineOrderUnderTheManualClock) {
  std::vector<int> fired;
  loop_.call_later(30ms, [&] { fired.push_back(30); });
  loop_.call_later(10ms, [&] { fired.push_back(10); });
  loop_.call_later(20ms, [&] { fired.push_back(20); });
  loop_.call_later(10ms, [&] { fired.push_back(11); });  // tie: scheduling order
  loop_.run_once(0ns);
  EXPECT_TRUE(fired.empty());
  clock_.advance(15ms);
  loop_.run_once(0ns);
  EXPECT_EQ(fired, (std::vector<int>{10, 11}));
  clock_.advance(100ms);
  loop_.run_once(0ns);
  EXPECT_EQ(fired, (std::vector<int>{10, 11, 20, 30}));
  EXPECT_EQ(loop_.timer_count(), 0U);
}

TEST_P(EventLoopTest, CallAtUsesTheLoopClock) {
  bool fired = false;
  TimerHandle handle = loop_.call_at(clock_.now() + 5s, [&] { fired = true; });
  EXPECT_EQ(handle.when(), clock_.now() + 5s);
  clock_.advance(4999ms);
  loop_.run_once(0ns);
  EXPECT_FALSE(fired);
  clock_.advance(1ms);
  loop_.run_once(0ns);
  EXPECT_TRUE(fired);
  EXPECT_FALSE(handle.pending());
}

TEST_P(EventLoopTest, ATimerDueNowScheduledByATimerRunsInTheNextIteration) {
  std::vector<std::string> log;
  loop_.call_later(0ms, [&] {
    log.push_back("outer");
    loop_.call_later(0ms, [&] { log.push_back("inner"); });
  });
  loop_.run_once(0ns);
  EXPECT_EQ(log, (std::vector<std::string>{"outer"}));
  loop_.run_once(0ns);
  EXPECT_EQ(log, (std::vector<std::string>{"outer", "inner"}));
}

TEST_P(EventLoopTest, ATimerCancellingItselfAndAnotherIsSafe) {
  std::vector<int> fired;
  TimerHandle first;
  TimerHandle second;
  first = loop_.call_later(1ms, [&] {
    fired.push_back(1);
    first.cancel();   // itself: already fired, no effect
    second.cancel();  // another, due in the same batch
  });
  second = loop_.call_later(1ms, [&] { fired.push_back(2); });
  TimerHandle third = loop_.call_later(1ms, [&] { fired.push_back(3); });
  clock_.advance(1ms);
  loop_.run_once(0ns);
  EXPECT_EQ(fired, (std::vector<int>{1, 3}));
  EXPECT_FALSE(second.pending());
  EXPECT_FALSE(third.pending());
}

TEST_P(EventLoopTest, ACancelledTimerNeverFiresAndReleasesItsCaptures) {
  auto token = std::make_shared<int>(1);
  bool fired = false;
  TimerHandle handle = loop_.call_later(1s, [&fired, token] { fired = true; });
  EXPECT_TRUE(handle.pending());
  handle.cancel();
  EXPECT_EQ(token.use_count(), 1);
  EXPECT_EQ(loop_.timer_count(), 0U);
  clock_.advance(2s);
  loop_.run_once(0ns);
  EXPECT_FALSE(fired);
}

TEST_P(EventLoopTest, AStaleTimerHandleCannotCancelTheTimerThatReusesItsSlot) {
  TimerHandle old_handle = loop_.call_later(1ms, [] {});
  old_handle.cancel();
  bool fired = false;
  TimerHandle fresh = loop_.call_later(1ms, [&] { fired = true; });
  old_handle.cancel();
  EXPECT_TRUE(fresh.pending());
  clock_.advance(1ms);
  loop_.run_once(0ns);
  EXPECT_TRUE(fired);
}

TEST_P(EventLoopTest, ManyCancelledTimersDoNotGrowTheHeapWithoutBound) {
  for (int i = 0; i < 100'000; ++i) {
    loop_.call_later(1h, [] {}).cancel();
  }
  EXPECT_EQ(loop_.timer_count(), 0U);
  bool fired = false;
  loop_.call_later(1ms, [&] { fired = true; });
  clock_.advance(1ms);
  loop_.run_once(0ns);
  EXPECT_TRUE(fired);
}

TEST_P(EventLoopTest, AutoAdvancingClockRunsSleepsInstantlyAndInOrder) {
  ManualClock auto_clock(ManualClock::Options{.auto_advance = true});
  // A second loop cannot live on this thread; run it on its own.
  std::vector<int> fired;
  std::thread([&] {
    EventLoop loop(EventLoopOptions{.poller = GetParam(), .clock = &auto_clock});
    loop.call_later(1h, [&] {
      fired.push_back(3600);
      loop.stop();
    });
    loop.call_later(1s, [&] { fired.push_back(1); });
    loop.run();
  }).join();
  EXPECT_EQ(fired, (std::vector<int>{1, 3600}));
  EXPECT_GE(auto_clock.now().time_since_epoch(), std::chrono::nanoseconds(1h));
}

TEST_P(EventLoopTest, StopFromACallbackEndsRunAfterTheCurrentIteration) {
  int after_stop = 0;
  loop_.call_soon([&] {
    loop_.stop();
    loop_.call_soon([&] { ++after_stop; });
  });
  loop_.call_soon([&] { ++after_stop; });  // same iteration: still runs
  loop_.run();
  EXPECT_EQ(after_stop, 1);
  EXPECT_FALSE(loop_.running());
}

TEST_P(EventLoopTest, StopFromAnotherThreadWakesASleepingLoop) {
  std::atomic<bool> entered{false};
  loop_.call_soon([&] { entered = true; });
  std::thread stopper([&] {
    while (!entered) {
      std::this_thread::yield();
    }
    loop_.stop();
  });
  loop_.run();  // blocks in the poller with nothing to do until stop()
  stopper.join();
  EXPECT_FALSE(loop_.running());
}

TEST_P(EventLoopTest, RunInsideRunIsRefusedLikeAsyncio) {
  std::string message;
  loop_.call_soon([&] {
    try {
      loop_.run();
    } catch (const std::logic_error& error) {
      message = error.what();
    }
    loop_.stop();
  });
  loop_.run();
  EXPECT_EQ(message, "This event loop is already running");
}

TEST_P(EventLoopTest, AThrowingCallbackPropagatesAndLosesNothingElse) {
  std::vector<int> ran;
  loop_.call_soon([] { throw std::runtime_error("boom"); });
  loop_.call_soon([&] { ran.push_back(2); });
  EXPECT_THROW(loop_.run_once(0ns), std::runtime_error);
  loop_.run_once(0ns);
  EXPECT_EQ(ran, (std::vector<int>{2}));
}

TEST_P(EventLoopTest, AThrowingTimerKeepsTheRestOfItsBatch) {
  std::vector<int> ran;
  loop_.call_later(1ms, [] { throw std::runtime_error("boom"); });
  loop_.call_later(1ms, [&] { ran.push_back(2); });
  clock_.advance(1ms);
  EXPECT_THROW(loop_.run_once(0ns), std::runtime_error);
  loop_.run_once(0ns);
  EXPECT_EQ(ran, (std::vector<int>{2}));
}

TEST_P(EventLoopTest, CallSoonThreadsafeDeliversEveryCallExactlyOnceFromEightThreads) {
  constexpr int kThreads = 8;
  constexpr int kCallsPerThread = 10'000;
  std::vector<int> per_thread(kThreads, 0);
  int total = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCallsPerThread; ++i) {
        loop_.call_soon_threadsafe([&, t, i] {
          // Calls from one thread arrive in the order they were made.
          EXPECT_EQ(per_thread[static_cast<std::size_t>(t)], i);
          ++per_thread[static_cast<std::size_t>(t)];
          if (++total == kThreads * kCallsPerThread) {
            loop_.stop();
          }
        });
      }
    });
  }
  loop_.run();
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(total, kThreads * kCallsPerThread);
  for (int count : per_thread) {
    EXPECT_EQ(count, kCallsPerThread);
  }
  loop_.run_once(0ns);  // nothing left over, nothing delivered twice
  EXPECT_EQ(total, kThreads * kCallsPerThread);
}

TEST_P(EventLoopTest, CallSoonThreadsafeFromTheLoopThreadWorksToo) {
  bool ran = false;
  loop_.call_soon_threadsafe([&] { ran = true; });
  loop_.run_once(0ns);
  loop_.run_once(0ns);
  EXPECT_TRUE(ran);
}

TEST_P(EventLoopTest, SignalHandlersRunOnTheLoop) {
  int delivered = 0;
  loop_.add_signal_handler(SIGUSR1, [&] {
    ++delivered;
    EXPECT_EQ(EventLoop::current(), &loop_);
    loop_.stop();
  });
  ASSERT_EQ(::pthread_kill(::pthread_self(), SIGUSR1), 0);
  loop_.run();
  EXPECT_EQ(delivered, 1);
  EXPECT_TRUE(loop_.remove_signal_handler(SIGUSR1));
  EXPECT_FALSE(loop_.remove_signal_handler(SIGUSR1));
}

TEST_P(EventLoopTest, ASignalHandlerMayRemoveItself) {
  int delivered = 0;
  loop_.add_signal_handler(SIGUSR2, [&] {
    ++delivered;
    loop_.remove_signal_handler(SIGUSR2);
    loop_.stop();
  });
  ASSERT_EQ(::pthread_kill(::pthread_self(), SIGUSR2), 0);
  loop_.run();
  EXPECT_EQ(delivered, 1);
}

TEST_P(EventLoopTest, ASignalCanBelongToOnlyOneLoop) {
  loop_.add_signal_handler(SIGUSR1, [] {});
  std::string message;
  std::thread([&] {
    EventLoop other(EventLoopOptions{.poller = GetParam()});
    try {
      other.add_signal_handler(SIGUSR1, [] {});
    } catch (const std::logic_error& error) {
      message = error.what();
    }
  }).join();
  EXPECT_NE(message.find("already handled by another event loop"), std::string::npos);
  loop_.remove_signal_handler(SIGUSR1);
}

TEST_P(EventLoopTest, CurrentNamesTheLoopOfTheCallingThread) {
  EXPECT_EQ(EventLoop::current(), &loop_);
  EventLoop* seen = &loop_;
  std::thread([&] { seen = EventLoop::current(); }).join();
  EXPECT_EQ(seen, nullptr);
}

TEST_P(EventLoopTest, SlowCallbacksAreReported) {
  std::thread([&] {
    EventLoop loop(EventLoopOptions{.poller = GetParam(), .slow_callback_threshold = 1ns});
    loop.call_soon([] { std::this_thread::sleep_for(1ms); });
    ::testing::internal::CaptureStderr();
    loop.run_once(0ns);
    const std::string output = ::testing::internal::GetCapturedStderr();
    EXPECT_NE(output.find("slow callback: held the event loop for"), std::string::npos) << output;
  }).join();
}

using EventLoopDeathTest = EventLoopTest;
INSTANTIATE_TEST_SUITE_P(Pollers, EventLoopDeathTest, test::kAllPollers, test::PollerName{});

TEST_P(EventLoopDeathTest, ASecondLoopOnOneThreadIsAFatalError) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH({ EventLoop second; }, "a second pz::EventLoop was created on a thread");
}

TEST_P(EventLoopDeathTest, LoopOnlyMethodsFromAnotherThreadAreAFatalError) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH({ std::thread([&] { loop_.call_soon([] {}); }).join(); },
               "call_soon called from a thread that does not own the loop");
}

}  // namespace
}  // namespace pz

namespace {

// What a forked child finds, as an exit code: 0 when it has no loop, can
// make its own, claim the parent's signal and run a callback on it.
int child_after_fork() {
  if (pz::EventLoop::current() != nullptr) {
    return 10;
  }
  pz::EventLoop own;
  if (pz::EventLoop::current() != &own) {
    return 11;
  }
  try {
    own.add_signal_handler(SIGUSR2, [] {});
  } catch (...) {
    return 12;
  }
  bool ran = false;
  own.call_soon([&ran] { ran = true; });
  own.run_once(std::chrono::milliseconds(0));
  own.remove_signal_handler(SIGUSR2);
  return ran ? 0 : 13;
}

}  // namespace

TEST(EventLoop, AForkedChildStartsWithNoLoopAndMakesItsOwn) {
  pz::EventLoop parent;
  parent.add_signal_handler(SIGUSR2, [] {});
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // _exit: the parent's loop, copied here, must not be destroyed here.
    ::_exit(child_after_fork());
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
  // The parent's loop is still this thread's, signal and all.
  EXPECT_EQ(pz::EventLoop::current(), &parent);
  EXPECT_TRUE(parent.remove_signal_handler(SIGUSR2));
}
