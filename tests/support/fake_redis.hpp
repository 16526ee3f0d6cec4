// A fake "Redis" for tests of what pz::RedisConnection, KitchenQueue and
// Kitchen do when the server misbehaves: a listener on a free loopback port
// whose every connection runs the test's script on a thread of its own,
// with blocking I/O (the script decides what bytes to send, and when).
//
//   test::FakeRedis fake([](test::FakeRedis::Peer& peer) {
//     while (!peer.read_command().empty()) {
//       peer.send("$9999999999\r\n");   // a reply that never ends
//     }
//   });
//   ... connect to 127.0.0.1:fake.port() ...
//
// The destructor shuts every connection down (a script blocked in a read or
// a send returns) and joins the threads.
//
// Thread safety: port() and connections() from any thread; a Peer belongs
// to its script.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace pz::test {

class FakeRedis {
 public:
  class Peer {
   public:
    explicit Peer(int fd) noexcept : fd_(fd) {}
    // The next command's words (a RESP array of bulk strings); empty when
    // the client closed the connection or sent something else.
    std::vector<std::string> read_command();
    // Sends all of `bytes`; false once the client is gone.
    bool send(std::string_view bytes);
    // Sends `chunk` again and again until the client closes the connection
    // or `limit` bytes went out; returns the bytes sent.
    std::size_t flood(std::string_view chunk, std::size_t limit);
    // Ends the conversation from the server's side (a FIN, as a Redis that
    // closes the connection sends); reads still see what the client sent.
    void hang_up() noexcept;
    [[nodiscard]] int number() const noexcept { return number_; }  // 1 for the first connection

   private:
    friend class FakeRedis;
    bool fill();
    int fd_;
    int number_ = 0;
    std::string buffer_;
  };
  using Script = std::function<void(Peer&)>;

  explicit FakeRedis(Script script);
  FakeRedis(const FakeRedis&) = delete;
  FakeRedis& operator=(const FakeRedis&) = delete;
  ~FakeRedis();

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  // Connections accepted so far.
  [[nodiscard]] int connections() const noexcept {
    return accepted_.load(std::memory_order_acquire);  // pairs with the release in accept_loop
  }

 private:
  void accept_loop();

  Script script_;
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<int> accepted_{0};
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;  // guards fds_ and threads_
  std::vector<int> fds_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

}  // namespace pz::test
