// What `pizzeria find` looks for in a path: a substring (the seed's
// `query_string in full_path`), a shell glob matched against the whole path
// as `find -path` does, or a POSIX extended regular expression found anywhere
// in the path.
//
//   pz::programs::PathPattern pattern(pz::programs::PathPattern::Kind::glob, "*/src/*.cpp");
//   bool hit = pattern.matches("./src/main.cpp");  // true
//
// Thread safety: matches() is const and safe from many threads at once (the
// compiled regex is only read; regexec(3) is thread-safe on one regex_t).
#pragma once

#include <regex.h>

#include <string>
#include <string_view>

namespace pz::programs {

class PathPattern {
 public:
  enum class Kind { substring, glob, regex };

  // Throws std::invalid_argument naming the problem if a regex does not compile.
  PathPattern(Kind kind, std::string text);
  PathPattern(const PathPattern&) = delete;
  PathPattern& operator=(const PathPattern&) = delete;
  ~PathPattern();

  // `path` must be NUL-terminated at path.size() for the glob and regex kinds
  // (std::string::c_str() is), since fnmatch and regexec take C strings.
  [[nodiscard]] bool matches(std::string_view path) const;

  [[nodiscard]] Kind kind() const { return kind_; }
  [[nodiscard]] const std::string& text() const { return text_; }

 private:
  Kind kind_;
  std::string text_;
  regex_t regex_{};
  bool compiled_ = false;
};

}  // namespace pz::programs
