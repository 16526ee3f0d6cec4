// `pizzeria find ROOT [PATTERN]`: a parallel file finder (seed 002, section
// 0.8). Prints every path under ROOT containing PATTERN, as
// `find ROOT -path '*PATTERN*'` does, in the order the workers finish
// directories (sort the output to compare with find).
#include <clocale>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>

#include "commands.hpp"
#include "pizzeria/programs/file_finder.hpp"

namespace pz::app {

namespace {

struct FindArguments {
  programs::FindOptions options;
  std::string pattern;
  bool glob = false;
  bool regex = false;
};

int run_find(FindArguments& arguments) {
  std::setlocale(LC_ALL, "");
  arguments.options.quote_style = programs::quote_style_from_environment();
  const auto kind = arguments.regex  ? programs::PathPattern::Kind::regex
                    : arguments.glob ? programs::PathPattern::Kind::glob
                                     : programs::PathPattern::Kind::substring;
  std::unique_ptr<programs::PathPattern> pattern;
  try {
    pattern = std::make_unique<programs::PathPattern>(kind, arguments.pattern);
  } catch (const std::invalid_argument& error) {
    std::fprintf(stderr, "find: %s\n", error.what());
    return 1;
  }
  static char buffer[1 << 16];
  std::setvbuf(stdout, buffer, _IOFBF, sizeof(buffer));
  bool write_failed = false;
  const bool clean = programs::find_files(
      arguments.options, *pattern, [&](std::string_view matches, std::string_view errors) {
        if (!errors.empty()) {
          std::fflush(stdout);
          std::fwrite(errors.data(), 1, errors.size(), stderr);
        }
        if (!matches.empty() && !write_failed &&
            std::fwrite(matches.data(), 1, matches.size(), stdout) != matches.size()) {
          write_failed = true;
          std::perror("find: write error");
        }
      });
  if (std::fflush(stdout) != 0 && !write_failed) {
    write_failed = true;
    std::perror("find: write error");
  }
  return clean && !write_failed ? 0 : 1;
}

}  // namespace

void register_find_command(CLI::App& app, int& exit_code) {
  auto arguments = std::make_shared<FindArguments>();
  auto* command = app.add_subcommand(
      "find",
      "Print the paths under ROOT that contain PATTERN, listing directories in parallel "
      "(like find ROOT -path '*PATTERN*')");
  command->add_option("root", arguments->options.root, "Directory to search")->required();
  command->add_option("pattern", arguments->pattern,
                      "Text to look for in each path (default: match everything)");
  auto* glob = command->add_flag("--glob", arguments->glob,
                                 "PATTERN is a shell glob matched against the whole path, as "
                                 "find -path does ('*' also matches '/')");
  command
      ->add_flag("--regex", arguments->regex,
                 "PATTERN is a POSIX extended regular expression found anywhere in the path")
      ->excludes(glob);
  command->add_flag("-L,--follow", arguments->options.follow_symlinks,
                    "Follow symbolic links (find -L); loops are reported and skipped");
  command->add_flag("--skip-hidden", arguments->options.skip_hidden,
                    "Neither list nor enter entries whose name starts with '.'");
  command->add_option("--max-depth", arguments->options.max_depth,
                      "Descend at most this many levels below ROOT (find -maxdepth)");
  command->add_option("--threads", arguments->options.threads,
                      "Directory-listing threads (default: one per core)");
  command->callback([arguments, &exit_code] { exit_code = run_find(*arguments); });
}

}  // namespace pz::app
