#include <fmt/format.h>

#include "commands.hpp"
#include "pizzeria/pizza/load_generator.hpp"

namespace pz::app {

std::string open_file_shortage(std::string_view option, std::uint64_t count,
                               std::uint64_t descriptors) {
  const std::uint64_t limit = raise_open_file_limit();
  if (limit >= descriptors) {
    return {};
  }
  return fmt::format(
      "{} {} needs about {} open files but the limit is {} (raise the hard limit: ulimit -Hn)",
      option, count, descriptors, limit);
}

}  // namespace pz::app
