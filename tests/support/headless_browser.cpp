#include "support/headless_browser.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <vector>

#include "programs/program_runner.hpp"
#include "support/pizzeria_binary.hpp"

namespace pz::test {

std::string chromium_binary() {
  const char* path = std::getenv("PATH");
  std::istringstream directories(path != nullptr ? path : "/usr/bin:/bin");
  for (std::string directory; std::getline(directories, directory, ':');) {
    for (const char* name : {"chromium", "chromium-browser"}) {
      const std::string candidate = directory + "/" + name;
      if (::access(candidate.c_str(), X_OK) == 0) {
        return candidate;
      }
    }
  }
  return {};
}

RenderedPage render_headless(const std::string& html_path, const std::string& screenshot_name) {
  namespace fs = std::filesystem;
  const std::string browser = chromium_binary();
  const fs::path screenshots = fs::path(pizzeria_binary()).parent_path() / "screenshots";
  fs::create_directories(screenshots);
  // A profile of its own: tests running at once must not share one.
  const fs::path profile = fs::temp_directory_path() /
                           ("pz_chromium_" + std::to_string(::getpid()) + "_" + screenshot_name);
  const std::vector<std::string> common{"timeout",
                                        "120",
                                        browser,
                                        "--headless",
                                        "--no-sandbox",
                                        "--disable-gpu",
                                        "--user-data-dir=" + profile.string(),
                                        "--window-size=1280,2000"};
  RenderedPage page;
  auto screenshot = common;
  screenshot.push_back("--screenshot=" + (screenshots / screenshot_name).string());
  screenshot.push_back("file://" + html_path);
  (void)run_program(screenshot);
  auto dump = common;
  dump.push_back("--dump-dom");
  dump.push_back("file://" + html_path);
  const auto result = run_program(dump);
  page.exit_status = result.exit_status;
  page.dom = result.out;
  page.errors = result.err;
  std::error_code ignored;
  fs::remove_all(profile, ignored);
  return page;
}

}  // namespace pz::test
