// Parameterizes a test suite over both poller backends.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "pizzeria/core/poller.hpp"

namespace pz::test {

inline const auto kAllPollers = ::testing::Values(PollerKind::epoll, PollerKind::poll);

struct PollerName {
  std::string operator()(const ::testing::TestParamInfo<PollerKind>& info) const {
    return std::string(to_string(info.param));
  }
};

}  // namespace pz::test
