// The DNS side of `pizzeria dns` (seed 002, section 0.12: a DNS server as an
// asyncio DatagramProtocol): a zone of A and AAAA records and a pure function
// from a query datagram to the response datagram (RFC 1035, section 4).
//
//   pz::programs::DnsZone zone = pz::programs::DnsZone::parse("pizza.test A 10.0.0.7\n");
//   std::optional<std::string> reply = pz::programs::answer_dns_query(datagram, zone);
//
// Every datagram has a defined outcome (fuzzed in tests/fuzz/dns_packet_fuzz.cpp):
// - shorter than a header (12 bytes), or a response (QR set): no reply. There
//   is no id to answer with, and answering responses invites reflection loops;
// - opcode other than QUERY: NOTIMP, header only;
// - not exactly one question, or a question that is truncated, uses
//   compression, or has a label over 63 bytes or a name over 255: FORMERR,
//   header only;
// - class other than IN (or ANY): REFUSED with the question echoed;
// - a name not in the zone (including any name with a '.' byte inside a
//   label, which zone names cannot have): NXDOMAIN; a name in the zone: NOERROR with its A
//   and/or AAAA records (none for other types: "no data"). The question is
//   echoed byte for byte (preserving the query's letter case), answers point
//   to it with a compression pointer, AA is set, RD is copied, RA is clear.
// Records after the question (an EDNS OPT from dig, say) are ignored and the
// reply carries no OPT, so it must fit 512 bytes; and since a UDP query's
// source address is anyone's to forge, a reply is never more than
// kMaxAmplification (4) times the size of its query, so the responder
// cannot be used to multiply an attacker's traffic towards a victim (a
// 28-byte query for a name of 40 A records would otherwise bring back 512
// bytes, 18 times as much). Answers that do not fit are left out and TC is
// set, as real servers do (a resolver would ask again over TCP).
//
// Thread safety: DnsZone is immutable after parse; answer_dns_query is pure.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace pz::programs {

namespace dns {
inline constexpr std::uint16_t kTypeA = 1;
inline constexpr std::uint16_t kTypeAAAA = 28;
inline constexpr std::uint16_t kTypeAny = 255;
inline constexpr std::uint16_t kClassIn = 1;
inline constexpr std::uint16_t kClassAny = 255;
inline constexpr std::uint8_t kNoError = 0;
inline constexpr std::uint8_t kFormErr = 1;
inline constexpr std::uint8_t kNxDomain = 3;
inline constexpr std::uint8_t kNotImp = 4;
inline constexpr std::uint8_t kRefused = 5;
inline constexpr std::size_t kHeaderSize = 12;
inline constexpr std::size_t kMaxUdpReply = 512;     // RFC 1035 4.2.1, without EDNS
inline constexpr std::size_t kMaxAmplification = 4;  // reply bytes per query byte, at most
}  // namespace dns

class DnsZone {
 public:
  struct Records {
    std::vector<std::array<std::uint8_t, 4>> a;
    std::vector<std::array<std::uint8_t, 16>> aaaa;
  };

  // One record per line: `name A 1.2.3.4` or `name AAAA 2001:db8::1`, fields
  // separated by spaces or tabs; names are case-insensitive, a trailing dot
  // is optional; blank lines and lines starting with '#' are skipped. Throws
  // std::invalid_argument naming the line and what is wrong with it.
  [[nodiscard]] static DnsZone parse(std::string_view text);

  // Lower-case name without a trailing dot; null if absent.
  [[nodiscard]] const Records* find(std::string_view normalized_name) const;
  [[nodiscard]] std::size_t size() const { return names_.size(); }

  std::uint32_t ttl = 300;  // seconds, for every answer

 private:
  std::unordered_map<std::string, Records> names_;
};

// The response to `query`, or nullopt when none must be sent (see above).
[[nodiscard]] std::optional<std::string> answer_dns_query(std::string_view query,
                                                          const DnsZone& zone);

}  // namespace pz::programs
