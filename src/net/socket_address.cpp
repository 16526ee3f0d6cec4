#include "pizzeria/net/socket_address.hpp"

#include <arpa/inet.h>

#include <array>
#include <charconv>
#include <cstring>
#include <stdexcept>

#include "pizzeria/core/system_error.hpp"

namespace pz {

namespace {

sockaddr_in* as_ipv4(sockaddr_storage& storage) noexcept {
  return reinterpret_cast<sockaddr_in*>(&storage);
}
const sockaddr_in* as_ipv4(const sockaddr_storage& storage) noexcept {
  return reinterpret_cast<const sockaddr_in*>(&storage);
}
sockaddr_in6* as_ipv6(sockaddr_storage& storage) noexcept {
  return reinterpret_cast<sockaddr_in6*>(&storage);
}
const sockaddr_in6* as_ipv6(const sockaddr_storage& storage) noexcept {
  return reinterpret_cast<const sockaddr_in6*>(&storage);
}

std::uint16_t parse_port(std::string_view text, std::string_view whole) {
  unsigned value = 0;
  const auto* end = text.data() + text.size();
  const auto result = std::from_chars(text.data(), end, value);
  if (text.empty() || result.ec != std::errc{} || result.ptr != end || value > 65535) {
    throw std::invalid_argument("invalid socket address '" + std::string(whole) +
                                "': the port must be a number from 0 to 65535");
  }
  return static_cast<std::uint16_t>(value);
}

}  // namespace

SocketAddress::SocketAddress() noexcept {
  as_ipv4(storage_)->sin_family = AF_INET;
  length_ = sizeof(sockaddr_in);
}

SocketAddress SocketAddress::parse(std::string_view host, std::uint16_t port) {
  if (host == "localhost") {
    host = "127.0.0.1";
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  // inet_pton wants a NUL-terminated string; INET6_ADDRSTRLEN bounds any
  // valid address, so longer text is rejected without copying it.
  std::array<char, INET6_ADDRSTRLEN + 1> text{};
  SocketAddress address;
  if (host.size() < text.size()) {
    std::memcpy(text.data(), host.data(), host.size());
    if (::inet_pton(AF_INET, text.data(), &as_ipv4(address.storage_)->sin_addr) == 1) {
      address.set_port(port);
      return address;
    }
    address.storage_ = {};
    sockaddr_in6* ipv6 = as_ipv6(address.storage_);
    if (::inet_pton(AF_INET6, text.data(), &ipv6->sin6_addr) == 1) {
      ipv6->sin6_family = AF_INET6;
      address.length_ = sizeof(sockaddr_in6);
      address.set_port(port);
      return address;
    }
  }
  throw std::invalid_argument("invalid IP address '" + std::string(host) +
                              "': expected a numeric IPv4 or IPv6 address (or localhost)");
}

SocketAddress SocketAddress::parse(std::string_view host_and_port) {
  const auto colon = host_and_port.rfind(':');
  if (colon == std::string_view::npos) {
    throw std::invalid_argument("invalid socket address '" + std::string(host_and_port) +
                                "': expected host:port");
  }
  std::string_view host = host_and_port.substr(0, colon);
  // An IPv6 host must be bracketed, or its own colons make the port ambiguous.
  if (host.find(':') != std::string_view::npos && !(host.size() >= 2 && host.front() == '[')) {
    throw std::invalid_argument("invalid socket address '" + std::string(host_and_port) +
                                "': write IPv6 hosts in brackets, as in [::1]:80");
  }
  return parse(host, parse_port(host_and_port.substr(colon + 1), host_and_port));
}

SocketAddress SocketAddress::from_sockaddr(const sockaddr* address, socklen_t length) {
  SocketAddress result;
  if (address->sa_family == AF_INET && length >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    std::memcpy(&result.storage_, address, sizeof(sockaddr_in));
    result.length_ = sizeof(sockaddr_in);
  } else if (address->sa_family == AF_INET6 &&
             length >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    std::memcpy(&result.storage_, address, sizeof(sockaddr_in6));
    result.length_ = sizeof(sockaddr_in6);
  } else {
    throw std::invalid_argument("unsupported socket address family " +
                                std::to_string(address->sa_family) + ": expected IPv4 or IPv6");
  }
  return result;
}

SocketAddress SocketAddress::local_of(int fd) {
  sockaddr_storage storage{};
  socklen_t length = sizeof(storage);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length) != 0) {
    throw_errno("getsockname on fd " + std::to_string(fd));
  }
  return from_sockaddr(reinterpret_cast<const sockaddr*>(&storage), length);
}

SocketAddress SocketAddress::peer_of(int fd) {
  sockaddr_storage storage{};
  socklen_t length = sizeof(storage);
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&storage), &length) != 0) {
    throw_errno("getpeername on fd " + std::to_string(fd));
  }
  return from_sockaddr(reinterpret_cast<const sockaddr*>(&storage), length);
}

std::uint16_t SocketAddress::port() const noexcept {
  return ntohs(is_ipv6() ? as_ipv6(storage_)->sin6_port : as_ipv4(storage_)->sin_port);
}

void SocketAddress::set_port(std::uint16_t port) noexcept {
  if (is_ipv6()) {
    as_ipv6(storage_)->sin6_port = htons(port);
  } else {
    as_ipv4(storage_)->sin_port = htons(port);
  }
}

std::string SocketAddress::host() const {
  std::array<char, INET6_ADDRSTRLEN> text{};
  const void* raw = is_ipv6() ? static_cast<const void*>(&as_ipv6(storage_)->sin6_addr)
                              : static_cast<const void*>(&as_ipv4(storage_)->sin_addr);
  // Cannot fail: the family is one inet_ntop knows and the buffer is large
  // enough for any address of it.
  ::inet_ntop(family(), raw, text.data(), text.size());
  return text.data();
}

std::string SocketAddress::to_string() const {
  std::string port_text = std::to_string(port());
  return is_ipv6() ? "[" + host() + "]:" + port_text : host() + ":" + port_text;
}

bool operator==(const SocketAddress& a, const SocketAddress& b) noexcept {
  return a.length_ == b.length_ && std::memcmp(&a.storage_, &b.storage_, a.length_) == 0;
}

}  // namespace pz
