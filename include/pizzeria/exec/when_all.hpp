// pz::when_all: one future for a whole vector of futures, like asyncio.gather.
//
//   std::vector<pz::Future<int>> parts = ...;
//   std::vector<int> all = pz::when_all(std::move(parts)).result();
//
// The combined future completes when every input has completed. If any input
// failed, it fails with the exception of the first failed input in vector order
// (not in time order, so the outcome does not depend on scheduling); otherwise
// it holds the values in input order. Future<void> inputs give a Future<void>.
//
// Thread safety: the inputs may complete on any threads concurrently.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

#include "pizzeria/exec/future.hpp"

namespace pz {

namespace detail {

template <typename T>
using WhenAllValue = std::conditional_t<std::is_void_v<T>, void, std::vector<T>>;

template <typename T>
struct WhenAllState {
  std::vector<Future<T>> inputs;
  std::atomic<std::size_t> remaining{0};
  std::shared_ptr<FutureState<WhenAllValue<T>>> output;

  void finish() {
    for (auto& input : inputs) {
      auto& state = *state_of(input);  // ready: every input has arrived
      if (state.error()) {
        // Moved, not copied: see FutureStateBase::take_error.
        output->complete_error(state.take_error());
        return;
      }
    }
    if constexpr (std::is_void_v<T>) {
      output->complete_value();
    } else {
      std::vector<T> values;
      values.reserve(inputs.size());
      for (auto& input : inputs) {
        values.push_back(std::move(input).result());
      }
      output->complete_value(std::move(values));
    }
  }
};

}  // namespace detail

template <typename T>
Future<detail::WhenAllValue<T>> when_all(std::vector<Future<T>> inputs) {
  auto gather = std::make_shared<detail::WhenAllState<T>>();
  gather->output = std::make_shared<detail::FutureState<detail::WhenAllValue<T>>>();
  Future<detail::WhenAllValue<T>> result(gather->output);
  for (const auto& input : inputs) {
    if (!input.valid()) {
      throw std::invalid_argument("pz::when_all given an invalid (empty or moved-from) future");
    }
  }
  const std::size_t count = inputs.size();
  gather->inputs = std::move(inputs);
  if (count == 0) {
    gather->finish();
    return result;
  }
  // One extra count held by this function, so a callback that fires inline
  // during registration cannot finish while later inputs are still being
  // registered.
  gather->remaining.store(count + 1, std::memory_order_relaxed);
  std::vector<detail::FutureState<T>*> states;  // raw: gather->inputs keeps them alive
  states.reserve(count);
  for (auto& input : gather->inputs) {
    states.push_back(detail::state_of(input).get());
  }
  auto arrive = [](detail::WhenAllState<T>& g) {
    // acq_rel: the last arrival must see every other input's completion (each
    // was published to its own arrival with release), and publish its own.
    if (g.remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      g.finish();
    }
  };
  for (auto* state : states) {
    // The callback owns `gather`, and gather owns the input whose state owns
    // the callback: a cycle that breaks when the callback runs and is dropped.
    state->set_callback([gather, arrive] { arrive(*gather); });
  }
  arrive(*gather);
  return result;
}

}  // namespace pz
