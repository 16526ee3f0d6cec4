#include <string>

#include "commands.hpp"

namespace pz::app {

namespace {

// CLI11's NonNegativeNumber and PositiveNumber name their range's upper end,
// the largest double written out in full: 309 digits a user cannot use.
CLI::Validator bounded_below(bool zero_allowed) {
  return CLI::Validator(
      [zero_allowed](std::string& text) -> std::string {
        double value = 0;
        if (!CLI::detail::lexical_cast(text, value)) {
          return "not a number: " + text;
        }
        if (zero_allowed ? value >= 0 : value > 0) {
          return {};
        }
        return std::string(zero_allowed ? "must be 0 or more" : "must be more than 0") + ", got " +
               text;
      },
      zero_allowed ? "NUMBER >= 0" : "NUMBER > 0");
}

}  // namespace

CLI::Validator zero_or_more() {
  return bounded_below(true);
}
CLI::Validator more_than_zero() {
  return bounded_below(false);
}

}  // namespace pz::app
