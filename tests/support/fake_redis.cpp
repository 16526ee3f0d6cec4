#include "support/fake_redis.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <stdexcept>
#include <system_error>

namespace pz::test {

namespace {

std::system_error failure(const char* what) {
  return std::system_error(errno, std::generic_category(), what);
}

}  // namespace

bool FakeRedis::Peer::fill() {
  char chunk[4096];
  for (;;) {
    const ssize_t got = ::recv(fd_, chunk, sizeof chunk, 0);
    if (got > 0) {
      buffer_.append(chunk, static_cast<std::size_t>(got));
      return true;
    }
    if (got < 0 && errno == EINTR) {
      continue;
    }
    return false;
  }
}

std::vector<std::string> FakeRedis::Peer::read_command() {
  // "*N\r\n" then N times "$LEN\r\nBYTES\r\n".
  std::size_t at = 0;
  const auto line = [&](std::string& out) {
    for (;;) {
      const std::size_t end = buffer_.find("\r\n", at);
      if (end != std::string::npos) {
        out = buffer_.substr(at, end - at);
        at = end + 2;
        return true;
      }
      if (!fill()) {
        return false;
      }
    }
  };
  std::string header;
  if (!line(header) || header.empty() || header[0] != '*') {
    return {};
  }
  const long count = std::strtol(header.c_str() + 1, nullptr, 10);
  std::vector<std::string> words;
  for (long i = 0; i < count; ++i) {
    std::string length;
    if (!line(length) || length.empty() || length[0] != '$') {
      return {};
    }
    const auto size = static_cast<std::size_t>(std::strtoul(length.c_str() + 1, nullptr, 10));
    while (buffer_.size() < at + size + 2) {
      if (!fill()) {
        return {};
      }
    }
    words.push_back(buffer_.substr(at, size));
    at += size + 2;
  }
  buffer_.erase(0, at);
  return words;
}

bool FakeRedis::Peer::send(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t sent = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EINTR) {
        continue;
      }
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(sent));
  }
  return true;
}

void FakeRedis::Peer::hang_up() noexcept {
  ::shutdown(fd_, SHUT_WR);
}

std::size_t FakeRedis::Peer::flood(std::string_view chunk, std::size_t limit) {
  std::size_t sent = 0;
  while (sent < limit && send(chunk)) {
    sent += chunk.size();
  }
  return sent;
}

FakeRedis::FakeRedis(Script script) : script_(std::move(script)) {
  listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener_ < 0) {
    throw failure("fake Redis: socket");
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t size = sizeof address;
  if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listener_, 16) != 0 ||
      ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
    const std::system_error error = failure("fake Redis: bind/listen on 127.0.0.1:0");
    ::close(listener_);
    throw error;
  }
  port_ = ntohs(address.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

void FakeRedis::accept_loop() {
  for (;;) {
    const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) {
        continue;
      }
      return;  // shut down by the destructor
    }
    const std::lock_guard lock(mutex_);
    if (stopping_.load(std::memory_order_relaxed)) {  // the mutex orders it
      ::close(fd);
      return;
    }
    fds_.push_back(fd);
    // Release: a test that sees the count sees the connection accepted.
    const int number = accepted_.fetch_add(1, std::memory_order_release) + 1;
    threads_.emplace_back([this, fd, number] {
      Peer peer(fd);
      peer.number_ = number;
      script_(peer);
      ::shutdown(fd, SHUT_RDWR);  // the script is done: the client sees the end
    });
  }
}

FakeRedis::~FakeRedis() {
  {
    const std::lock_guard lock(mutex_);
    stopping_.store(true, std::memory_order_relaxed);  // the mutex orders it
    for (const int fd : fds_) {
      ::shutdown(fd, SHUT_RDWR);
    }
  }
  ::shutdown(listener_, SHUT_RDWR);
  acceptor_.join();
  for (std::thread& thread : threads_) {
    thread.join();
  }
  for (const int fd : fds_) {
    ::close(fd);
  }
  ::close(listener_);
}

}  // namespace pz::test
