// The service manager's end of sd_notify for tests: a bound AF_UNIX
// datagram socket at a fresh path (or an abstract name), named in
// NOTIFY_SOCKET while it lives, so the test process and the children it
// starts notify it.
#pragma once

#include <errno.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <string>

#include "pizzeria/core/unique_fd.hpp"

namespace pz::test {

// A bound AF_UNIX datagram socket at a fresh path, named in NOTIFY_SOCKET
// while it lives.
class NotifySocket {
 public:
  explicit NotifySocket(bool abstract = false) {
    char dir[] = "/tmp/pz-notify-XXXXXX";
    EXPECT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
    socket_ = UniqueFd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    socklen_t length = sizeof address;
    if (abstract) {
      // Abstract namespace: a leading NUL, spelled '@' in NOTIFY_SOCKET.
      name_ = "@pz-notify-test-" + std::to_string(::getpid());
      std::memcpy(address.sun_path + 1, name_.data() + 1, name_.size() - 1);
      length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name_.size());
    } else {
      name_ = dir_ + "/notify";
      std::memcpy(address.sun_path, name_.c_str(), name_.size() + 1);
    }
    EXPECT_EQ(::bind(socket_.get(), reinterpret_cast<sockaddr*>(&address), length), 0)
        << std::strerror(errno);
    ::setenv("NOTIFY_SOCKET", name_.c_str(), 1);
  }
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;
  ~NotifySocket() {
    ::unsetenv("NOTIFY_SOCKET");
    if (name_.front() != '@') {
      ::unlink(name_.c_str());
    }
    ::rmdir(dir_.c_str());
  }

  // The next datagram, or "" when none comes within 30 s.
  std::string receive() const {
    pollfd ready{.fd = socket_.get(), .events = POLLIN, .revents = 0};
    if (::poll(&ready, 1, 30'000) != 1) {
      return "";
    }
    char buffer[4096];
    const ssize_t got = ::recv(socket_.get(), buffer, sizeof buffer, 0);
    return got > 0 ? std::string(buffer, static_cast<std::size_t>(got)) : "";
  }

  // True when no datagram is queued now (never waits).
  bool empty() const {
    char byte;
    return ::recv(socket_.get(), &byte, 1, MSG_DONTWAIT | MSG_PEEK) < 0 && errno == EAGAIN;
  }

  const std::string& name() const { return name_; }

 private:
  std::string dir_;
  std::string name_;
  UniqueFd socket_;
};

}  // namespace pz::test
