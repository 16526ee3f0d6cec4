// Helpers for turning errno into exceptions whose message says what failed.
#pragma once

#include <cerrno>
#include <string>
#include <system_error>

namespace pz {

// Throws std::system_error(errno) with "what: strerror" as its message.
[[noreturn]] void throw_errno(const std::string& what);
[[noreturn]] void throw_errno(const std::string& what, int error);

}  // namespace pz
