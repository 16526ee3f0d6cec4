// The `pizzeria` executable under test: CTest passes its path in
// PZ_PIZZERIA_BIN (tests/CMakeLists.txt), and building a test binary that
// runs it builds it first, so a test never runs a stale one.
#pragma once

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace pz::test {

inline std::string pizzeria_binary() {
  const char* path = std::getenv("PZ_PIZZERIA_BIN");
  if (path == nullptr) {
    throw std::runtime_error("PZ_PIZZERIA_BIN is not set: run the tests through ctest");
  }
  return path;
}

}  // namespace pz::test
