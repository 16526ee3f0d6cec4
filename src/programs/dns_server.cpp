#include "pizzeria/programs/dns_server.hpp"

#include <string>
#include <system_error>
#include <utility>

#include "pizzeria/core/event_loop.hpp"
#include "pizzeria/core/log_limiter.hpp"
#include "pizzeria/coro/cancelled_error.hpp"
#include "pizzeria/coro/with_stop_token.hpp"
#include "pizzeria/programs/dns_rate_limiter.hpp"

namespace pz::programs {

namespace {

Task<Datagram> receive_query(UdpSocket& socket) {
  co_return co_await socket.recv_from(65536);
}

}  // namespace

DnsServer::DnsServer(UdpSocket& socket, const DnsZone& zone, Options options)
    : socket_(socket), zone_(zone), options_(std::move(options)) {}

Task<void> DnsServer::serve(StopToken stop) {
  const Clock& clock = EventLoop::current()->clock();
  DnsRateLimiter limiter(options_.rate_limit);
  LogLimiter failure_lines(clock);
  LogLimiter limited_lines(clock);
  const auto log = [this](const std::string& line) {
    if (options_.log) {
      options_.log(line);
    }
  };
  while (true) {
    Datagram query;
    try {
      // `stop` cancels only this wait: a query received is answered even if
      // the signal comes while its reply waits for room to be sent.
      query = co_await with_stop_token(stop, receive_query(socket_));
    } catch (const CancelledError&) {
      break;
    }
    ++counters_.queries;
    // A truncated datagram was larger than any DNS query over UDP can be;
    // the parser sees its first 64 KiB and answers FORMERR at worst.
    const std::optional<std::string> reply = answer_dns_query(query.data, zone_);
    if (!reply) {
      continue;
    }
    const std::string source = query.from.host();
    if (!limiter.admit(source, clock.now())) {
      ++counters_.rate_limited;
      if (const auto held = limited_lines.admit()) {
        log("dns: dropping replies to " + source + " beyond " +
            std::to_string(options_.rate_limit) + " a second (--rate-limit)" +
            LogLimiter::more(*held));
      }
      continue;
    }
    try {
      co_await socket_.send_to(*reply, query.from);
      ++counters_.replies;
    } catch (const std::system_error& error) {
      // One unreachable client must not stop the server, nor fill its log.
      ++counters_.send_failures;
      if (const auto held = failure_lines.admit()) {
        log("dns: sending a reply to " + query.from.to_string() + " failed: " + error.what() +
            LogLimiter::more(*held));
      }
    }
  }
  if (const auto held = failure_lines.take_held(); held > 0) {
    log("dns: " + std::to_string(held) +
        (held == 1 ? " more failed send was" : " more failed sends were") + " not logged");
  }
  if (const auto held = limited_lines.take_held(); held > 0) {
    log("dns: " + std::to_string(held) +
        (held == 1 ? " more rate-limited reply was" : " more rate-limited replies were") +
        " not logged");
  }
}

}  // namespace pz::programs
