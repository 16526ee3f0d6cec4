#include "pizzeria/net/wait_readable.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include "pizzeria/coro/cancelled_error.hpp"
#include "pizzeria/coro/run.hpp"
#include "pizzeria/coro/task.hpp"
#include "pizzeria/coro/task_group.hpp"
#include "support/socket_pair.hpp"

namespace pz {
namespace {

TEST(WaitReadable, ResumesOnceThePeerWrites) {
  test::SocketPair pair = test::make_socket_pair();
  std::string received;
  auto reader = [&]() -> Task<void> {
    co_await wait_readable(pair.left.get());
    char buffer[16];
    const auto got = ::read(pair.left.get(), buffer, sizeof buffer);
    received.assign(buffer, static_cast<std::size_t>(got > 0 ? got : 0));
  };
  auto writer = [&]() -> Task<void> {
    EXPECT_EQ(::write(pair.right.get(), "7\n", 2), 2);
    co_return;
  };
  auto main_task = [&]() -> Task<void> {
    TaskGroup group;
    group.spawn(reader());
    group.spawn(writer());
    co_await group.join();
  };
  pz::run(main_task());
  EXPECT_EQ(received, "7\n");
}

TEST(WaitReadable, CancellingTheWaitRaisesAndUnwatchesTheFd) {
  test::SocketPair pair = test::make_socket_pair();
  bool cancelled = false;
  auto waiter = [&]() -> Task<void> {
    try {
      co_await wait_readable(pair.left.get());
    } catch (const CancelledError&) {
      cancelled = true;
    }
  };
  auto main_task = [&]() -> Task<void> {
    {
      TaskGroup group;
      group.spawn(waiter());
      group.cancel();
      try {
        co_await group.join();
      } catch (const CancelledError&) {
      }
    }
    // The cancelled wait gave the fd back: waiting on it again is allowed,
    // and sees the data.
    EXPECT_EQ(::write(pair.right.get(), "x", 1), 1);
    co_await wait_readable(pair.left.get());
  };
  pz::run(main_task());
  EXPECT_TRUE(cancelled);
}

}  // namespace
}  // namespace pz
