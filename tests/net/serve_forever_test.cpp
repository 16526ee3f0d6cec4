// serve_forever over loopback: a connection whose handler fails ends alone.
#include "pizzeria/net/serve_forever.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "pizzeria/coro/run.hpp"
#include "pizzeria/coro/task_group.hpp"
#include "pizzeria/net/open_connection.hpp"
#include "pizzeria/net/tcp_listener.hpp"

namespace pz {
namespace {

// Echoes lines; "boom" makes it throw, as a send to a client that reset
// would.
Task<void> echo_or_fail(TcpStream stream) {
  for (;;) {
    std::string line = co_await stream.read_line(1024);
    if (line.empty()) {
      break;
    }
    if (line == "boom\n") {
      throw std::runtime_error("the handler failed on purpose");
    }
    stream.write(line);
    co_await stream.drain();
  }
  co_await stream.flush();
}

// One line there and back on an open connection; "" if the server closed it.
Task<std::string> round_trip(TcpStream& stream, const std::string& line) {
  stream.write(line);
  co_await stream.drain();
  co_return co_await stream.read_line(1024);
}

// A TaskGroup takes a child's failure as the group's and cancels the rest:
// the failing connection took its neighbour down with it, and every client
// after it was cut off at once.
TEST(ServeForever, AConnectionWhoseHandlerFailsEndsAloneAndTheServerGoesOn) {
  const auto replies = run([]() -> Task<std::string> {
    TcpListener listener = TcpListener::bind(SocketAddress::parse("127.0.0.1", 0));
    const std::uint16_t port = listener.port();
    TaskGroup server;
    server.spawn(
        serve_forever(listener, [](TcpStream stream) { return echo_or_fail(std::move(stream)); }));
    std::string seen;
    TcpStream neighbour = co_await open_connection("127.0.0.1", port);
    seen += co_await round_trip(neighbour, "before\n");
    TcpStream failing = co_await open_connection("127.0.0.1", port);
    failing.write("boom\n");
    co_await failing.drain();
    seen += (co_await failing.read_some()).empty() ? "failing closed\n" : "failing answered\n";
    seen += co_await round_trip(neighbour, "neighbour still open\n");
    TcpStream later = co_await open_connection("127.0.0.1", port);
    seen += co_await round_trip(later, "a later client\n");
    server.cancel();
    try {
      co_await server.join();
    } catch (const CancelledError&) {
      // Expected: the server was cancelled on purpose.
    }
    co_return seen;
  }());
  EXPECT_EQ(replies, "before\nfailing closed\nneighbour still open\na later client\n");
}

}  // namespace
}  // namespace pz
