// The Redis stream that `pizzeria serve --kitchen` writes confirmed orders to
// and `pizzeria kitchen` reads them from, unless both are told another
// (--stream). Each entry is one order: {pizzas: N}.
#pragma once

#include <string_view>

namespace pz::pizza {

inline constexpr std::string_view kDefaultOrderStream = "pizzeria:orders";

}  // namespace pz::pizza
