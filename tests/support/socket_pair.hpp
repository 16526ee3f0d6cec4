// A connected AF_UNIX stream socket pair, both ends non-blocking and owned.
#pragma once

#include "pizzeria/core/unique_fd.hpp"

namespace pz::test {

struct SocketPair {
  UniqueFd left;
  UniqueFd right;
};

SocketPair make_socket_pair();

}  // namespace pz::test
