// The Boost.Asio peer for the server benchmark (bench/server_bench.sh): the
// pizza protocol served the way an asio user would write it, with C++20
// coroutines (asio::awaitable, co_spawn), async_read_until on a dynamic
// buffer and async_write. It parses orders with the same function as
// pizzeria, so the comparison is of the I/O machinery alone.
//
//   asio_pizza_server PORT [THREADS]
//
// THREADS io_contexts, one per thread, each with its own SO_REUSEPORT
// acceptor: the same sharding pizzeria's event-driven models use, and the
// fastest asio layout for many short requests. Prints "listening on PORT"
// once bound; stops on SIGINT/SIGTERM.
#include <sys/socket.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read_until.hpp>
#include <asio/signal_set.hpp>
#include <asio/streambuf.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "pizzeria/pizza/protocol.hpp"

namespace {

using asio::ip::tcp;

asio::awaitable<void> serve(tcp::socket socket) {
  std::string input;
  std::string output;
  try {
    while (true) {
      const std::size_t length = co_await asio::async_read_until(
          socket, asio::dynamic_buffer(input, std::size_t{1} << 20), '\n', asio::use_awaitable);
      // Answer every complete line already buffered in one write, as a
      // pipelining client expects.
      output.clear();
      std::size_t start = 0;
      std::size_t end = length;
      while (true) {
        std::string_view line(input.data() + start, end - 1 - start);
        if (!line.empty() && line.back() == '\r') {
          line.remove_suffix(1);
        }
        pz::pizza::append_reply(output, pz::pizza::parse_order_line(line));
        start = end;
        const std::size_t next = input.find('\n', start);
        if (next == std::string::npos) {
          break;
        }
        end = next + 1;
      }
      input.erase(0, start);
      co_await asio::async_write(socket, asio::buffer(output), asio::use_awaitable);
    }
  } catch (const std::exception&) {
    // EOF or reset: the connection is over.
  }
}

void start(tcp::socket socket) {
  socket.set_option(tcp::no_delay(true));
  const auto executor = socket.get_executor();
  asio::co_spawn(executor, serve(std::move(socket)), asio::detached);
}

// One async_accept per wake-up, then whatever else the backlog holds (up to
// 64, as pizzeria's servers take). The plain loop accepts one connection per
// turn of the reactor: while 10,000 clients are being served a turn takes
// about a millisecond, so the backlog overflows at 5,000 connects/s and the
// dropped SYNs come back seconds later, and the benchmark then compares a
// server with half its clients against one with all of them.
asio::awaitable<void> listen(tcp::acceptor& acceptor) {
  acceptor.non_blocking(true);
  while (true) {
    start(co_await acceptor.async_accept(asio::use_awaitable));
    for (int i = 1; i < 64; ++i) {
      std::error_code error;
      tcp::socket more = acceptor.accept(error);
      if (error) {
        break;  // would_block: the backlog is empty
      }
      start(std::move(more));
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: asio_pizza_server PORT [THREADS]\n");
    return 2;
  }
  const auto port = static_cast<unsigned short>(std::atoi(argv[1]));
  const int threads = argc > 2 ? std::max(1, std::atoi(argv[2])) : 1;

  std::vector<std::unique_ptr<asio::io_context>> contexts;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), port);
  for (int i = 0; i < threads; ++i) {
    contexts.push_back(std::make_unique<asio::io_context>(1));
    auto acceptor = std::make_unique<tcp::acceptor>(*contexts.back());
    acceptor->open(endpoint.protocol());
    acceptor->set_option(asio::socket_base::reuse_address(true));
    const int on = 1;
    ::setsockopt(acceptor->native_handle(), SOL_SOCKET, SO_REUSEPORT, &on, sizeof on);
    acceptor->bind(endpoint);
    acceptor->listen(4096);
    acceptors.push_back(std::move(acceptor));
    asio::co_spawn(*contexts.back(), listen(*acceptors.back()), asio::detached);
  }
  asio::signal_set signals(*contexts.front(), SIGINT, SIGTERM);
  signals.async_wait([&](const std::error_code&, int) {
    for (auto& context : contexts) {
      context->stop();
    }
  });
  std::printf("listening on %u\n",
              static_cast<unsigned>(acceptors.front()->local_endpoint().port()));
  std::fflush(stdout);

  std::vector<std::thread> workers;
  for (int i = 1; i < threads; ++i) {
    workers.emplace_back([&context = *contexts[static_cast<std::size_t>(i)]] { context.run(); });
  }
  contexts.front()->run();
  for (auto& worker : workers) {
    worker.join();
  }
  return 0;
}
