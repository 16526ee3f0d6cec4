#include <array>

#include "pizza/models/models.hpp"
#include "pizzeria/pizza/server_model.hpp"

namespace pz::pizza {

namespace {

// The registry: one line per model (see server_model.hpp for why it is a
// table and not self-registration). Order = the order of the lessons.
const std::array kModels = {
    &kThreadsModel, &kPoolModel,    &kPollingModel, &kSelectModel,
    &kPollModel,    &kReactorModel, &kCoroModel,    &kUringModel,
};

// Copies, so server_models() can hand out a span of values; filled on first
// use because the models are defined in other translation units.
const std::array<ServerModel, kModels.size()>& model_table() {
  static const auto table = [] {
    std::array<ServerModel, kModels.size()> result{};
    for (std::size_t i = 0; i < kModels.size(); ++i) {
      result[i] = *kModels[i];
    }
    return result;
  }();
  return table;
}

}  // namespace

std::span<const ServerModel> server_models() noexcept {
  return model_table();
}

const ServerModel* find_server_model(std::string_view name) noexcept {
  for (const ServerModel& model : server_models()) {
    if (model.name == name) {
      return &model;
    }
  }
  return nullptr;
}

std::string server_model_names(std::string_view except) {
  std::string names;
  for (const ServerModel& model : server_models()) {
    if (model.name == except) {
      continue;
    }
    if (!names.empty()) {
      names += ", ";
    }
    names += model.name;
  }
  return names;
}

}  // namespace pz::pizza
