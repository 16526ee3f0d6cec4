// `pizzeria dns --zone FILE`: a UDP DNS responder answering A and AAAA
// queries from a zone file (seed 002, section 0.12), on
// pz::programs::DnsServer (rate limit, bounded replies and logs there).
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
#include "pizzeria/coro/run.hpp"
#include "pizzeria/coro/stop_token.hpp"
#include "pizzeria/coro/task.hpp"
#include "pizzeria/net/socket_address.hpp"
#include "pizzeria/net/udp_socket.hpp"
#include "pizzeria/programs/dns_responder.hpp"
#include "pizzeria/programs/dns_server.hpp"

namespace pz::app {

namespace {

struct DnsArguments {
  std::string zone_file;
  std::string host = "127.0.0.1";
  std::uint16_t port = 5353;
  std::uint32_t ttl = 300;
  std::uint32_t rate_limit = 100;
};

Task<void> serve_dns(SocketAddress address, const programs::DnsZone& zone, std::uint32_t rate_limit,
                     StopToken stop) {
  // Bound here: a socket belongs to the loop of the thread that creates it.
  UdpSocket socket = UdpSocket::bind(address);
  // The chosen port matters when --port 0 asked the kernel to pick one.
  std::printf("dns: answering for %zu names on %s (udp)\n", zone.size(),
              socket.local_address().to_string().c_str());
  std::fflush(stdout);
  programs::DnsServer server(
      socket, zone, {.rate_limit = rate_limit, .log = [](std::string_view line) {
                       std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
                     }});
  co_await server.serve(stop);
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
  run(serve_dns(SocketAddress::parse(arguments.host, arguments.port), zone, arguments.rate_limit,
                stop.token()));
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
  command->add_option("--rate-limit", arguments->rate_limit,
                      "Replies a second to one source address; more are dropped, as BIND's "
                      "response-rate limiting does (default 100; 0 = no limit)");
  command->callback([arguments, &exit_code] { exit_code = run_dns(*arguments); });
}

}  // namespace pz::app
