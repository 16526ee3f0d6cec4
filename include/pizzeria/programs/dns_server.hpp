// pz::programs::DnsServer: the loop of `pizzeria dns` (seed 002, 0.12: a
// DatagramProtocol, written as a coroutine): receive a query, answer it from
// the zone (answer_dns_query), send the reply, wait for the next.
//
//   DnsServer server(socket, zone, {.rate_limit = 100, .log = print_line});
//   co_await server.serve(stop);        // until `stop`: the query in hand is answered
//
// What a hostile source can do, and what it gets:
// - forge a victim's address to aim replies at it: a reply is at most 4
//   times its query (answer_dns_query), and each source address gets at
//   most `rate_limit` replies a second (DnsRateLimiter); the rest are
//   dropped, counted, and logged in at most one line a second;
// - make sends fail (a source the reply cannot go to): each failure is
//   counted, the server goes on, and they are logged in at most one line a
//   second with the count of those not logged (LogLimiter); the count left
//   at the stop is logged then.
// Time comes from the loop's clock, so tests drive it with a ManualClock.
//
// Thread safety: one loop's thread; the socket and zone must outlive it.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include "pizzeria/coro/stop_token.hpp"
#include "pizzeria/coro/task.hpp"
#include "pizzeria/net/udp_socket.hpp"
#include "pizzeria/programs/dns_responder.hpp"

namespace pz::programs {

class DnsServer {
 public:
  struct Options {
    // Replies a second to one source address; 0: no limit.
    std::uint32_t rate_limit = 100;
    // One line of the server's log, without its newline; null: none.
    std::function<void(std::string_view)> log = {};
  };
  struct Counters {
    std::uint64_t queries = 0;        // datagrams received
    std::uint64_t replies = 0;        // replies sent
    std::uint64_t rate_limited = 0;   // replies dropped by the rate limit
    std::uint64_t send_failures = 0;  // replies the kernel refused to send
  };

  DnsServer(UdpSocket& socket, const DnsZone& zone, Options options);

  // Serves until `stop` is requested.
  [[nodiscard]] Task<void> serve(StopToken stop);

  [[nodiscard]] const Counters& counters() const noexcept { return counters_; }

 private:
  UdpSocket& socket_;
  const DnsZone& zone_;
  Options options_;
  Counters counters_;
};

}  // namespace pz::programs
