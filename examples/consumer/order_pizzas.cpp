// order_pizzas HOST PORT N...: orders N pizzas for each N from a `pizzeria
// serve`, every order on a connection of its own and all of them at once,
// then prints the replies in the order of the arguments.
//
// It is the program of docs/using-pizzeria.md, built outside pizzeria's tree
// against the installed package (CMakeLists.txt, or pkg-config): the tests
// (scripts/check-install.sh) build it both ways and run it against a server.
#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "pizzeria/core/version.hpp"
#include "pizzeria/coro/run.hpp"
#include "pizzeria/coro/task_group.hpp"
#include "pizzeria/net/open_connection.hpp"

namespace {

pz::Task<void> order(std::string host, std::uint16_t port, int pizzas, std::string& reply) {
  pz::TcpStream stream = co_await pz::open_connection(host, port);
  stream.write(std::to_string(pizzas) + "\n");
  reply = co_await stream.read_line();
}

pz::Task<void> order_all(std::string host, std::uint16_t port, std::vector<int> orders) {
  std::vector<std::string> replies(orders.size());
  pz::TaskGroup group;  // the orders run concurrently; none outlives the group
  for (std::size_t i = 0; i < orders.size(); ++i) {
    group.spawn(order(host, port, orders[i], replies[i]));
  }
  co_await group.join();
  for (const std::string& reply : replies) {
    std::fputs(reply.c_str(), stdout);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: order_pizzas HOST PORT N... (pizzeria %.*s)\n",
                 static_cast<int>(pz::version.size()), pz::version.data());
    return 2;
  }
  try {
    std::vector<int> orders;
    for (int i = 3; i < argc; ++i) {
      orders.push_back(std::stoi(argv[i]));
    }
    pz::run(order_all(argv[1], static_cast<std::uint16_t>(std::stoi(argv[2])), orders));
  } catch (const std::exception& error) {
    std::fprintf(stderr, "order_pizzas: %s\n", error.what());
    return 1;
  }
  return 0;
}
