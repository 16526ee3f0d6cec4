// pz::duration_text: a duration for messages, in the largest unit that shows
// it exactly: "20 ms", "1500 us", "3 ns", so a message never reads "after
// 20.000000 ms". (Durations of a second or more stay in ms: "1500 ms" says
// what was configured when the option was given in ms.)
#pragma once

#include <chrono>
#include <string>

namespace pz {

inline std::string duration_text(std::chrono::nanoseconds duration) {
  const auto ns = duration.count();
  if (ns % 1'000'000 == 0) {
    return std::to_string(ns / 1'000'000) + " ms";
  }
  if (ns % 1'000 == 0) {
    return std::to_string(ns / 1'000) + " us";
  }
  return std::to_string(ns) + " ns";
}

}  // namespace pz
