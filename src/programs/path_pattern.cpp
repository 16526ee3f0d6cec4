#include "pizzeria/programs/path_pattern.hpp"

#include <fnmatch.h>

#include <stdexcept>

namespace pz::programs {

PathPattern::PathPattern(Kind kind, std::string text) : kind_(kind), text_(std::move(text)) {
  if (kind_ == Kind::regex) {
    const int error = ::regcomp(&regex_, text_.c_str(), REG_EXTENDED | REG_NOSUB);
    if (error != 0) {
      char message[256];
      ::regerror(error, &regex_, message, sizeof(message));
      throw std::invalid_argument("invalid regular expression '" + text_ + "': " + message);
    }
    compiled_ = true;
  }
}

PathPattern::~PathPattern() {
  if (compiled_) {
    ::regfree(&regex_);
  }
}

bool PathPattern::matches(std::string_view path) const {
  switch (kind_) {
    case Kind::substring:
      return path.find(text_) != std::string_view::npos;
    case Kind::glob:
      // No FNM_PATHNAME: '*' crosses '/', exactly as find -path matches.
      return ::fnmatch(text_.c_str(), path.data(), 0) == 0;
    case Kind::regex:
      return ::regexec(&regex_, path.data(), 0, nullptr, 0) == 0;
  }
  return false;
}

}  // namespace pz::programs
