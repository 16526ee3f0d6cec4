#include "pizzeria/net/socket_address.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>

#include <stdexcept>

namespace pz {
namespace {

TEST(SocketAddress, ParsesAndPrintsIpv4) {
  const SocketAddress address = SocketAddress::parse("127.0.0.1", 12345);
  EXPECT_EQ(address.family(), AF_INET);
  EXPECT_EQ(address.port(), 12345);
  EXPECT_EQ(address.host(), "127.0.0.1");
  EXPECT_EQ(address.to_string(), "127.0.0.1:12345");
  EXPECT_EQ(address.size(), sizeof(sockaddr_in));
}

TEST(SocketAddress, ParsesAndPrintsIpv6WithBrackets) {
  const SocketAddress address = SocketAddress::parse("::1", 80);
  EXPECT_TRUE(address.is_ipv6());
  EXPECT_EQ(address.host(), "::1");
  EXPECT_EQ(address.to_string(), "[::1]:80");
  EXPECT_EQ(SocketAddress::parse("[::1]", 80), address);
  EXPECT_EQ(address.size(), sizeof(sockaddr_in6));
}

TEST(SocketAddress, ParsesHostAndPortForms) {
  EXPECT_EQ(SocketAddress::parse("10.1.2.3:0").to_string(), "10.1.2.3:0");
  EXPECT_EQ(SocketAddress::parse("[fe80::1]:65535").to_string(), "[fe80::1]:65535");
  EXPECT_EQ(SocketAddress::parse("localhost:7").to_string(), "127.0.0.1:7");
}

TEST(SocketAddress, RejectsBadTextWithAMessageNamingIt) {
  EXPECT_THROW((void)SocketAddress::parse("example.com", 1), std::invalid_argument);
  EXPECT_THROW((void)SocketAddress::parse("1.2.3.4.5", 1), std::invalid_argument);
  EXPECT_THROW((void)SocketAddress::parse(std::string(200, '1'), 1), std::invalid_argument);
  EXPECT_THROW((void)SocketAddress::parse("1.2.3.4"), std::invalid_argument);
  EXPECT_THROW((void)SocketAddress::parse("1.2.3.4:65536"), std::invalid_argument);
  EXPECT_THROW((void)SocketAddress::parse("1.2.3.4:"), std::invalid_argument);
  EXPECT_THROW((void)SocketAddress::parse("1.2.3.4:8x"), std::invalid_argument);
  EXPECT_THROW((void)SocketAddress::parse("::1:80"), std::invalid_argument);
  try {
    (void)SocketAddress::parse("pizza", 1);
    FAIL() << "no exception";
  } catch (const std::invalid_argument& error) {
    EXPECT_STREQ(error.what(),
                 "invalid IP address 'pizza': expected a numeric IPv4 or IPv6 address (or "
                 "localhost)");
  }
}

TEST(SocketAddress, ChangesItsPort) {
  SocketAddress address = SocketAddress::parse("127.0.0.1", 1);
  address.set_port(4242);
  EXPECT_EQ(address.to_string(), "127.0.0.1:4242");
  SocketAddress ipv6 = SocketAddress::parse("::", 1);
  ipv6.set_port(4242);
  EXPECT_EQ(ipv6.to_string(), "[::]:4242");
}

TEST(SocketAddress, RoundTripsThroughSockaddr) {
  const SocketAddress address = SocketAddress::parse("192.168.0.1", 99);
  EXPECT_EQ(SocketAddress::from_sockaddr(address.data(), address.size()), address);
  sockaddr unix_address{};
  unix_address.sa_family = AF_UNIX;
  EXPECT_THROW((void)SocketAddress::from_sockaddr(&unix_address, sizeof(unix_address)),
               std::invalid_argument);
}

TEST(SocketAddress, DefaultsToIpv4AnyPortZero) {
  EXPECT_EQ(SocketAddress().to_string(), "0.0.0.0:0");
}

}  // namespace
}  // namespace pz
