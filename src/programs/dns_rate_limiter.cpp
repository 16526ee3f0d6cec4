#include "pizzeria/programs/dns_rate_limiter.hpp"

#include <chrono>
#include <iterator>

namespace pz::programs {

bool DnsRateLimiter::admit(std::string_view source, TimePoint now) {
  if (per_second_ == 0) {
    return true;
  }
  constexpr Duration kWindow = std::chrono::seconds(1);
  auto it = windows_.find(std::string(source));
  if (it == windows_.end()) {
    if (windows_.size() >= max_sources_) {
      std::erase_if(windows_,
                    [&](const auto& entry) { return now - entry.second.start >= kWindow; });
      if (windows_.size() >= max_sources_) {
        windows_.clear();
      }
    }
    it = windows_.emplace(std::string(source), Window{.start = now}).first;
  } else if (now - it->second.start >= kWindow) {
    it->second = Window{.start = now};
  }
  if (it->second.sent >= per_second_) {
    ++limited_;
    return false;
  }
  ++it->second.sent;
  return true;
}

}  // namespace pz::programs
