// `pizzeria dns --zone FILE`: a UDP DNS responder answering A and AAAA
// queries from a zone file (seed 002, section 0.12). One coroutine receives
// a datagram, answers it and waits for the next, on pizzeria's event loop:
// the shape of the seed's DatagramProtocol, written as a loop.
// SIGINT/SIGTERM stop it as they stop the other servers: the datagram in
// hand is answered, then it prints `Server stopped.` and exits 0.
#include <csignal>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "commands.hpp"
#include "pizzeria/core/event_loop.hpp"
#include "pizzeria/coro/cancelled_error.hpp"
#include "pizzeria/coro/run.hpp"
#include "pizzeria/coro/stop_token.hpp"
#include "pizzeria/coro/task.hpp"
#include "pizzeria/coro/with_stop_token.hpp"
#include "pizzeria/net/socket_address.hpp"
#include "pizzeria/net/udp_socket.hpp"
#include "pizzeria/programs/dns_responder.hpp"

namespace pz::app {

namespace {

struct DnsArguments {
  std::string zone_file;
  std::string host = "127.0.0.1";
  std::uint16_t port = 5353;
  std::uint32_t ttl = 300;
};

Task<Datagram> receive_query(UdpSocket& socket) {
  co_return co_await socket.recv_from(65536);
}

// `stop` cancels only the wait for a query: a query received is answered
// even if the signal comes while its reply waits for room to be sent.
Task<void> serve_dns(SocketAddress address, const programs::DnsZone& zone, StopToken stop) {
  // Bound here: a socket belongs to the loop of the thread that creates it.
  UdpSocket socket = UdpSocket::bind(address);
  // The chosen port matters when --port 0 asked the kernel to pick one.
  std::printf("dns: answering for %zu names on %s (udp)\n", zone.size(),
              socket.local_address().to_string().c_str());
  std::fflush(stdout);
  while (true) {
    Datagram query;
    try {
      query = co_await with_stop_token(stop, receive_query(socket));
    } catch (const CancelledError&) {
      break;  // stopping
    }
    // A truncated datagram was larger than any DNS query over UDP can be;
    // the parser sees its first 64 KiB and answers FORMERR at worst.
    std::optional<std::string> reply = programs::answer_dns_query(query.data, zone);
    if (reply) {
      try {
        co_await socket.send_to(*reply, query.from);
      } catch (const std::system_error& error) {
        // One unreachable client must not stop the server.
        std::fprintf(stderr, "dns: sending a reply to %s failed: %s\n",
                     query.from.to_string().c_str(), error.what());
      }
    }
  }
}

int run_dns(const DnsArguments& arguments) {
  std::ifstream file(arguments.zone_file);
  if (!file) {
    std::fprintf(stderr, "dns: cannot open zone file '%s'\n", arguments.zone_file.c_str());
    return 1;
  }
  std::stringstream text;
  text << file.rdbuf();
  programs::DnsZone zone;
  try {
    zone = programs::DnsZone::parse(text.str());
  } catch (const std::invalid_argument& error) {
    std::fprintf(stderr, "dns: %s: %s\n", arguments.zone_file.c_str(), error.what());
    return 1;
  }
  zone.ttl = arguments.ttl;
  EventLoop loop;
  StopSource stop;
  loop.add_signal_handler(SIGINT, [&stop] { stop.request_stop(); });
  loop.add_signal_handler(SIGTERM, [&stop] { stop.request_stop(); });
  run(serve_dns(SocketAddress::parse(arguments.host, arguments.port), zone, stop.token()));
  std::printf("Server stopped.\n");
  return 0;
}

}  // namespace

void register_dns_command(CLI::App& app, int& exit_code) {
  auto arguments = std::make_shared<DnsArguments>();
  auto* command = app.add_subcommand(
      "dns",
      "Answer DNS A/AAAA queries over UDP from a zone file (try: dig @127.0.0.1 -p PORT name)");
  command
      ->add_option("--zone", arguments->zone_file,
                   "Zone file: one 'name A 1.2.3.4' or 'name AAAA 2001:db8::1' per line")
      ->required();
  command->add_option("--host", arguments->host, "Address to listen on (default 127.0.0.1)");
  command->add_option("--port", arguments->port, "UDP port (default 5353; 0: any free port)");
  command->add_option("--ttl", arguments->ttl, "TTL of every answer, in seconds (default 300)");
  command->callback([arguments, &exit_code] { exit_code = run_dns(*arguments); });
}

}  // namespace pz::app
