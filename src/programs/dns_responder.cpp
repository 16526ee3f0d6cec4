#include "pizzeria/programs/dns_responder.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <stdexcept>

#include "pizzeria/core/loggable_text.hpp"

namespace pz::programs {

namespace {

std::string lower_case(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

// "." (the root) becomes "", as parse_question spells it.
std::string normalize_name(std::string_view name) {
  if (!name.empty() && name.back() == '.') {
    name.remove_suffix(1);
  }
  return lower_case(name);
}

// Whether a query can ask for `name` (normalized): labels of 1 to 63 bytes,
// at most 253 bytes in all (255 on the wire). A zone name that no query can
// ask for is a mistake in the zone file.
bool askable(std::string_view name) {
  if (name.empty()) {
    return true;  // the root
  }
  if (name.size() > 253) {
    return false;
  }
  std::size_t label = 0;
  for (const char c : name) {
    if (c == '.') {
      if (label == 0) {
        return false;
      }
      label = 0;
    } else if (++label > 63) {
      return false;
    }
  }
  return label > 0;
}

std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> fields;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) {
      ++i;
    }
    const std::size_t begin = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') {
      ++i;
    }
    if (i > begin) {
      fields.push_back(line.substr(begin, i - begin));
    }
  }
  return fields;
}

std::uint16_t read_u16(std::string_view data, std::size_t at) {
  return static_cast<std::uint16_t>((static_cast<unsigned char>(data[at]) << 8) |
                                    static_cast<unsigned char>(data[at + 1]));
}

void put_u16(std::string& out, std::uint16_t value) {
  out += static_cast<char>(value >> 8);
  out += static_cast<char>(value & 0xFF);
}

void put_u32(std::string& out, std::uint32_t value) {
  put_u16(out, static_cast<std::uint16_t>(value >> 16));
  put_u16(out, static_cast<std::uint16_t>(value & 0xFFFF));
}

// A header-only reply: the query's id, QR set, the given opcode and rcode, RD
// copied, every count zero.
std::string header_only(std::string_view query, std::uint8_t rcode) {
  std::string out;
  out += query[0];
  out += query[1];
  const auto flags = static_cast<unsigned char>(query[2]);
  out += static_cast<char>(0x80 | (flags & 0x78) | (flags & 0x01));  // QR, opcode, RD
  out += static_cast<char>(rcode);
  out.append(8, '\0');
  return out;
}

struct Question {
  std::string name;     // lower case, dot-separated, "" for the root
  std::size_t end = 0;  // offset just past QTYPE/QCLASS
  // A label holding a '.' byte (dig's `pizza\.test`, one label): joined with
  // dots, the name would read as a different name of more labels, which the
  // zone may hold; no zone name has such a label.
  bool dot_in_label = false;
  std::uint16_t type = 0;
  std::uint16_t klass = 0;
};

// Parses the question at offset 12; nullopt if it is malformed.
std::optional<Question> parse_question(std::string_view query) {
  Question question;
  std::size_t at = dns::kHeaderSize;
  std::size_t wire_length = 0;
  while (true) {
    if (at >= query.size()) {
      return std::nullopt;
    }
    const auto length = static_cast<unsigned char>(query[at]);
    if ((length & 0xC0) != 0) {
      return std::nullopt;  // compression (or the reserved 01/10 forms)
    }
    wire_length += 1 + length;
    if (wire_length > 255 || at + 1 + length > query.size()) {
      return std::nullopt;
    }
    if (length == 0) {
      ++at;
      break;
    }
    if (!question.name.empty()) {
      question.name += '.';
    }
    const std::string_view label = query.substr(at + 1, length);
    question.dot_in_label = question.dot_in_label || label.find('.') != std::string_view::npos;
    question.name += lower_case(label);
    at += 1 + length;
  }
  if (at + 4 > query.size()) {
    return std::nullopt;
  }
  question.type = read_u16(query, at);
  question.klass = read_u16(query, at + 2);
  question.end = at + 4;
  return question;
}

}  // namespace

DnsZone DnsZone::parse(std::string_view text) {
  DnsZone zone;
  std::size_t line_number = 0;
  while (!text.empty()) {
    const std::size_t newline = text.find('\n');
    const std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    ++line_number;
    const auto fields = split_fields(line);
    if (fields.empty() || fields[0][0] == '#') {
      continue;
    }
    const auto fail = [&](const std::string& why) {
      // Escaped: a NUL would end what() early, a control byte garble the
      // terminal that shows the error.
      throw std::invalid_argument("zone line " + std::to_string(line_number) + " ('" +
                                  loggable_text(line) + "'): " + why);
    };
    if (fields.size() != 3) {
      fail("expected 'name A address' or 'name AAAA address'");
    }
    const std::string name = normalize_name(fields[0]);
    if (!askable(name)) {
      fail("'" + std::string(fields[0]) +
           "' is not a valid domain name (labels of 1 to 63 bytes, 253 in all)");
    }
    const std::string type = lower_case(fields[1]);
    const std::string address(fields[2]);
    // inet_pton reads up to a NUL: "1.2.3.4<NUL>junk" would pass as 1.2.3.4.
    if (address.find('\0') != std::string::npos) {
      fail("the address holds a NUL byte");
    }
    Records& records = zone.names_[name];
    if (type == "a") {
      std::array<std::uint8_t, 4> bytes{};
      if (::inet_pton(AF_INET, address.c_str(), bytes.data()) != 1) {
        fail("'" + address + "' is not an IPv4 address");
      }
      records.a.push_back(bytes);
    } else if (type == "aaaa") {
      std::array<std::uint8_t, 16> bytes{};
      if (::inet_pton(AF_INET6, address.c_str(), bytes.data()) != 1) {
        fail("'" + address + "' is not an IPv6 address");
      }
      records.aaaa.push_back(bytes);
    } else {
      fail("record type '" + std::string(fields[1]) + "' is not supported (only A and AAAA)");
    }
  }
  return zone;
}

const DnsZone::Records* DnsZone::find(std::string_view normalized_name) const {
  const auto it = names_.find(std::string(normalized_name));
  return it == names_.end() ? nullptr : &it->second;
}

std::optional<std::string> answer_dns_query(std::string_view query, const DnsZone& zone) {
  if (query.size() < dns::kHeaderSize) {
    return std::nullopt;
  }
  const auto flags = static_cast<unsigned char>(query[2]);
  if ((flags & 0x80) != 0) {
    return std::nullopt;
  }
  const unsigned opcode = (flags >> 3) & 0x0F;
  if (opcode != 0) {
    return header_only(query, dns::kNotImp);
  }
  if (read_u16(query, 4) != 1) {
    return header_only(query, dns::kFormErr);
  }
  const std::optional<Question> question = parse_question(query);
  if (!question) {
    return header_only(query, dns::kFormErr);
  }

  std::string reply = header_only(query, dns::kNoError);
  reply[2] = static_cast<char>(reply[2] | 0x04);  // AA: the zone is ours
  reply[5] = 1;                                   // QDCOUNT
  reply.append(query.substr(dns::kHeaderSize, question->end - dns::kHeaderSize));
  if (question->klass != dns::kClassIn && question->klass != dns::kClassAny) {
    reply[3] = static_cast<char>(dns::kRefused);
    return reply;
  }
  const DnsZone::Records* records = question->dot_in_label ? nullptr : zone.find(question->name);
  if (records == nullptr) {
    reply[3] = static_cast<char>(dns::kNxDomain);
    return reply;
  }
  // Never more than kMaxAmplification times the query: see the header.
  const std::size_t max_reply = std::min(dns::kMaxUdpReply, dns::kMaxAmplification * query.size());
  std::uint16_t answers = 0;
  bool truncated = false;
  const auto add_answer = [&](std::uint16_t type, const std::uint8_t* data, std::size_t size) {
    // Name (pointer to offset 12), type, class, TTL, length, data.
    if (reply.size() + 12 + size > max_reply) {
      truncated = true;
      return;
    }
    put_u16(reply, 0xC000 | dns::kHeaderSize);
    put_u16(reply, type);
    put_u16(reply, dns::kClassIn);
    put_u32(reply, zone.ttl);
    put_u16(reply, static_cast<std::uint16_t>(size));
    reply.append(reinterpret_cast<const char*>(data), size);
    ++answers;
  };
  const bool any = question->type == dns::kTypeAny;
  if (question->type == dns::kTypeA || any) {
    for (const auto& address : records->a) {
      add_answer(dns::kTypeA, address.data(), address.size());
    }
  }
  if (question->type == dns::kTypeAAAA || any) {
    for (const auto& address : records->aaaa) {
      add_answer(dns::kTypeAAAA, address.data(), address.size());
    }
  }
  reply[6] = static_cast<char>(answers >> 8);
  reply[7] = static_cast<char>(answers & 0xFF);
  if (truncated) {
    reply[2] = static_cast<char>(reply[2] | 0x02);
  }
  return reply;
}

}  // namespace pz::programs
