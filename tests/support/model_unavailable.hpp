// Why a server model cannot run on this machine (uring without io_uring or
// its buffer rings), in the model's own words, so that tests parameterized
// over every model skip it instead of failing:
//
//   if (auto why = test::model_unavailable(GetParam())) GTEST_SKIP() << *why;
//
// Header-only: only the test binaries that link the pizza layer include it.
#pragma once

#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "pizzeria/pizza/server_model.hpp"

namespace pz::test {

// nullopt when the model can run here; throws std::invalid_argument for a
// name no model has (a typo in a test must fail it, not skip it).
inline std::optional<std::string> model_unavailable(std::string_view name) {
  const pizza::ServerModel* model = pizza::find_server_model(name);
  if (model == nullptr) {
    throw std::invalid_argument("no server model named '" + std::string(name) + "'");
  }
  if (model->check_available == nullptr) {
    return std::nullopt;
  }
  try {
    model->check_available();
  } catch (const std::exception& error) {
    return error.what();
  }
  return std::nullopt;
}

}  // namespace pz::test
