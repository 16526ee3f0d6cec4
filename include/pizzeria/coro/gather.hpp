// pz::gather: runs tasks concurrently and collects their results
// (asyncio.gather, with TaskGroup semantics).
//
//   auto [a, b] = co_await pz::gather(fetch(1), fetch(2));   // tuple
//   std::vector<int> all = co_await pz::gather(std::move(tasks));
//
// Results come back in argument order; a void task contributes a
// std::monostate. If one task throws, the others are cancelled, gather waits
// for them and rethrows that first exception (asyncio's default
// return_exceptions=False, minus its orphans: nothing keeps running after
// gather returns or throws).
#pragma once

#include <cstddef>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "pizzeria/coro/task.hpp"
#include "pizzeria/coro/task_group.hpp"

namespace pz {

template <typename T>
using GatherValue = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

namespace detail {

template <typename T>
Task<void> store_result(Task<T> task, std::optional<GatherValue<T>>& slot) {
  if constexpr (std::is_void_v<T>) {
    co_await std::move(task);
    slot.emplace();
  } else {
    slot.emplace(co_await std::move(task));
  }
}

template <typename... Ts, std::size_t... I>
void spawn_all(TaskGroup& group, std::tuple<std::optional<GatherValue<Ts>>...>& slots,
               std::index_sequence<I...> /*indices*/, Task<Ts>&... tasks) {
  (group.spawn(store_result(std::move(tasks), std::get<I>(slots))), ...);
}

template <typename... Ts, std::size_t... I>
std::tuple<GatherValue<Ts>...> unwrap_all(std::tuple<std::optional<GatherValue<Ts>>...>& slots,
                                          std::index_sequence<I...> /*indices*/) {
  return std::tuple<GatherValue<Ts>...>(std::move(*std::get<I>(slots))...);
}

}  // namespace detail

template <typename... Ts>
Task<std::tuple<GatherValue<Ts>...>> gather(Task<Ts>... tasks) {
  std::tuple<std::optional<GatherValue<Ts>>...> slots;
  {
    TaskGroup group;
    detail::spawn_all<Ts...>(group, slots, std::index_sequence_for<Ts...>{}, tasks...);
    co_await group.join();
  }
  co_return detail::unwrap_all<Ts...>(slots, std::index_sequence_for<Ts...>{});
}

template <typename T>
Task<std::vector<GatherValue<T>>> gather(std::vector<Task<T>> tasks) {
  std::vector<std::optional<GatherValue<T>>> slots(tasks.size());
  {
    TaskGroup group;
    for (std::size_t i = 0; i < tasks.size(); ++i) {
      group.spawn(detail::store_result(std::move(tasks[i]), slots[i]));
    }
    co_await group.join();
  }
  std::vector<GatherValue<T>> results;
  results.reserve(slots.size());
  for (auto& slot : slots) {
    results.push_back(std::move(*slot));
  }
  co_return results;
}

}  // namespace pz
