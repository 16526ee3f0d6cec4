// libFuzzer target: any datagram given to the DNS responder has a defined
// outcome (no reply, or a well-formed reply to the same id), never a crash
// or an out-of-bounds read (ASan+UBSan run alongside).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "pizzeria/programs/dns_responder.hpp"

namespace {

const pz::programs::DnsZone& zone() {
  static const pz::programs::DnsZone instance = pz::programs::DnsZone::parse(
      "pizza.test A 10.0.0.7\npizza.test AAAA 2001:db8::7\na A 1.2.3.4\n");
  return instance;
}

void check(bool condition) {
  if (!condition) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view query(reinterpret_cast<const char*>(data), size);
  const auto reply = pz::programs::answer_dns_query(query, zone());
  if (!reply) {
    // Only these two cases may go unanswered.
    check(size < pz::programs::dns::kHeaderSize || (data[2] & 0x80) != 0);
    return 0;
  }
  check(reply->size() >= pz::programs::dns::kHeaderSize);
  check(reply->size() <= pz::programs::dns::kMaxUdpReply);
  check(reply->size() <= pz::programs::dns::kMaxAmplification * size);  // no amplifier
  check(reply->substr(0, 2) == query.substr(0, 2));                     // same id
  check((static_cast<unsigned char>((*reply)[2]) & 0x80) != 0);         // QR
  return 0;
}
