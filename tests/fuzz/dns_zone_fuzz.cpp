// libFuzzer target for DnsZone::parse, the zone file `pizzeria dns --zone`
// reads: any text is either refused with std::invalid_argument naming its
// line, or parsed into a zone that answers NOERROR, with records, for every
// name it was given (asked over the wire as dig would ask).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "pizzeria/programs/dns_responder.hpp"

namespace {

namespace dns = pz::programs::dns;

void check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "dns_zone_fuzz: invariant failed: %s\n", what);
    std::abort();
  }
}

std::vector<std::string_view> fields_of(std::string_view line) {
  std::vector<std::string_view> fields;
  std::size_t i = 0;
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
  while (i < line.size()) {
    while (i < line.size() && blank(line[i])) {
      ++i;
    }
    const std::size_t begin = i;
    while (i < line.size() && !blank(line[i])) {
      ++i;
    }
    if (i > begin) {
      fields.push_back(line.substr(begin, i - begin));
    }
  }
  return fields;
}

// A query for `name` of `type`, or nullopt when the name cannot be asked
// (a label over 63 bytes, an empty label, a name over 255 bytes on the wire).
std::optional<std::string> query_for(std::string_view name, std::uint16_t type) {
  if (name.size() > 1 && name.back() == '.') {
    name.remove_suffix(1);
  }
  std::string query = {'\x12', '\x34', '\x01', '\x00', '\x00', '\x01',
                       '\x00', '\x00', '\x00', '\x00', '\x00', '\x00'};
  std::size_t wire = 1;
  if (name != ".") {
    while (true) {
      const std::size_t dot = name.find('.');
      const std::string_view label = name.substr(0, dot);
      if (label.empty() || label.size() > 63) {
        return std::nullopt;
      }
      wire += 1 + label.size();
      query += static_cast<char>(label.size());
      query += label;
      if (dot == std::string_view::npos) {
        break;
      }
      name.remove_prefix(dot + 1);
    }
  }
  if (wire > 255) {
    return std::nullopt;
  }
  query += '\0';
  query += static_cast<char>(type >> 8);
  query += static_cast<char>(type & 0xFF);
  query += '\0';
  query += '\x01';
  return query;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  pz::programs::DnsZone zone;
  try {
    zone = pz::programs::DnsZone::parse(text);
  } catch (const std::invalid_argument& error) {
    check(std::string_view(error.what()).starts_with("zone line "), "the error names its line");
    return 0;
  }
  std::size_t records = 0;
  std::string_view rest = text;
  while (!rest.empty()) {
    const std::size_t newline = rest.find('\n');
    const std::string_view line = rest.substr(0, newline);
    rest.remove_prefix(newline == std::string_view::npos ? rest.size() : newline + 1);
    const auto fields = fields_of(line);
    if (fields.empty() || fields[0].front() == '#') {
      continue;
    }
    check(fields.size() == 3, "an accepted record has three fields");
    check(fields[2].find('\0') == std::string_view::npos, "an accepted address holds no NUL");
    ++records;
    const bool v6 = fields[1].size() == 4;
    const auto query = query_for(fields[0], v6 ? dns::kTypeAAAA : dns::kTypeA);
    if (!query || fields[0].find('\0') != std::string_view::npos) {
      continue;
    }
    const auto reply = pz::programs::answer_dns_query(*query, zone);
    check(reply.has_value(), "a query for a zone name is answered");
    check((static_cast<unsigned char>((*reply)[3]) & 0x0F) == dns::kNoError,
          "a zone name is NOERROR");
    const bool truncated = (static_cast<unsigned char>((*reply)[2]) & 0x02) != 0;
    check(truncated || (*reply)[6] != 0 || (*reply)[7] != 0, "a zone name has its records");
  }
  check(zone.size() <= records, "no more names than records");
  return 0;
}
