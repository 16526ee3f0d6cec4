#include <cctype>
#include <string>
#include <vector>

#include "commands.hpp"

namespace pz::app {

void read_options_from_environment(CLI::App& command, std::string_view prefix) {
  for (CLI::Option* option : command.get_options()) {
    const std::vector<std::string>& names = option->get_lnames();
    // --help takes no value; positionals have no long name.
    if (names.empty() || names.front() == "help") {
      continue;
    }
    std::string variable(prefix);
    for (const char c : names.front()) {
      variable += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    option->envname(variable);
  }
}

}  // namespace pz::app
