// The one check of every option given in seconds (see commands.hpp).
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "commands.hpp"

namespace pz::app {

namespace {

// 0.001, 60, 1000000, 1e+09: as a person would write the limit.
std::string limit_text(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.10g", value);
  return text;
}

}  // namespace

CLI::Validator seconds_between(double min, double max) {
  return number_between(min, max, "seconds");
}

CLI::Validator number_between(double min, double max, const std::string& unit) {
  const std::string units = unit.empty() ? std::string() : " " + unit;
  const std::string range = limit_text(min) + " to " + limit_text(max) + units;
  return CLI::Validator(
      [min, max, units](std::string& text) -> std::string {
        char* end = nullptr;
        const double value = std::strtod(text.c_str(), &end);
        if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(value)) {
          return "'" + text + "' is not a number";
        }
        if (value < min) {
          return "'" + text + "' is below the limit of " + limit_text(min) + units;
        }
        if (value > max) {
          return "'" + text + "' is above the limit of " + limit_text(max) + units;
        }
        return {};
      },
      "in " + range);
}

}  // namespace pz::app
