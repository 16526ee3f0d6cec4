#include "pizzeria/exec/wire_summary.hpp"

#include <bit>
#include <cstdint>
#include <cstdio>
#include <string>

#include "pizzeria/exec/wire.hpp"

namespace pz {

namespace {

// Elements of a list, map or tuple shown before "...": the summary names an
// input, it does not print it.
constexpr std::uint32_t kShownElements = 8;
constexpr std::size_t kShownStringBytes = 40;
// Nesting beyond this is shown as "..." (and bounds the recursion on
// hostile bytes).
constexpr int kMaxDepth = 8;

// Thrown once the summary has said enough: what follows is not read.
struct SummaryFull {};

void append_quoted(std::string& out, std::string_view text) {
  out.push_back('"');
  const std::size_t shown = std::min(text.size(), kShownStringBytes);
  for (std::size_t i = 0; i < shown; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20 || c >= 0x7F) {
      char escaped[5];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", c);
      out += escaped;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  if (shown < text.size()) {
    out += "...";
  }
  out.push_back('"');
  if (shown < text.size()) {
    out += " (" + std::to_string(text.size()) + " bytes)";
  }
}

// Appends one value; stops early (the rest is skipped by the caller's
// truncation) once `out` is longer than `limit`.
void append_value(WireReader& reader, std::string& out, std::size_t limit, int depth) {
  const std::uint8_t tag = reader.get_u8();
  switch (tag) {
    case wire_tag::kInt:
      out += std::to_string(static_cast<std::int64_t>(reader.get_u64()));
      return;
    case wire_tag::kUint:
      out += std::to_string(reader.get_u64());
      return;
    case wire_tag::kFloat: {
      char text[32];
      std::snprintf(text, sizeof text, "%g", std::bit_cast<double>(reader.get_u64()));
      out += text;
      return;
    }
    case wire_tag::kBool:
      out += reader.get_u8() != 0 ? "true" : "false";
      return;
    case wire_tag::kNone:
      out += "none";
      return;
    case wire_tag::kString: {
      const std::uint32_t size = reader.get_u32();
      append_quoted(out, reader.get_bytes(size));
      return;
    }
    case wire_tag::kList:
    case wire_tag::kMap:
    case wire_tag::kTuple: {
      const char* brackets = tag == wire_tag::kList ? "[]" : tag == wire_tag::kMap ? "{}" : "()";
      const std::uint32_t count = reader.get_u32();
      out.push_back(brackets[0]);
      if (depth >= kMaxDepth && count > 0) {
        out += "...";
        out.push_back(brackets[1]);
        // Nothing after a value this deep can be found without reading it.
        throw SummaryFull{};
      }
      for (std::uint32_t i = 0; i < count; ++i) {
        if (i > 0) {
          out += ", ";
        }
        if (i == kShownElements || out.size() > limit) {
          out += "... " + std::to_string(count) + " in all";
          out.push_back(brackets[1]);
          throw SummaryFull{};
        }
        append_value(reader, out, limit, depth + 1);
        if (tag == wire_tag::kMap) {
          out += ": ";
          append_value(reader, out, limit, depth + 1);
        }
      }
      out.push_back(brackets[1]);
      return;
    }
    default:
      throw WireError("unknown tag");
  }
}

}  // namespace

std::string wire_summary(std::string_view encoded, std::size_t max_chars) {
  std::string out;
  WireReader reader(encoded);
  try {
    append_value(reader, out, max_chars, 0);
  } catch (const SummaryFull&) {
    // Cut short on purpose: what was rendered is the summary.
  } catch (const WireError&) {
    out += "<undecodable>";
  }
  if (out.size() > max_chars) {
    out.resize(max_chars > 3 ? max_chars - 3 : 0);
    out += "...";
  }
  return out;
}

}  // namespace pz
