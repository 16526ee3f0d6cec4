// A misbehaving TCP server for client tests: listens on 127.0.0.1 (port 0)
// and runs `script` on a thread of its own for every connection it accepts.
// The script does whatever the test needs the server to do wrong: never
// answer, answer too much, close or reset in the middle of a reply, ...
//
//   test::ScriptedServer server([](test::ScriptedConnection& c) {
//     c.read_line();                 // the request
//     c.send("half a rep");
//     c.reset();                     // RST instead of FIN
//   });
//   run_program({pizzeria_binary(), "order", "--port", server.port_text(), "3"});
//
// Every blocking call of a connection returns once the server is being
// destroyed (the destructor shuts the sockets down and wakes hold()), so a
// script that "never answers" ends with the test.
//
// Thread safety: the public functions of ScriptedServer from the test's
// thread; a ScriptedConnection belongs to its script's thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "pizzeria/core/unique_fd.hpp"

namespace pz::test {

class ScriptedServer;

class ScriptedConnection {
 public:
  ScriptedConnection(ScriptedServer& server, UniqueFd fd) : server_(server), fd_(std::move(fd)) {}

  [[nodiscard]] int fd() const noexcept { return fd_.get(); }
  // Up to and including the next '\n'; what there is at end of stream.
  std::string read_line();
  // Exactly `count` bytes, or fewer at end of stream.
  std::string read_exactly(std::size_t count);
  // Whatever the next recv brings ("" at end of stream).
  std::string read_some();
  // All of it, unless the peer is gone (then false).
  bool send(std::string_view bytes);
  // Sends nothing more: FIN.
  void shutdown_write();
  // Closes with SO_LINGER 0: the peer sees ECONNRESET, not an end of stream.
  void reset();
  void close();
  // Blocks until the server is destroyed: a server that never answers.
  void hold();

 private:
  ScriptedServer& server_;
  UniqueFd fd_;
};

class ScriptedServer {
 public:
  using Script = std::function<void(ScriptedConnection&)>;

  explicit ScriptedServer(Script script);
  ScriptedServer(const ScriptedServer&) = delete;
  ScriptedServer& operator=(const ScriptedServer&) = delete;
  ~ScriptedServer();

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  [[nodiscard]] std::string port_text() const { return std::to_string(port_); }
  // "127.0.0.1:PORT", as the clients name the server in their messages.
  [[nodiscard]] std::string address_text() const { return "127.0.0.1:" + port_text(); }
  // Connections accepted so far.
  [[nodiscard]] int accepted() const;

 private:
  friend class ScriptedConnection;

  void accept_loop();

  Script script_;
  UniqueFd listener_;
  std::uint16_t port_ = 0;
  mutable std::mutex mutex_;
  std::condition_variable stopping_changed_;
  bool stopping_ = false;
  int accepted_ = 0;
  std::list<int> open_fds_;  // guarded by mutex_: shut down by the destructor
  std::list<std::thread> connections_;
  std::thread acceptor_;
};

// A listener that never completes a connection: its accept queue is full,
// so the kernel drops further SYNs and a connect waits for its retries
// (about two minutes) unless the client bounds it.
class FullBacklogListener {
 public:
  FullBacklogListener();
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  [[nodiscard]] std::string port_text() const { return std::to_string(port_); }

 private:
  UniqueFd listener_;
  std::uint16_t port_ = 0;
  std::list<UniqueFd> fillers_;
};

}  // namespace pz::test
