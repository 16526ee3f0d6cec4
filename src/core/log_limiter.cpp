#include "pizzeria/core/log_limiter.hpp"

namespace pz {

namespace {

std::string with_thousands(std::uint64_t value) {
  std::string digits = std::to_string(value);
  for (std::size_t at = digits.size(); at > 3; at -= 3) {
    digits.insert(at - 3, ",");
  }
  return digits;
}

}  // namespace

std::string LogLimiter::more(std::uint64_t held) {
  if (held == 0) {
    return {};
  }
  return " (and " + with_thousands(held) + " more like it since the last such line)";
}

}  // namespace pz
