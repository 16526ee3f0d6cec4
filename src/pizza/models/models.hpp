// The models' definitions, for the registry table in src/pizza/server_models.cpp
// (private to the pizza layer). One line per model file.
#pragma once

#include "pizzeria/pizza/server_model.hpp"

namespace pz::pizza {

extern const ServerModel kThreadsModel;
extern const ServerModel kPoolModel;
extern const ServerModel kPollingModel;
extern const ServerModel kSelectModel;
extern const ServerModel kPollModel;
extern const ServerModel kReactorModel;
extern const ServerModel kCoroModel;
extern const ServerModel kUringModel;

}  // namespace pz::pizza
