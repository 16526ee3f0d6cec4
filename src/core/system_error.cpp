#include "pizzeria/core/system_error.hpp"

namespace pz {

void throw_errno(const std::string& what) {
  throw_errno(what, errno);
}

void throw_errno(const std::string& what, int error) {
  throw std::system_error(error, std::generic_category(), what);
}

}  // namespace pz
