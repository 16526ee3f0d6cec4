// A redis-server of the test's own: on a free loopback port, its files in a
// fresh temporary directory, killed and its directory removed when the test
// is done with it. For the kitchen queue's tests (Debian redis-server,
// installed by scripts/install-deps.sh).
//
//   test::RedisServer redis(test::RedisServer::Durability::every_write);
//   ... connect to 127.0.0.1:redis.port() ...
//   redis.crash();   // SIGKILL: Redis gets no chance to save anything
//   redis.start();   // again, same port and files: what it had persisted
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "support/child_process.hpp"

namespace pz::test {

class RedisServer {
 public:
  enum class Durability {
    none,         // nothing on disk (appendonly no, no snapshots)
    every_write,  // appendonly yes, appendfsync always: a write it confirmed is on disk
  };

  // Starts it and waits until it accepts connections; throws saying why if
  // it cannot (redis-server missing, or it exits).
  // With a password, Redis refuses every command until AUTH gives it
  // (requirepass).
  explicit RedisServer(Durability durability = Durability::none, std::string password = {});
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;
  ~RedisServer();

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  [[nodiscard]] std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  // Its files (dump, appendonlydir/ with the append-only file's parts).
  [[nodiscard]] const std::string& directory() const noexcept { return directory_; }

  // Kills it with SIGKILL and waits for it.
  void crash();
  // Starts it (again) on the same port with the same directory.
  void start();
  // SIGSTOP and SIGCONT: a Redis that stops answering without closing
  // anything (its connections and their unread bytes wait), and resumes.
  void pause();
  void resume();

 private:
  Durability durability_;
  std::string password_;
  std::string directory_;
  std::uint16_t port_ = 0;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace pz::test
