#include "support/scripted_server.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <string>

#include "pizzeria/core/system_error.hpp"

namespace pz::test {

std::string ScriptedConnection::read_line() {
  std::string line;
  char byte = 0;
  while (::recv(fd_.get(), &byte, 1, 0) == 1) {
    line.push_back(byte);
    if (byte == '\n') {
      break;
    }
  }
  return line;
}

std::string ScriptedConnection::read_exactly(std::size_t count) {
  std::string bytes(count, '\0');
  std::size_t have = 0;
  while (have < count) {
    const ssize_t got = ::recv(fd_.get(), bytes.data() + have, count - have, 0);
    if (got <= 0) {
      break;
    }
    have += static_cast<std::size_t>(got);
  }
  bytes.resize(have);
  return bytes;
}

std::string ScriptedConnection::read_some() {
  char buffer[65536];
  const ssize_t got = ::recv(fd_.get(), buffer, sizeof buffer, 0);
  return got > 0 ? std::string(buffer, static_cast<std::size_t>(got)) : std::string();
}

bool ScriptedConnection::send(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t sent = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) {
      continue;
    }
    if (sent <= 0) {
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(sent));
  }
  return true;
}

void ScriptedConnection::shutdown_write() {
  ::shutdown(fd_.get(), SHUT_WR);
}

void ScriptedConnection::reset() {
  const linger abortive{1, 0};
  ::setsockopt(fd_.get(), SOL_SOCKET, SO_LINGER, &abortive, sizeof abortive);
  close();
}

void ScriptedConnection::close() {
  // Unlisted first, so the destructor never shuts down a reused number.
  {
    std::lock_guard lock(server_.mutex_);
    server_.open_fds_.remove(fd_.get());
  }
  fd_.reset();
}

void ScriptedConnection::hold() {
  std::unique_lock lock(server_.mutex_);
  server_.stopping_changed_.wait(lock, [this] { return server_.stopping_; });
}

ScriptedServer::ScriptedServer(Script script) : script_(std::move(script)) {
  listener_ = UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!listener_) {
    throw_errno("scripted server: socket");
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (::bind(listener_.get(), reinterpret_cast<const sockaddr*>(&address), length) != 0 ||
      ::listen(listener_.get(), 128) != 0 ||
      ::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    throw_errno("scripted server: bind/listen on 127.0.0.1");
  }
  port_ = ntohs(address.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

ScriptedServer::~ScriptedServer() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    // Wakes every script blocked in recv or send on its connection.
    for (const int fd : open_fds_) {
      ::shutdown(fd, SHUT_RDWR);
    }
  }
  stopping_changed_.notify_all();
  // Wakes accept(2).
  ::shutdown(listener_.get(), SHUT_RDWR);
  acceptor_.join();
  for (auto& connection : connections_) {
    connection.join();
  }
}

int ScriptedServer::accepted() const {
  std::lock_guard lock(mutex_);
  return accepted_;
}

void ScriptedServer::accept_loop() {
  for (;;) {
    const int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) {
        continue;
      }
      return;  // shut down by the destructor
    }
    std::lock_guard lock(mutex_);
    if (stopping_) {
      ::close(fd);
      return;
    }
    ++accepted_;
    open_fds_.push_back(fd);
    connections_.emplace_back([this, fd] {
      ScriptedConnection connection(*this, UniqueFd(fd));
      script_(connection);
      connection.close();
    });
  }
}

FullBacklogListener::FullBacklogListener() {
  listener_ = UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  auto* raw = reinterpret_cast<sockaddr*>(&address);
  if (!listener_ || ::bind(listener_.get(), raw, length) != 0 ||
      ::listen(listener_.get(), 0) != 0 || ::getsockname(listener_.get(), raw, &length) != 0) {
    throw_errno("full-backlog listener: bind/listen on 127.0.0.1");
  }
  port_ = ntohs(address.sin_port);
  // Backlog 0 holds one connection; two more make sure it is full.
  // Non-blocking: a connect to the full queue would otherwise wait here.
  for (int i = 0; i < 3; ++i) {
    UniqueFd filler(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    (void)::connect(filler.get(), raw, length);
    fillers_.push_back(std::move(filler));
  }
}

}  // namespace pz::test
