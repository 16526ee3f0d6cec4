// `pizzeria order N...`: the pizza client. Sends every order at once
// (pipelined), ends its side of the stream, and prints each reply.
//
// Sending and reading go on together (poll(2)), so a batch larger than the
// socket buffers cannot deadlock against a server that answers while it
// reads, and a server that stops taking orders or replies cannot hold the
// client for ever: --timeout bounds the wait for each step. What the server
// may make the client hold is bounded too: one reply line (a reply is a
// few dozen bytes; a "line" longer than OrderReplies::kMaxReplyLine is not a
// reply), and nothing beyond the last expected reply (pz::pizza::OrderReplies).
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "commands.hpp"
#include "pizzeria/core/system_error.hpp"
#include "pizzeria/core/unique_fd.hpp"
#include "pizzeria/coro/run.hpp"
#include "pizzeria/net/open_connection.hpp"
#include "pizzeria/net/socket_address.hpp"
#include "pizzeria/pizza/order_replies.hpp"
#include "pizzeria/pizza/protocol.hpp"

namespace pz::app {

namespace {

struct OrderArguments {
  std::vector<std::string> orders;
  std::string host{pizza::kDefaultHost};
  std::uint16_t port = pizza::kDefaultPort;
  double timeout = 10;  // seconds without progress either way
};

// Why the exchange ended early; printed after the replies that did arrive.
struct Outcome {
  std::size_t replies = 0;
  bool busy = false;
  std::string failure;   // empty: every order got its reply
  int output_error = 0;  // errno of the first failed write to stdout
};

// Writes go through stdio's buffer; a failure (a full disk, a closed pipe)
// shows at the flush, and is kept so the exit status cannot claim success
// for replies that were lost on the way out.
void flush_output(Outcome& outcome) {
  if (std::fflush(stdout) != 0 && outcome.output_error == 0) {
    outcome.output_error = errno;
  }
}

Outcome exchange(int fd, const std::string& peer, const std::string& request, std::size_t orders,
                 int timeout_ms) {
  Outcome outcome;
  std::size_t sent = 0;
  bool sending = true;
  pizza::OrderReplies replies(orders);
  char buffer[4096];
  const auto progress_text = [&] {
    return std::to_string(outcome.replies) + " of " + std::to_string(orders) + " replies";
  };
  for (;;) {
    pollfd watched{fd, static_cast<short>(POLLIN | (sending ? POLLOUT : 0)), 0};
    const int ready = ::poll(&watched, 1, timeout_ms);
    if (ready < 0 && errno == EINTR) {
      continue;
    }
    if (ready < 0) {
      throw_errno("poll on the connection to " + peer);
    }
    // Once every reply is in, the server owes nothing more: how it ends the
    // connection (a close, a reset, or not at all) no longer matters.
    const bool all_in = !sending && outcome.replies == orders;
    if (ready == 0) {
      if (all_in) {
        return outcome;
      }
      outcome.failure = sending ? peer + " took only " + std::to_string(sent) + " of " +
                                      std::to_string(request.size()) + " bytes of orders in " +
                                      std::to_string(timeout_ms) + " ms (--timeout)"
                                : "no reply from " + peer + " for " + std::to_string(timeout_ms) +
                                      " ms (--timeout) after " + progress_text();
      return outcome;
    }
    if (sending && (watched.revents & (POLLOUT | POLLERR)) != 0) {
      const ssize_t written =
          ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (written >= 0) {
        sent += static_cast<std::size_t>(written);
      } else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
        // The server stopped taking orders (a busy server closes at once,
        // say); what it did answer is still to be read below.
        sending = false;
      }
      if (sent == request.size()) {
        sending = false;
        ::shutdown(fd, SHUT_WR);
      }
    }
    if ((watched.revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
      continue;
    }
    const ssize_t received = ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
    if (received < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) {
      continue;
    }
    // A busy server says so in its one line and closes (with a reset when
    // the orders it did not read were still in its socket): that is the
    // whole answer, already printed, and the exit status tells the rest.
    if (received <= 0 && outcome.busy) {
      return outcome;
    }
    if (received < 0) {
      if (all_in) {
        return outcome;
      }
      outcome.failure = "reading the replies from " + peer + " failed after " + progress_text() +
                        ": " + std::strerror(errno);
      return outcome;
    }
    if (received == 0) {
      if (outcome.replies < orders) {
        outcome.failure = peer + " closed the connection after " + progress_text();
        if (replies.partial() > 0) {
          outcome.failure += " and " + std::to_string(replies.partial()) + " bytes of the next";
        }
      }
      return outcome;
    }
    const auto status = replies.feed(
        std::string_view(buffer, static_cast<std::size_t>(received)), [&](std::string_view line) {
          if (std::fwrite(line.data(), 1, line.size(), stdout) != line.size() &&
              outcome.output_error == 0) {
            outcome.output_error = errno;
          }
        });
    outcome.replies = replies.replies();
    outcome.busy = replies.busy();
    if (status == pizza::OrderReplies::Status::too_many) {
      outcome.failure = peer + " sent more than the " + std::to_string(orders) +
                        " replies it owed; the rest is not printed";
      return outcome;
    }
    if (status == pizza::OrderReplies::Status::line_too_long) {
      outcome.failure = peer + " sent " + std::to_string(replies.partial()) +
                        " bytes without a newline after " + progress_text() + ": not a pizza reply";
      return outcome;
    }
    // Each chunk's replies are out before the next wait: a client killed
    // while it waits has printed everything it got.
    flush_output(outcome);
  }
}

// A non-blocking connection to `address`, made within `timeout_ms`: a
// blocking connect to a host that drops the SYN (or to a listener whose
// backlog is full) would wait for the kernel's retries, about two minutes.
UniqueFd connect_within(const SocketAddress& address, int timeout_ms) {
  UniqueFd fd(::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) {
    throw_errno("socket for " + address.to_string());
  }
  if (::connect(fd.get(), address.data(), address.size()) == 0) {
    return fd;
  }
  if (errno != EINPROGRESS) {
    throw_errno("connect " + address.to_string());
  }
  pollfd watched{fd.get(), POLLOUT, 0};
  int ready = 0;
  while ((ready = ::poll(&watched, 1, timeout_ms)) < 0 && errno == EINTR) {
  }
  if (ready < 0) {
    throw_errno("poll for the connect to " + address.to_string());
  }
  if (ready == 0) {
    throw std::runtime_error("connect " + address.to_string() + ": no answer within " +
                             std::to_string(timeout_ms) + " ms (--timeout)");
  }
  int error = 0;
  socklen_t length = sizeof error;
  if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &length) != 0) {
    throw_errno("getsockopt SO_ERROR for the connect to " + address.to_string());
  }
  if (error != 0) {
    throw_errno("connect " + address.to_string(), error);
  }
  return fd;
}

// A host name (localhost, /etc/hosts, DNS) or a numeric address, as load and
// kitchen take them; IPv4 first, as they prefer it.
SocketAddress resolve_server(const std::string& host, std::uint16_t port) {
  const std::vector<SocketAddress> found = run(resolve(host, port));
  for (const SocketAddress& address : found) {
    if (!address.is_ipv6()) {
      return address;
    }
  }
  if (found.empty()) {
    throw std::runtime_error("resolve " + host + ": no address");
  }
  return found.front();
}

// Returns the exit status: 0 when every order got its reply.
int place_orders(const OrderArguments& arguments) {
  const SocketAddress address = resolve_server(arguments.host, arguments.port);
  const std::string peer = address.to_string();
  const auto timeout_ms = static_cast<int>(std::ceil(arguments.timeout * 1000));
  UniqueFd socket = connect_within(address, timeout_ms);
  std::string request;
  for (const std::string& order : arguments.orders) {
    request += order;
    request += '\n';
  }
  Outcome outcome = exchange(socket.get(), peer, request, arguments.orders.size(), timeout_ms);
  flush_output(outcome);
  if (outcome.output_error != 0) {
    std::fprintf(stderr, "pizzeria order: writing the replies to standard output failed: %s\n",
                 std::strerror(outcome.output_error));
  }
  if (!outcome.failure.empty()) {
    std::fprintf(stderr, "pizzeria order: %s\n", outcome.failure.c_str());
    return 1;
  }
  return outcome.busy || outcome.output_error != 0 ? 1 : 0;
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
      "each becomes one line on the wire and gets one reply, printed as it arrives.\n"
      "Exit status: 0 when every order got its reply; 1 when the server was busy, or\n"
      "closed or reset the connection early, sent a line of 4096 bytes or more, sent\n"
      "more replies than orders, or made no progress for --timeout (the replies that\n"
      "did arrive are printed, and stderr says what went wrong), or the replies could\n"
      "not be written to standard output.");
  command->add_option("--host", arguments->host, "Server host name or address")
      ->capture_default_str();
  command->add_option("--port,-p", arguments->port, "Server port")->capture_default_str();
  command
      ->add_option("--timeout", arguments->timeout,
                   "Seconds the server may take to accept the connection, or neither take "
                   "orders nor send a byte of reply, before the client gives up")
      ->capture_default_str()
      ->check(seconds_between(0.001, 1e6));
  command->callback([command, arguments, &exit_code] {
    arguments->orders = command->remaining();
    if (arguments->orders.empty()) {
      throw CLI::ValidationError("orders", "give at least one order, e.g. `pizzeria order 7`");
    }
    exit_code = place_orders(*arguments);
  });
}

}  // namespace pz::app
