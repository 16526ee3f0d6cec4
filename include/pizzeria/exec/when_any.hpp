// pz::when_any: a future that completes when the first of several futures
// does, like concurrent.futures.wait(..., FIRST_COMPLETED).
//
//   auto first = pz::when_any(std::move(futures)).result();
//   int value = first.futures[first.index].result();
//
// The result hands every input back (they are consumed by the call) together
// with the index of one that had completed; the others may still be pending
// and can be waited on with result() or wait(). They still carry when_any's
// continuation, so another when_any, then() or co_await on them throws
// std::logic_error: to take every future in completion order, use
// pz::as_completed (as_completed.hpp). Failure of the winner is not a failure
// of when_any: inspect futures[index]. An empty input is rejected.
//
// Thread safety: the inputs may complete on any threads concurrently.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <utility>
#include <vector>

#include "pizzeria/exec/future.hpp"

namespace pz {

template <typename T>
struct WhenAnyResult {
  std::size_t index = 0;
  std::vector<Future<T>> futures;
};

namespace detail {
template <typename T>
struct WhenAnyState {
  std::atomic<bool> fired{false};
  std::vector<Future<T>> inputs;
  std::shared_ptr<FutureState<WhenAnyResult<T>>> output;
};
}  // namespace detail

template <typename T>
Future<WhenAnyResult<T>> when_any(std::vector<Future<T>> inputs) {
  if (inputs.empty()) {
    throw std::invalid_argument("pz::when_any needs at least one future: none would ever complete");
  }
  for (const auto& input : inputs) {
    if (!input.valid()) {
      throw std::invalid_argument("pz::when_any given an invalid (empty or moved-from) future");
    }
  }
  auto race = std::make_shared<detail::WhenAnyState<T>>();
  race->output = std::make_shared<detail::FutureState<WhenAnyResult<T>>>();
  Future<WhenAnyResult<T>> result(race->output);
  std::vector<detail::FutureState<T>*> states;
  states.reserve(inputs.size());
  for (auto& input : inputs) {
    states.push_back(detail::state_of(input).get());
  }
  race->inputs = std::move(inputs);
  // The first callback to fire moves the inputs into the result. It may fire
  // inline while later inputs are still being registered below; that is fine
  // because registration only uses the raw state pointers, and the moved
  // futures keep those states alive from inside the result. Callbacks of the
  // losers still hold `race` until their inputs complete, then drop it.
  for (std::size_t i = 0; i < states.size(); ++i) {
    states[i]->set_callback([race, i] {
      // acq_rel exchange: exactly one callback wins; the winner's later reads
      // of `inputs` happen after the vector was filled (before registration).
      if (!race->fired.exchange(true, std::memory_order_acq_rel)) {
        WhenAnyResult<T> outcome{i, std::move(race->inputs)};
        race->output->complete_value(std::move(outcome));
      }
    });
  }
  return result;
}

}  // namespace pz
