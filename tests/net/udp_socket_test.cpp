#include "pizzeria/net/udp_socket.hpp"

#include <gtest/gtest.h>

#include <chrono>

#include "pizzeria/core/manual_clock.hpp"
#include "pizzeria/coro/run.hpp"
#include "pizzeria/coro/task_group.hpp"
#include "pizzeria/coro/timeout.hpp"

using namespace std::chrono_literals;

namespace {

TEST(UdpSocket, SendsAndReceivesDatagramsWithTheSendersAddress) {
  auto body = []() -> pz::Task<void> {
    auto server = pz::UdpSocket::bind(pz::SocketAddress::parse("127.0.0.1", 0));
    auto client = pz::UdpSocket::bind(pz::SocketAddress::parse("127.0.0.1", 0));
    EXPECT_NE(server.port(), 0);
    const auto server_address = server.local_address();
    EXPECT_EQ(co_await client.send_to("query", server_address), 5u);
    pz::Datagram request = co_await server.recv_from();
    EXPECT_EQ(request.data, "query");
    EXPECT_EQ(request.from, client.local_address());
    co_await server.send_to("answer", request.from);
    pz::Datagram reply = co_await client.recv_from(3);
    EXPECT_EQ(reply.data, "ans");
    EXPECT_TRUE(reply.truncated);
  };
  pz::run(body());
}

TEST(UdpSocket, ARecvFromCanBeCancelled) {
  pz::ManualClock clock({.auto_advance = true});
  auto body = []() -> pz::Task<void> {
    auto socket = pz::UdpSocket::bind(pz::SocketAddress::parse("127.0.0.1", 0));
    EXPECT_THROW(co_await pz::timeout(5ms, socket.recv_from()), pz::TimeoutError);
    // Still usable afterwards.
    co_await socket.send_to("self", socket.local_address());
    EXPECT_EQ((co_await socket.recv_from()).data, "self");
  };
  pz::run(body(), {.clock = &clock});
}

}  // namespace
