// README.md, "The loop, raw", wrapped in main(). The lines between the
// README markers must stay the README's lines (the test
// examples.readme_snippets_match compares them, ignoring indentation and
// the lines marked "wrapper"), so this file is how that snippet is compiled
// and run.
//
// It prints "runs first" at once, then returns when the 5 s timer fires, or
// at Ctrl-C, whose handler also cancels the timer through its handle.
// clang-format off
// README begin
#include <csignal>
#include <cstdio>

#include "pizzeria/core/event_loop.hpp"
using namespace std::chrono_literals;

int main() {  // wrapper
  pz::EventLoop loop;                       // one per thread
  auto timeout = loop.call_later(5s, [&] { loop.stop(); });
  loop.add_signal_handler(SIGINT, [&] { timeout.cancel(); loop.stop(); });
  loop.call_soon([] { std::puts("runs first"); });
  loop.run();
}  // wrapper
// README end
// clang-format on
