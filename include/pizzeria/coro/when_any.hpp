// pz::when_any: runs tasks concurrently until the first one finishes, then
// cancels the rest and waits for them (asyncio.wait(FIRST_COMPLETED) without
// leaving the losers running).
//
//   std::variant<int, std::string> first = co_await pz::when_any(a(), b());
//   auto [index, value] = co_await pz::when_any(std::move(tasks));
//
// The first task to finish wins, whether it returned or threw: its value is
// returned or its exception rethrown. What the losers do after that
// (typically raise CancelledError) is discarded.
#pragma once

#include <cstddef>
#include <exception>
#include <optional>
#include <utility>
#include <variant>
#include <vector>

#include "pizzeria/coro/gather.hpp"
#include "pizzeria/coro/task.hpp"
#include "pizzeria/coro/task_group.hpp"

namespace pz {

namespace detail {

template <typename Result>
struct Race {
  std::optional<Result> winner;
  std::exception_ptr error;
  bool decided = false;
  TaskGroup* group = nullptr;

  // Returns true if the caller is the first to finish.
  bool claim() noexcept {
    if (decided) {
      return false;
    }
    decided = true;
    group->cancel();
    return true;
  }
};

template <std::size_t I, typename T, typename Result>
Task<void> race_variant(Task<T> task, Race<Result>& race) {
  try {
    if constexpr (std::is_void_v<T>) {
      co_await std::move(task);
      if (race.claim()) {
        race.winner.emplace(std::in_place_index<I>);
      }
    } else {
      auto value = co_await std::move(task);
      if (race.claim()) {
        race.winner.emplace(std::in_place_index<I>, std::move(value));
      }
    }
  } catch (...) {
    if (race.claim()) {
      race.error = std::current_exception();
    }
  }
}

template <typename T>
Task<void> race_indexed(Task<T> task, std::size_t index,
                        Race<std::pair<std::size_t, GatherValue<T>>>& race) {
  try {
    if constexpr (std::is_void_v<T>) {
      co_await std::move(task);
      if (race.claim()) {
        race.winner.emplace(index, std::monostate{});
      }
    } else {
      auto value = co_await std::move(task);
      if (race.claim()) {
        race.winner.emplace(index, std::move(value));
      }
    }
  } catch (...) {
    if (race.claim()) {
      race.error = std::current_exception();
    }
  }
}

template <typename Result, typename... Ts, std::size_t... I>
void spawn_racers(TaskGroup& group, Race<Result>& race, std::index_sequence<I...> /*indices*/,
                  Task<Ts>&... tasks) {
  (group.spawn(race_variant<I>(std::move(tasks), race)), ...);
}

}  // namespace detail

template <typename... Ts>
Task<std::variant<GatherValue<Ts>...>> when_any(Task<Ts>... tasks) {
  static_assert(sizeof...(Ts) > 0, "pz::when_any needs at least one task");
  using Result = std::variant<GatherValue<Ts>...>;
  detail::Race<Result> race;
  {
    TaskGroup group;
    race.group = &group;
    detail::spawn_racers<Result, Ts...>(group, race, std::index_sequence_for<Ts...>{}, tasks...);
    co_await group.join();
  }
  if (race.error) {
    std::rethrow_exception(race.error);
  }
  co_return std::move(*race.winner);
}

template <typename T>
Task<std::pair<std::size_t, GatherValue<T>>> when_any(std::vector<Task<T>> tasks) {
  if (tasks.empty()) {
    throw std::invalid_argument("pz::when_any: no tasks to wait for");
  }
  detail::Race<std::pair<std::size_t, GatherValue<T>>> race;
  {
    TaskGroup group;
    race.group = &group;
    for (std::size_t i = 0; i < tasks.size(); ++i) {
      group.spawn(detail::race_indexed(std::move(tasks[i]), i, race));
    }
    co_await group.join();
  }
  if (race.error) {
    std::rethrow_exception(race.error);
  }
  co_return std::move(*race.winner);
}

}  // namespace pz
