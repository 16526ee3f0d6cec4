#include "pizzeria/core/loggable_text.hpp"

#include <algorithm>

namespace pz {

std::string loggable_text(std::string_view bytes, std::size_t max) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(std::min(bytes.size(), max) + 8);
  std::size_t used = 0;
  for (; used < bytes.size(); ++used) {
    const auto byte = static_cast<unsigned char>(bytes[used]);
    char escaped[4];
    std::size_t length = 2;
    escaped[0] = '\\';
    switch (byte) {
      case '\n':
        escaped[1] = 'n';
        break;
      case '\r':
        escaped[1] = 'r';
        break;
      case '\t':
        escaped[1] = 't';
        break;
      case '\\':
        escaped[1] = '\\';
        break;
      default:
        if (byte >= 0x20 && byte < 0x7F) {
          escaped[0] = static_cast<char>(byte);
          length = 1;
        } else {
          escaped[1] = 'x';
          escaped[2] = kHex[byte >> 4];
          escaped[3] = kHex[byte & 0xF];
          length = 4;
        }
        break;
    }
    if (out.size() + length > max) {
      break;  // an escape is never cut in half
    }
    out.append(escaped, length);
  }
  if (used < bytes.size()) {
    out += "... (" + std::to_string(bytes.size()) + " bytes)";
  }
  return out;
}

}  // namespace pz
