// pz::SocketAddress: an IPv4 or IPv6 address with a port, as the socket calls
// take it (sockaddr_in / sockaddr_in6 inside a sockaddr_storage).
//
//   SocketAddress::parse("127.0.0.1", 12345).to_string()  == "127.0.0.1:12345"
//   SocketAddress::parse("::1", 80).to_string()            == "[::1]:80"
//   SocketAddress::parse("[::1]:80")                        (host:port form)
//
// Only numeric addresses (plus "localhost" = 127.0.0.1): name resolution can
// block for seconds and belongs to the resolver, not to a value type.
//
// Thread safety: a value type.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace pz {

class SocketAddress {
 public:
  // 0.0.0.0:0 (IPv4 "any").
  SocketAddress() noexcept;

  // Parses a numeric IPv4 or IPv6 host (IPv6 optionally in brackets).
  // Throws std::invalid_argument naming the bad text.
  [[nodiscard]] static SocketAddress parse(std::string_view host, std::uint16_t port);
  // Parses "host:port", with IPv6 hosts in brackets ("[::1]:80").
  [[nodiscard]] static SocketAddress parse(std::string_view host_and_port);
  // Copies an address the kernel returned (accept, getsockname, ...).
  // Throws std::invalid_argument for families other than AF_INET/AF_INET6.
  [[nodiscard]] static SocketAddress from_sockaddr(const sockaddr* address, socklen_t length);

  // The address a socket is bound to / connected to (getsockname/getpeername).
  // Throw std::system_error saying which call failed.
  [[nodiscard]] static SocketAddress local_of(int fd);
  [[nodiscard]] static SocketAddress peer_of(int fd);

  [[nodiscard]] int family() const noexcept { return storage_.ss_family; }
  [[nodiscard]] bool is_ipv6() const noexcept { return family() == AF_INET6; }
  [[nodiscard]] std::uint16_t port() const noexcept;
  void set_port(std::uint16_t port) noexcept;

  // "127.0.0.1" / "::1" (no brackets).
  [[nodiscard]] std::string host() const;
  // "127.0.0.1:12345" / "[::1]:12345".
  [[nodiscard]] std::string to_string() const;

  [[nodiscard]] const sockaddr* data() const noexcept {
    return reinterpret_cast<const sockaddr*>(&storage_);
  }
  [[nodiscard]] socklen_t size() const noexcept { return length_; }

  friend bool operator==(const SocketAddress& a, const SocketAddress& b) noexcept;

 private:
  sockaddr_storage storage_{};
  socklen_t length_ = 0;
};

}  // namespace pz
