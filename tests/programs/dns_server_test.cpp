// DnsServer over a real UDP socket on 127.0.0.1, its time from a ManualClock:
// the rate limit and the log of failed sends, byte for byte.
#include "pizzeria/programs/dns_server.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "pizzeria/core/event_loop.hpp"
#include "pizzeria/core/manual_clock.hpp"
#include "pizzeria/core/unique_fd.hpp"
#include "pizzeria/coro/run.hpp"
#include "pizzeria/coro/stop_token.hpp"
#include "pizzeria/coro/task_group.hpp"
#include "pizzeria/coro/yield.hpp"

namespace pz::programs {
namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;

const DnsZone& zone() {
  static const DnsZone instance = DnsZone::parse("pizza.test A 10.0.0.7\n");
  return instance;
}

// A query for pizza.test A with id `id`.
std::string query(std::uint16_t id) {
  return std::string{static_cast<char>(id >> 8), static_cast<char>(id & 0xFF)} +
         "\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x05pizza\x04test\x00\x00\x01\x00\x01"s;
}

// Lets the server run until `done` holds (the datagrams sent have been
// handled); a bound in turns of the loop, not in time.
Task<void> until(const std::function<bool()>& done) {
  for (int turn = 0; !done(); ++turn) {
    if (turn == 1'000'000) {
      ADD_FAILURE() << "the server never got there";
      co_return;
    }
    co_await yield();
  }
}

// The last line of `log`, or "" if there is none (ASSERT cannot stop a
// coroutine, so a missing line must not be read past the end).
std::string last_line(const std::vector<std::string>& log) {
  return log.empty() ? std::string{} : log.back();
}

struct Served {
  ManualClock clock;
  EventLoop loop{EventLoopOptions{.clock = &clock}};
  std::vector<std::string> log;
};

TEST(DnsServer, RepliesBeyondTheRateLimitAreDroppedAndLoggedOnceASecondWithACount) {
  Served s;
  auto body = [&]() -> Task<void> {
    UdpSocket socket = UdpSocket::bind(SocketAddress::parse("127.0.0.1", 0));
    UdpSocket client = UdpSocket::bind(SocketAddress::parse("127.0.0.1", 0));
    DnsServer server(socket, zone(), {.rate_limit = 2, .log = [&](std::string_view line) {
                                        s.log.emplace_back(line);
                                      }});
    StopSource stop;
    TaskGroup group;
    group.spawn(server.serve(stop.token()));
    for (std::uint16_t id = 1; id <= 5; ++id) {
      co_await client.send_to(query(id), socket.local_address());
    }
    co_await until([&] { return server.counters().queries == 5; });
    EXPECT_EQ(server.counters().replies, 2u);
    EXPECT_EQ(server.counters().rate_limited, 3u);
    EXPECT_EQ(s.log, std::vector<std::string>{
                         "dns: dropping replies to 127.0.0.1 beyond 2 a second (--rate-limit)"});
    s.clock.advance(1s);  // a new second for the source, and for the log
    for (std::uint16_t id = 6; id <= 8; ++id) {
      co_await client.send_to(query(id), socket.local_address());
    }
    co_await until([&] { return server.counters().queries == 8; });
    // Exactly the replies to 1, 2, 6 and 7, in order: those dropped were
    // never sent (a datagram sent would be read before the later ones).
    for (const std::uint16_t id : {1, 2, 6, 7}) {
      const Datagram reply = co_await client.recv_from();
      EXPECT_EQ(reply.data, *answer_dns_query(query(id), zone())) << "reply to " << id;
    }
    EXPECT_EQ(server.counters().rate_limited, 4u);
    EXPECT_EQ(s.log.size(), 2u);
    EXPECT_EQ(last_line(s.log),
              "dns: dropping replies to 127.0.0.1 beyond 2 a second (--rate-limit) (and 2 more "
              "like it since the last such line)");
    stop.request_stop();
    co_await group.join();
  };
  run(body());
}

TEST(DnsServer, WithoutARateLimitEveryQueryIsAnswered) {
  Served s;
  auto body = [&]() -> Task<void> {
    UdpSocket socket = UdpSocket::bind(SocketAddress::parse("127.0.0.1", 0));
    UdpSocket client = UdpSocket::bind(SocketAddress::parse("127.0.0.1", 0));
    DnsServer server(socket, zone(), {.rate_limit = 0});
    StopSource stop;
    TaskGroup group;
    group.spawn(server.serve(stop.token()));
    for (std::uint16_t id = 1; id <= 300; ++id) {
      co_await client.send_to(query(id), socket.local_address());
      const Datagram reply = co_await client.recv_from();
      EXPECT_EQ(reply.data.substr(0, 2), query(id).substr(0, 2));
    }
    EXPECT_EQ(server.counters().rate_limited, 0u);
    stop.request_stop();
    co_await group.join();
  };
  run(body());
}

// A UDP datagram from 127.0.0.1 port 0, which no reply can be sent to
// (sendto gives EINVAL): forged with a raw socket, so it needs CAP_NET_RAW.
void send_from_port_zero(int raw, std::uint16_t to_port, const std::string& payload) {
  std::string packet(28, '\0');
  packet[0] = 0x45;  // IPv4, 20-byte header
  packet[8] = 64;    // TTL
  packet[9] = IPPROTO_UDP;
  const std::uint32_t loopback = htonl(INADDR_LOOPBACK);
  std::memcpy(&packet[12], &loopback, 4);
  std::memcpy(&packet[16], &loopback, 4);  // the kernel fills length, id and checksum
  const std::uint16_t port = htons(to_port);
  const std::uint16_t length = htons(static_cast<std::uint16_t>(8 + payload.size()));
  std::memcpy(&packet[22], &port, 2);  // source port 0, UDP checksum 0 (none)
  std::memcpy(&packet[24], &length, 2);
  packet += payload;
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = loopback;
  ASSERT_EQ(
      ::sendto(raw, packet.data(), packet.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to),
      static_cast<ssize_t>(packet.size()))
      << std::strerror(errno);
}

TEST(DnsServer, FailedSendsAreCountedAndLoggedOnceASecondWithTheCountLeftAtTheStop) {
  UniqueFd raw(::socket(AF_INET, SOCK_RAW, IPPROTO_RAW));
  if (!raw) {
    GTEST_SKIP() << "forging a source port needs CAP_NET_RAW: " << std::strerror(errno);
  }
  Served s;
  auto body = [&]() -> Task<void> {
    UdpSocket socket = UdpSocket::bind(SocketAddress::parse("127.0.0.1", 0));
    UdpSocket client = UdpSocket::bind(SocketAddress::parse("127.0.0.1", 0));
    DnsServer server(socket, zone(), {.rate_limit = 0, .log = [&](std::string_view line) {
                                        s.log.emplace_back(line);
                                      }});
    StopSource stop;
    TaskGroup group;
    group.spawn(server.serve(stop.token()));
    for (std::uint16_t id = 1; id <= 4; ++id) {
      send_from_port_zero(raw.get(), socket.port(), query(id));
    }
    co_await until([&] { return server.counters().send_failures == 4; });
    const std::string failed = "dns: sending a reply to 127.0.0.1:0 failed: ";
    EXPECT_EQ(s.log.size(), 1u);
    EXPECT_EQ(last_line(s.log).substr(0, failed.size()), failed);
    // A real client is still answered meanwhile.
    co_await client.send_to(query(9), socket.local_address());
    EXPECT_EQ((co_await client.recv_from()).data, *answer_dns_query(query(9), zone()));
    s.clock.advance(1s);
    send_from_port_zero(raw.get(), socket.port(), query(5));
    send_from_port_zero(raw.get(), socket.port(), query(6));
    co_await until([&] { return server.counters().send_failures == 6; });
    EXPECT_EQ(s.log.size(), 2u);
    EXPECT_NE(last_line(s.log).find(" (and 3 more like it since the last such line)"),
              std::string::npos)
        << s.log[1];
    stop.request_stop();
    co_await group.join();
    EXPECT_EQ(last_line(s.log), "dns: 1 more failed send was not logged");
  };
  run(body());
}

}  // namespace
}  // namespace pz::programs
