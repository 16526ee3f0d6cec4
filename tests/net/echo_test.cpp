// Echo over loopback: many concurrent clients, every byte echoed exactly.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <string>

#include "pizzeria/coro/event.hpp"
#include "pizzeria/coro/run.hpp"
#include "pizzeria/coro/task_group.hpp"
#include "pizzeria/net/open_connection.hpp"
#include "pizzeria/net/tcp_listener.hpp"

namespace {

constexpr int kClients = 1000;
constexpr int kLines = 100;

pz::Task<void> echo_connection(pz::TcpStream stream) {
  for (;;) {
    std::string line = co_await stream.read_line(1024);
    if (line.empty()) {
      break;
    }
    stream.write(line);
    co_await stream.drain();
  }
  co_await stream.flush();
}

pz::Task<void> serve(pz::TcpListener& listener, int connections) {
  pz::TaskGroup group;
  for (int i = 0; i < connections; ++i) {
    group.spawn(echo_connection(co_await listener.accept()));
  }
  co_await group.join();
}

std::string line_for(int client, int line) {
  // Lines of different lengths, so that boundaries are exercised.
  return std::to_string(client) + ":" + std::to_string(line) + ":" +
         std::string(static_cast<std::size_t>((client * 7 + line * 13) % 50), 'z') + "\n";
}

pz::Task<void> client(std::uint16_t port, int id, int& connected, pz::Event& all_connected,
                      int& verified) {
  pz::TcpStream stream = co_await pz::open_connection("127.0.0.1", port);
  if (++connected == kClients) {
    all_connected.set();
  }
  co_await all_connected.wait();  // every connection is open at the same time
  std::string expected;
  for (int line = 0; line < kLines; ++line) {
    expected += line_for(id, line);
  }
  // Half the clients pipeline everything, half go line by line.
  std::string echoed;
  if (id % 2 == 0) {
    stream.write(expected);
    co_await stream.drain();
    for (int line = 0; line < kLines; ++line) {
      echoed += co_await stream.read_line(1024);
    }
  } else {
    for (int line = 0; line < kLines; ++line) {
      stream.write(line_for(id, line));
      echoed += co_await stream.read_line(1024);
    }
  }
  stream.shutdown_write();
  EXPECT_EQ(co_await stream.read_some(), "");  // the server saw our FIN and closed
  if (echoed == expected) {
    ++verified;
  } else {
    ADD_FAILURE() << "client " << id << " got back different bytes";
  }
}

TEST(Echo, AThousandConcurrentClientsGetEveryByteBack) {
  // 2 descriptors per connection in this process (both ends).
  rlimit limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
  if (limit.rlim_cur < 2 * kClients + 100) {
    limit.rlim_cur = limit.rlim_max;
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &limit), 0);
  }
  ASSERT_GE(limit.rlim_cur, static_cast<rlim_t>(2 * kClients + 100))
      << "hard RLIMIT_NOFILE too low";

  int connected = 0;
  int verified = 0;
  auto body = [&]() -> pz::Task<void> {
    pz::ListenerOptions options;
    options.listen.backlog = 4096;
    auto listener = pz::TcpListener::bind(pz::SocketAddress::parse("127.0.0.1", 0), options);
    pz::Event all_connected;
    pz::TaskGroup group;
    group.spawn(serve(listener, kClients));
    for (int id = 0; id < kClients; ++id) {
      group.spawn(client(listener.port(), id, connected, all_connected, verified));
    }
    co_await group.join();
  };
  pz::run(body());
  EXPECT_EQ(connected, kClients);
  EXPECT_EQ(verified, kClients);
}

}  // namespace
