#include "support/redis_server.hpp"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <system_error>
#include <utility>
#include <vector>

#include "pizzeria/core/unique_fd.hpp"

namespace pz::test {

namespace {

std::string find_redis_server() {
  for (const char* candidate : {"/usr/bin/redis-server", "/usr/local/bin/redis-server"}) {
    if (::access(candidate, X_OK) == 0) {
      return candidate;
    }
  }
  throw std::runtime_error(
      "redis-server not found: the kitchen tests need Debian's redis-server (run "
      "scripts/install-deps.sh)");
}

// Redis cannot bind port 0 and report the port, so: a port the kernel just
// handed out, released. Another process could take it in between; start()
// then fails and the constructor tries another.
std::uint16_t free_port() {
  const UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (!fd || ::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    throw std::system_error(errno, std::generic_category(), "finding a free port for Redis");
  }
  return ntohs(address.sin_port);
}

}  // namespace

RedisServer::RedisServer(Durability durability, std::string password)
    : durability_(durability), password_(std::move(password)) {
  char pattern[] = "/tmp/pz-redis-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) {
    throw std::system_error(errno, std::generic_category(), "creating Redis's directory");
  }
  directory_ = pattern;
  for (int attempt = 1;; ++attempt) {
    port_ = free_port();
    try {
      start();
      return;
    } catch (const std::exception&) {
      if (attempt == 3) {
        std::filesystem::remove_all(directory_);
        throw;
      }
    }
  }
}

RedisServer::~RedisServer() {
  process_.reset();  // kills and reaps it
  std::error_code ignored;
  std::filesystem::remove_all(directory_, ignored);
}

void RedisServer::crash() {
  if (process_) {
    process_->signal(SIGKILL);
    process_->wait();
    process_.reset();
  }
}

void RedisServer::pause() {
  if (process_) {
    process_->signal(SIGSTOP);
  }
}

void RedisServer::resume() {
  if (process_) {
    process_->signal(SIGCONT);
  }
}

void RedisServer::start() {
  crash();
  const bool durable = durability_ == Durability::every_write;
  std::vector<std::string> argv{find_redis_server(),
                                "--port",
                                std::to_string(port_),
                                "--bind",
                                "127.0.0.1",
                                "--dir",
                                directory_,
                                "--save",
                                "",
                                "--appendonly",
                                durable ? "yes" : "no",
                                "--appendfsync",
                                "always",
                                "--protected-mode",
                                "no",
                                "--daemonize",
                                "no"};
  if (!password_.empty()) {
    argv.push_back("--requirepass");
    argv.push_back(password_);
  }
  process_ = std::make_unique<ChildProcess>(std::move(argv));
  // Its log goes to the pipe; the line that says it listens comes within a
  // few lines. Later lines are rare at the default log level, so the pipe
  // does not fill while the test runs.
  for (int line = 0; line < 100; ++line) {
    const std::string text = process_->read_line();
    if (text.find("Ready to accept connections") != std::string::npos) {
      return;
    }
  }
  process_.reset();
  throw std::runtime_error("redis-server did not start on port " + std::to_string(port_));
}

}  // namespace pz::test
