// `pizzeria order N...`: the pizza client. Sends every order at once
// (pipelined), ends its side of the stream, and prints each reply.
#include <sys/socket.h>

#include <cerrno>
#include <cstdio>
#include <string>
#include <vector>

#include "commands.hpp"
#include "pizzeria/core/system_error.hpp"
#include "pizzeria/net/socket_ops.hpp"
#include "pizzeria/pizza/protocol.hpp"

namespace pz::app {

namespace {

struct OrderArguments {
  std::vector<std::string> orders;
  std::string host{pizza::kDefaultHost};
  std::uint16_t port = pizza::kDefaultPort;
};

void send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t sent = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) {
      continue;
    }
    if (sent < 0) {
      throw_errno("sending the orders");
    }
    bytes.remove_prefix(static_cast<std::size_t>(sent));
  }
}

// Returns the exit status: 0 when every order got its reply.
int place_orders(const OrderArguments& arguments) {
  const SocketAddress address = SocketAddress::parse(arguments.host, arguments.port);
  UniqueFd socket = connect_tcp(address);
  std::string request;
  for (const std::string& order : arguments.orders) {
    request += order;
    request += '\n';
  }
  // Orders travel together; replies come back in the same order. Small
  // batches fit the socket buffers, so sending all before reading is safe.
  send_all(socket.get(), request);
  ::shutdown(socket.get(), SHUT_WR);
  std::size_t replies = 0;
  bool busy = false;
  std::string pending;
  char buffer[4096];
  while (true) {
    const ssize_t received = ::recv(socket.get(), buffer, sizeof(buffer), 0);
    if (received < 0 && errno == EINTR) {
      continue;
    }
    if (received < 0) {
      throw_errno("reading the replies from " + address.to_string());
    }
    if (received == 0) {
      break;
    }
    pending.append(buffer, static_cast<std::size_t>(received));
    std::size_t newline = 0;
    while ((newline = pending.find('\n')) != std::string::npos) {
      const std::string line = pending.substr(0, newline + 1);
      busy = busy || line == pizza::kBusyReply;
      std::fwrite(line.data(), 1, line.size(), stdout);
      ++replies;
      pending.erase(0, newline + 1);
    }
  }
  std::fflush(stdout);
  if (busy) {
    return 1;
  }
  if (replies != arguments.orders.size()) {
    std::fprintf(stderr, "pizzeria order: %s closed the connection after %zu of %zu replies\n",
                 address.to_string().c_str(), replies, arguments.orders.size());
    return 1;
  }
  return 0;
}

}  // namespace

void register_order_command(CLI::App& app, int& exit_code) {
  auto arguments = std::make_shared<OrderArguments>();
  auto* command = app.add_subcommand(
      "order", "Order pizzas from a running `pizzeria serve`: pizzeria order N... (pipelined)");
  // The orders are the arguments that are not options, taken in the order
  // given. They are collected as CLI11 "extras" rather than as a positional
  // option so that "-3" (a negative order) needs no "--" and stays in place.
  command->allow_extras();
  command->footer(
      "Orders: every argument that is not an option, e.g. `pizzeria order 7 +3 -3 abc`;\n"
      "each becomes one line on the wire and gets one reply.");
  command->add_option("--host", arguments->host, "Server address")->capture_default_str();
  command->add_option("--port,-p", arguments->port, "Server port")->capture_default_str();
  command->callback([command, arguments, &exit_code] {
    arguments->orders = command->remaining();
    if (arguments->orders.empty()) {
      throw CLI::ValidationError("orders", "give at least one order, e.g. `pizzeria order 7`");
    }
    exit_code = place_orders(*arguments);
  });
}

}  // namespace pz::app
