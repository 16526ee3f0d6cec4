#include "pizzeria/net/listen_socket.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <system_error>

#include "pizzeria/net/socket_ops.hpp"

namespace pz {
namespace {

TEST(ListenSocket, BindsAnEphemeralPortThatClientsCanReach) {
  UniqueFd listener = open_listen_socket(SocketAddress::parse("127.0.0.1", 0));
  const SocketAddress bound = SocketAddress::local_of(listener.get());
  EXPECT_NE(bound.port(), 0);
  EXPECT_EQ(bound.host(), "127.0.0.1");

  UniqueFd client = connect_tcp(bound);
  UniqueFd server(::accept(listener.get(), nullptr, nullptr));
  ASSERT_TRUE(server.valid());
  EXPECT_EQ(SocketAddress::peer_of(server.get()), SocketAddress::local_of(client.get()));
  ASSERT_EQ(::send(client.get(), "7\n", 2, 0), 2);
  char buffer[8] = {};
  ASSERT_EQ(::recv(server.get(), buffer, sizeof(buffer), 0), 2);
  EXPECT_EQ(std::string(buffer, 2), "7\n");
}

TEST(ListenSocket, ListensOnIpv6Loopback) {
  UniqueFd listener;
  try {
    listener = open_listen_socket(SocketAddress::parse("::1", 0));
  } catch (const std::system_error& error) {
    GTEST_SKIP() << "no IPv6 loopback here: " << error.what();
  }
  const SocketAddress bound = SocketAddress::local_of(listener.get());
  UniqueFd client = connect_tcp(bound);
  EXPECT_TRUE(SocketAddress::peer_of(client.get()).is_ipv6());
}

TEST(ListenSocket, IsNonBlockingOnlyWhenAsked) {
  UniqueFd blocking = open_listen_socket(SocketAddress::parse("127.0.0.1", 0));
  EXPECT_EQ(::fcntl(blocking.get(), F_GETFL) & O_NONBLOCK, 0);
  UniqueFd non_blocking =
      open_listen_socket(SocketAddress::parse("127.0.0.1", 0), ListenOptions{.non_blocking = true});
  EXPECT_NE(::fcntl(non_blocking.get(), F_GETFL) & O_NONBLOCK, 0);
  EXPECT_EQ(::accept(non_blocking.get(), nullptr, nullptr), -1);
  EXPECT_EQ(errno, EAGAIN);
  EXPECT_NE(::fcntl(non_blocking.get(), F_GETFD) & FD_CLOEXEC, 0);
}

TEST(ListenSocket, RefusesABusyPortAndNamesTheAddress) {
  UniqueFd first = open_listen_socket(SocketAddress::parse("127.0.0.1", 0));
  const SocketAddress bound = SocketAddress::local_of(first.get());
  try {
    (void)open_listen_socket(bound);
    FAIL() << "binding a port in use succeeded";
  } catch (const std::system_error& error) {
    EXPECT_EQ(error.code().value(), EADDRINUSE);
    EXPECT_NE(std::string(error.what()).find("bind " + bound.to_string()), std::string::npos)
        << error.what();
  }
}

TEST(ListenSocket, SharesAPortBetweenReusePortSockets) {
  const ListenOptions shard{.reuse_port = true};
  UniqueFd first = open_listen_socket(SocketAddress::parse("127.0.0.1", 0), shard);
  const SocketAddress bound = SocketAddress::local_of(first.get());
  UniqueFd second = open_listen_socket(bound, shard);
  EXPECT_EQ(SocketAddress::local_of(second.get()), bound);
}

TEST(SocketOps, TogglesNonBlockingMode) {
  UniqueFd fd = open_listen_socket(SocketAddress::parse("127.0.0.1", 0));
  set_non_blocking(fd.get());
  EXPECT_NE(::fcntl(fd.get(), F_GETFL) & O_NONBLOCK, 0);
  set_non_blocking(fd.get(), false);
  EXPECT_EQ(::fcntl(fd.get(), F_GETFL) & O_NONBLOCK, 0);
  EXPECT_THROW(set_non_blocking(-1), std::system_error);
}

TEST(SocketOps, ReportsARefusedConnection) {
  // A port that was just free: bind, note, close.
  SocketAddress address;
  {
    UniqueFd probe = open_listen_socket(SocketAddress::parse("127.0.0.1", 0));
    address = SocketAddress::local_of(probe.get());
  }
  try {
    (void)connect_tcp(address);
    FAIL() << "connect to a closed port succeeded";
  } catch (const std::system_error& error) {
    EXPECT_EQ(error.code().value(), ECONNREFUSED);
    EXPECT_NE(std::string(error.what()).find("connect " + address.to_string()), std::string::npos);
  }
}

}  // namespace
}  // namespace pz
