#include "pizzeria/net/tcp_listener.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "pizzeria/core/manual_clock.hpp"
#include "pizzeria/coro/run.hpp"
#include "pizzeria/coro/task_group.hpp"
#include "pizzeria/coro/timeout.hpp"
#include "pizzeria/net/open_connection.hpp"
#include "pizzeria/net/socket_ops.hpp"

using namespace std::chrono_literals;

namespace {

pz::SocketAddress loopback_any_port() {
  return pz::SocketAddress::parse("127.0.0.1", 0);
}

TEST(TcpListener, BindsPortZeroAndAcceptsAClientOnTheChosenPort) {
  auto body = []() -> pz::Task<std::string> {
    auto listener = pz::TcpListener::bind(loopback_any_port());
    EXPECT_NE(listener.port(), 0);
    pz::TcpStream client = co_await pz::open_connection("127.0.0.1", listener.port());
    pz::TcpStream server = co_await listener.accept();
    EXPECT_EQ(server.peer_address(), client.local_address());
    client.write("4 pizzas\n");
    std::string order = co_await server.read_line();
    server.write("coming\n");
    co_return order + co_await client.read_line();
  };
  EXPECT_EQ(pz::run(body()), "4 pizzas\ncoming\n");
}

TEST(TcpListener, OpenConnectionResolvesNamesOffTheLoopThread) {
  auto body = []() -> pz::Task<std::string> {
    auto listener = pz::TcpListener::bind(loopback_any_port());
    // resolve() would parse "localhost" in place; make getaddrinfo answer
    // (from /etc/hosts, no DNS needed).
    const auto addresses = co_await pz::resolve_with_getaddrinfo("localhost", listener.port());
    if (addresses.empty()) {
      ADD_FAILURE() << "getaddrinfo found no address for localhost";
      co_return "";
    }
    pz::SocketAddress ipv4;
    for (const auto& address : addresses) {
      if (!address.is_ipv6()) {
        ipv4 = address;
      }
    }
    EXPECT_EQ(ipv4.to_string(), "127.0.0.1:" + std::to_string(listener.port()));
    pz::TcpStream client = co_await pz::open_connection(ipv4);
    pz::TcpStream server = co_await listener.accept();
    client.write("hi\n");
    co_return co_await server.read_line();
  };
  EXPECT_EQ(pz::run(body()), "hi\n");
}

TEST(TcpListener, OpenConnectionToAClosedPortRaisesConnectionRefused) {
  auto body = []() -> pz::Task<void> {
    std::uint16_t port = 0;
    {
      auto listener = pz::TcpListener::bind(loopback_any_port());
      port = listener.port();
    }
    try {
      co_await pz::open_connection("127.0.0.1", port);
      ADD_FAILURE() << "expected ECONNREFUSED";
    } catch (const std::system_error& error) {
      EXPECT_EQ(error.code().value(), ECONNREFUSED);
    }
  };
  pz::run(body());
}

TEST(TcpListener, CancellingAWaitingAcceptRaisesCancelledError) {
  pz::ManualClock clock({.auto_advance = true});
  pz::StopSource stop;
  auto body = [&]() -> pz::Task<void> {
    auto listener = pz::TcpListener::bind(loopback_any_port());
    pz::EventLoop::current()->call_later(5ms, [&] { stop.request_stop(); });
    co_await listener.accept();
  };
  EXPECT_THROW(pz::run(body(), {.clock = &clock}, stop.token()), pz::CancelledError);
}

// The lowest descriptor number the process would get next.
int lowest_free_fd() {
  const int probe = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ::close(probe);
  return probe;
}

TEST(TcpListener, BacksOffWhenOutOfDescriptorsAndKeepsServingOpenConnections) {
  pz::ManualClock clock({.auto_advance = true});
  rlimit original{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &original), 0);
  auto body = [&]() -> pz::Task<void> {
    auto listener = pz::TcpListener::bind(loopback_any_port());
    pz::TcpStream client = co_await pz::open_connection("127.0.0.1", listener.port());
    pz::TcpStream served = co_await listener.accept();
    // A second client waits in the backlog (connected by the kernel).
    pz::UniqueFd waiting = pz::connect_tcp(listener.local_address());

    // UBSan's vptr check probes memory through a pipe the first time it
    // sees a (call site, dynamic type) pair, and dies when no fd is left: arm
    // and cancel a timer (the backoff's path to the loop clock) while fds
    // remain, so the check is cached before they run out.
    pz::EventLoop::current()->call_later(std::chrono::seconds(1), [] {}).cancel();

    // No descriptor left: accept4 fails with EMFILE.
    rlimit tight = original;
    tight.rlim_cur = static_cast<rlim_t>(lowest_free_fd());
    EXPECT_EQ(::setrlimit(RLIMIT_NOFILE, &tight), 0);

    pz::TaskGroup group;
    pz::TcpStream second;
    auto acceptor = [&]() -> pz::Task<void> { second = co_await listener.accept(); };
    group.spawn(acceptor());
    EXPECT_GE(listener.backoff_count(), 1u);

    // The open connection is still served while accept backs off.
    for (int i = 0; i < 3; ++i) {
      client.write("ping\n");
      EXPECT_EQ(co_await served.read_line(), "ping\n");
    }
    EXPECT_FALSE(second.is_open());

    EXPECT_EQ(::setrlimit(RLIMIT_NOFILE, &original), 0);
    co_await group.join();
    EXPECT_TRUE(second.is_open());
    ::send(waiting.get(), "late\n", 5, MSG_NOSIGNAL);
    EXPECT_EQ(co_await second.read_line(), "late\n");
  };
  testing::internal::CaptureStderr();
  pz::run(body(), {.clock = &clock});
  const std::string log = testing::internal::GetCapturedStderr();
  EXPECT_NE(log.find("Too many open files"), std::string::npos) << log;
  ::setrlimit(RLIMIT_NOFILE, &original);
}

}  // namespace
