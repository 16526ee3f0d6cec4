// pz::ServerPolicy: the limits and timeouts the server framework
// (pz::ServerContext) enforces for any protocol: how many connections, how
// long one may idle, how long shutdown may take, what a refused client reads.
//
// Thread safety: a value type; the server reads it, never writes it.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace pz {

struct ServerPolicy {
  // Event-driven servers run this many shards (pz::run_sharded); a thread
  // pool runs this many threads. 0 lets the server choose
  // (ServerContext::workers_or).
  unsigned workers = 0;
  // Open connections beyond this get busy_reply and are closed.
  std::size_t max_connections = 10000;
  // A connection that neither sends nor accepts bytes for this long is
  // closed. Zero disables the timeout.
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};
  // How long one request may take from its first byte to its end, and how
  // long its replies may wait for the client to read them (the wait counts
  // as activity, not idleness, up to this bound): a client that trickles
  // one byte a second, or never reads, is closed at it however busy it
  // looks to the idle timeout. Zero disables it.
  std::chrono::milliseconds request_timeout{std::chrono::seconds(10)};
  // After a shutdown request, connections get this long to be answered;
  // whatever is still open then is closed.
  std::chrono::milliseconds shutdown_timeout{std::chrono::seconds(5)};
  // Per-connection log lines ("Connected to ...", "Connection with ... has
  // been closed"), printed only when set.
  bool verbose = false;
  // Sent, without blocking, to a client refused for lack of room (over
  // max_connections, out of descriptors) before it is closed. Empty: the
  // client is closed without a word.
  std::string busy_reply{};

  // Durations are clamped to this internally (a deadline of now + 1e10 s
  // would overflow steady_clock); commands refuse larger values.
  static constexpr std::chrono::milliseconds kMaxTimeout{std::chrono::hours(24 * 365)};
};

}  // namespace pz
