#include "pizzeria/net/tcp_stream.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <chrono>
#include <string>
#include <system_error>

#include "pizzeria/core/manual_clock.hpp"
#include "pizzeria/coro/event.hpp"
#include "pizzeria/coro/run.hpp"
#include "pizzeria/coro/sleep.hpp"
#include "pizzeria/coro/task_group.hpp"
#include "pizzeria/coro/timeout.hpp"
#include "pizzeria/net/incomplete_read_error.hpp"
#include "pizzeria/net/line_too_long_error.hpp"
#include "support/socket_pair.hpp"

using namespace std::chrono_literals;

namespace {

// Writes all of `data` to a raw non-blocking fd (test side of the pair).
void send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    ASSERT_GT(n, 0) << "send failed";
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

TEST(TcpStream, ReadLineReturnsEachLineWithItsNewlineThenTheRestAtEndOfStream) {
  auto pair = pz::test::make_socket_pair();
  send_all(pair.right.get(), "one\ntwo\nthree");
  ::shutdown(pair.right.get(), SHUT_WR);
  auto body = [&]() -> pz::Task<void> {
    pz::TcpStream stream(std::move(pair.left));
    EXPECT_EQ(co_await stream.read_line(), "one\n");
    EXPECT_EQ(co_await stream.read_line(), "two\n");
    EXPECT_EQ(co_await stream.read_line(), "three");
    EXPECT_EQ(co_await stream.read_line(), "");
    EXPECT_EQ(co_await stream.read_some(), "");
    EXPECT_TRUE(stream.at_eof());
  };
  pz::run(body());
}

TEST(TcpStream, ReadLineWaitsForTheNewlineAcrossManyPackets) {
  auto pair = pz::test::make_socket_pair();
  pz::ManualClock clock({.auto_advance = true});
  auto writer = [&]() -> pz::Task<void> {
    for (char c : std::string("pepperoni\n")) {
      co_await pz::sleep(1ms);
      send_all(pair.right.get(), std::string(1, c));
    }
  };
  auto body = [&]() -> pz::Task<std::string> {
    pz::TcpStream stream(std::move(pair.left));
    pz::TaskGroup group;
    group.spawn(writer());
    std::string line = co_await stream.read_line(100);
    co_await group.join();
    co_return line;
  };
  EXPECT_EQ(pz::run(body(), {.clock = &clock}), "pepperoni\n");
}

TEST(TcpStream, AnOverlongLineRaisesAndKeepsItsBytes) {
  auto pair = pz::test::make_socket_pair();
  send_all(pair.right.get(), std::string(20, 'x') + "\nok\n");
  auto body = [&]() -> pz::Task<void> {
    pz::TcpStream stream(std::move(pair.left));
    try {
      co_await stream.read_line(10);
      ADD_FAILURE() << "expected LineTooLongError";
    } catch (const pz::LineTooLongError& error) {
      EXPECT_EQ(error.limit(), 10u);
    }
    // Nothing was lost: the long line is still there, whole.
    EXPECT_EQ(co_await stream.read_line(100), std::string(20, 'x') + "\n");
    EXPECT_EQ(co_await stream.read_line(10), "ok\n");
  };
  pz::run(body());
}

TEST(TcpStream, ReadExactlyRaisesWithThePartialBytesAtEndOfStream) {
  auto pair = pz::test::make_socket_pair();
  send_all(pair.right.get(), "12345678abc");
  ::shutdown(pair.right.get(), SHUT_WR);
  auto body = [&]() -> pz::Task<void> {
    pz::TcpStream stream(std::move(pair.left));
    EXPECT_EQ(co_await stream.read_exactly(8), "12345678");
    try {
      co_await stream.read_exactly(8);
      ADD_FAILURE() << "expected IncompleteReadError";
    } catch (const pz::IncompleteReadError& error) {
      EXPECT_EQ(error.partial(), "abc");
      EXPECT_EQ(error.expected(), 8u);
    }
  };
  pz::run(body());
}

TEST(TcpStream, ACancelledReadLineLosesNoBytes) {
  auto pair = pz::test::make_socket_pair();
  pz::ManualClock clock({.auto_advance = true});
  send_all(pair.right.get(), "marghe");
  auto body = [&]() -> pz::Task<std::string> {
    pz::TcpStream stream(std::move(pair.left));
    EXPECT_THROW(co_await pz::timeout(10ms, stream.read_line()), pz::TimeoutError);
    EXPECT_EQ(stream.buffered_input(), 6u);
    send_all(pair.right.get(), "rita\n");
    co_return co_await stream.read_line();
  };
  EXPECT_EQ(pz::run(body(), {.clock = &clock}), "margherita\n");
}

TEST(TcpStream, CancellingTheTaskDuringReadLineRaisesCancelledError) {
  auto pair = pz::test::make_socket_pair();
  pz::ManualClock clock({.auto_advance = true});
  pz::StopSource stop;
  auto body = [&]() -> pz::Task<void> {
    pz::TcpStream stream(std::move(pair.left));
    pz::EventLoop::current()->call_later(5ms, [&] { stop.request_stop(); });
    co_await stream.read_line();
  };
  EXPECT_THROW(pz::run(body(), {.clock = &clock}, stop.token()), pz::CancelledError);
}

TEST(TcpStream, DrainSuspendsAboveTheHighWaterMarkUntilTheLowWaterMark) {
  auto pair = pz::test::make_socket_pair();
  pz::ManualClock clock({.auto_advance = true});
  const pz::StreamOptions options{.high_water = 64 * 1024, .low_water = 16 * 1024};
  std::size_t queued_after_drain = 0;
  std::size_t received = 0;
  const std::size_t total = 4 * 1024 * 1024;
  auto reader = [&]() -> pz::Task<void> {
    char buffer[8192];
    while (received < total) {
      co_await pz::sleep(1ms);  // a slow consumer
      for (;;) {
        const ssize_t n = ::recv(pair.right.get(), buffer, sizeof(buffer), 0);
        if (n <= 0) {
          break;
        }
        received += static_cast<std::size_t>(n);
      }
    }
  };
  auto body = [&]() -> pz::Task<void> {
    pz::TcpStream stream(std::move(pair.left), options);
    pz::TaskGroup group;
    group.spawn(reader());
    const std::string chunk(32 * 1024, 'p');
    bool suspended_once = false;
    for (std::size_t sent = 0; sent < total; sent += chunk.size()) {
      stream.write(chunk);
      const bool above = stream.queued_output() > options.high_water;
      co_await stream.drain();
      if (above) {
        suspended_once = true;
        queued_after_drain = std::max(queued_after_drain, stream.queued_output());
      }
    }
    co_await stream.flush();
    EXPECT_EQ(stream.queued_output(), 0u);
    co_await group.join();
    EXPECT_TRUE(suspended_once);
  };
  pz::run(body(), {.clock = &clock});
  EXPECT_EQ(received, total);
  EXPECT_LE(queued_after_drain, options.low_water);
}

TEST(TcpStream, CancellingADrainKeepsTheQueuedOutput) {
  auto pair = pz::test::make_socket_pair();
  pz::ManualClock clock({.auto_advance = true});
  auto body = [&]() -> pz::Task<void> {
    pz::TcpStream stream(std::move(pair.left), {.high_water = 1024, .low_water = 0});
    while (stream.queued_output() <= 1024) {
      stream.write(std::string(64 * 1024, 'q'));  // nobody reads: the queue grows
    }
    const std::size_t queued = stream.queued_output();
    EXPECT_THROW(co_await pz::timeout(10ms, stream.drain()), pz::TimeoutError);
    EXPECT_EQ(stream.queued_output(), queued);
  };
  pz::run(body(), {.clock = &clock});
}

TEST(TcpStream, WritingToAPeerThatClosedRaisesInsteadOfRaisingSigpipe) {
  auto pair = pz::test::make_socket_pair();
  pair.right.reset();
  auto body = [&]() -> pz::Task<void> {
    pz::TcpStream stream(std::move(pair.left));
    try {
      stream.write("anyone there?\n");
      co_await stream.flush();
      ADD_FAILURE() << "expected EPIPE";
    } catch (const std::system_error& error) {
      EXPECT_EQ(error.code().value(), EPIPE);
    }
  };
  pz::run(body());  // alive: no SIGPIPE
}

TEST(TcpStream, ShutdownWriteSendsEndOfStreamAfterTheQueuedBytes) {
  auto pair = pz::test::make_socket_pair();
  auto body = [&]() -> pz::Task<std::string> {
    pz::TcpStream left(std::move(pair.left));
    pz::TcpStream right(std::move(pair.right));
    left.write("last order\n");
    left.shutdown_write();
    std::string all;
    for (;;) {
      std::string piece = co_await right.read_some();
      if (piece.empty()) {
        break;
      }
      all += piece;
    }
    // Reading on the half-closed side still works.
    right.write("bye\n");
    EXPECT_EQ(co_await left.read_line(), "bye\n");
    co_return all;
  };
  EXPECT_EQ(pz::run(body()), "last order\n");
}

TEST(TcpStream, ATaskWaitingToReadRaisesWhenAnotherClosesTheStream) {
  auto pair = pz::test::make_socket_pair();
  pz::ManualClock clock({.auto_advance = true});
  auto body = [&]() -> pz::Task<void> {
    pz::TcpStream stream(std::move(pair.left));
    auto reader = [&]() -> pz::Task<void> {
      EXPECT_THROW(co_await stream.read_line(), std::logic_error);
    };
    pz::TaskGroup group;
    group.spawn(reader());
    co_await pz::sleep(1ms);
    stream.close();
    co_await group.join();
  };
  pz::run(body(), {.clock = &clock});
}

}  // namespace

namespace {

TEST(TcpStream, ReadSomeReturnsAtMostItsLimitAndDiscardDropsBufferedBytes) {
  auto pair = pz::test::make_socket_pair();
  send_all(pair.right.get(), "0123456789");
  auto body = [&]() -> pz::Task<std::string> {
    pz::TcpStream stream(std::move(pair.left));
    EXPECT_EQ(co_await stream.read_some(4), "0123");
    EXPECT_EQ(stream.discard(2), 2u);
    EXPECT_EQ(stream.discard(100), 4u);  // only what is buffered
    send_all(pair.right.get(), "ab");
    co_return co_await stream.read_some();
  };
  EXPECT_EQ(pz::run(body()), "ab");
}

TEST(TcpStream, StopsReadingAheadAtItsLimitUntilTheBytesAreRead) {
  auto pair = pz::test::make_socket_pair();
  pz::ManualClock clock({.auto_advance = true});
  const std::string burst(64 * 1024, 'r');
  auto body = [&]() -> pz::Task<void> {
    pz::TcpStream stream(std::move(pair.left), {.read_ahead_limit = 8 * 1024, .read_chunk = 4096});
    send_all(pair.right.get(), burst);
    co_await pz::sleep(1ms);  // the loop runs; nobody reads
    EXPECT_GE(stream.buffered_input(), 8u * 1024);
    EXPECT_LT(stream.buffered_input(), burst.size());  // the rest waits in the kernel
    const std::string all = co_await stream.read_exactly(burst.size());
    EXPECT_EQ(all, burst);
  };
  pz::run(body(), {.clock = &clock});
}

}  // namespace
