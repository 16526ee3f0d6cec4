// Renders an HTML file in headless Chromium (Debian's `chromium`, installed
// by scripts/install-deps.sh) and returns the DOM it built, for tests that
// check a report from what a browser made of it rather than from its text.
// A screenshot of the same page is kept for people, in
// <build dir>/screenshots/ (beside the pizzeria binary under test).
#pragma once

#include <string>

namespace pz::test {

// The browser's path, or empty when none is installed.
std::string chromium_binary();

struct RenderedPage {
  int exit_status = -1;
  std::string dom;     // --dump-dom's output
  std::string errors;  // the browser's stderr
};

// `html_path` absolute. `screenshot_name` is a file name (e.g.
// "load-report.png") under the screenshots directory.
RenderedPage render_headless(const std::string& html_path, const std::string& screenshot_name);

}  // namespace pz::test
