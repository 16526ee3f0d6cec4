// asyncio streams in C++: an echo server (asyncio.start_server) and two
// clients (asyncio.open_connection) in one program, over loopback (seed 002,
// "Streams" and "AsyncIO clients").
//
// The server binds port 0, so the kernel picks a free port and the program
// never collides with anything else listening; the clients ask the listener
// which port it got. The port is not printed, since it changes every run.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <tuple>

#include "pizzeria/coro/gather.hpp"
#include "pizzeria/coro/run.hpp"
#include "pizzeria/coro/task_group.hpp"
#include "pizzeria/coro/timeout.hpp"
#include "pizzeria/net/open_connection.hpp"
#include "pizzeria/net/serve_forever.hpp"
#include "pizzeria/net/socket_address.hpp"
#include "pizzeria/net/tcp_listener.hpp"
#include "pizzeria/net/tcp_stream.hpp"

using namespace std::chrono_literals;

// One connection: echo every line until the client ends its stream.
pz::Task<void> echo(pz::TcpStream stream) {
  for (;;) {
    std::string line = co_await stream.read_line(1024);
    if (line.empty()) {
      break;  // end of stream
    }
    stream.write(line);       // never blocks: queues what the kernel does not take
    co_await stream.drain();  // back-pressure, as writer.drain()
  }
  co_await stream.flush();  // send what is queued before the stream closes
}

pz::Task<std::string> client(std::uint16_t port, std::string name) {
  pz::TcpStream stream = co_await pz::open_connection("127.0.0.1", port);
  stream.write("hello from " + name + "\n");
  std::string reply = co_await stream.read_line(1024);
  stream.shutdown_write();  // like writer.write_eof(): the server's loop ends
  std::string rest = co_await stream.read_some();
  co_return reply + (rest.empty() ? "then the server closed\n" : "unexpected bytes\n");
}

pz::Task<void> main_task() {
  pz::TcpListener listener = pz::TcpListener::bind(pz::SocketAddress::parse("127.0.0.1", 0));
  // asyncio.start_server + serve_forever: each client gets its own echo task.
  pz::TaskGroup server;
  server.spawn(pz::serve_forever(listener, echo));

  // Every network wait is bounded: a stuck peer raises pz::TimeoutError.
  std::string alice = "alice";
  std::string bob = "bob";
  auto both = pz::gather(client(listener.port(), alice), client(listener.port(), bob));
  std::tuple<std::string, std::string> replies = co_await pz::timeout(10s, std::move(both));
  std::printf("%s%s", std::get<0>(replies).c_str(), std::get<1>(replies).c_str());

  // server.close(): serve_forever stops accepting, ends its connections and
  // returns, so join() finds nothing left running.
  server.cancel();
  co_await server.join();
}

int main() {
  pz::run(main_task());
}
