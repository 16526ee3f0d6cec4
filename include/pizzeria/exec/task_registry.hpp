// Functions a ProcessPool worker can run, registered by name.
//
// A worker is a fresh copy of the program (see docs/exec.md), so it cannot be
// handed a closure: it is handed a name, looks the function up here, and
// decodes the arguments with pz::Codec. Register at static-initialisation
// time, so the parent and every worker see the same table:
//
//   std::vector<long> prime_factor(long value);
//   inline const auto kPrimeFactor = pz::register_task("prime_factor", &prime_factor);
//   ...
//   pz::Future<std::vector<long>> f = pool.submit(kPrimeFactor, 600851475143L);
//
// The returned pz::RemoteFunction<R(Args...)> carries the signature, so
// submit() type-checks its arguments in the parent.
//
// Thread safety: registration is meant for static initialisation (before
// threads exist) and takes a lock anyway; lookups are safe from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include "pizzeria/exec/wire.hpp"

namespace pz {

// Decodes an argument tuple from `args`, runs the function and encodes its
// result (a void result as 'n') into `result`.
using ErasedTask = std::function<void(WireReader& args, WireWriter& result)>;

namespace task_registry {
// Throws std::logic_error if `name` is already taken: two tasks sharing a name
// would silently run the wrong code in workers.
void add(std::string name, ErasedTask task);
// Null if unknown.
const ErasedTask* find(std::string_view name);
}  // namespace task_registry

// How a ProcessPool supervises one task (docs/exec.md, "Supervision").
struct TaskPolicy {
  // Times the task is run again when its worker dies under it (a signal, an
  // exit, the hard memory cap). Only safe for an idempotent task: a pure
  // function, or one whose effects can be repeated. 0: it fails at once.
  std::uint32_t max_retries = 0;
  // How long one item may run before its worker is killed and the task fails
  // with pz::TimeoutError; zero: the pool's task_deadline.
  std::chrono::milliseconds deadline{0};
};

template <typename Signature>
struct RemoteFunction;

template <typename R, typename... Args>
struct RemoteFunction<R(Args...)> {
  using result_type = R;
  using arguments = std::tuple<std::decay_t<Args>...>;
  std::string name;
  TaskPolicy policy{};

  // The same task, retried up to `max_retries` times when a worker dies
  // under it: register_task("f", &f).idempotent(), or for one call,
  // pool.submit(kTask.idempotent(1), ...).
  [[nodiscard]] RemoteFunction idempotent(std::uint32_t max_retries = 3) const {
    RemoteFunction copy = *this;
    copy.policy.max_retries = max_retries;
    return copy;
  }
  // The same task with a deadline per item: pool.submit(kTask.with_deadline(2s), ...).
  [[nodiscard]] RemoteFunction with_deadline(std::chrono::milliseconds deadline) const {
    RemoteFunction copy = *this;
    copy.policy.deadline = deadline;
    return copy;
  }
};

template <typename Signature, typename F>
RemoteFunction<Signature> register_task(std::string name, F function);

namespace detail {
template <typename R, typename... Args, typename F>
RemoteFunction<R(Args...)> register_typed(std::string name, F function, R (*)(Args...)) {
  task_registry::add(
      name, [function = std::move(function)](WireReader& args, WireWriter& result) mutable {
        auto decoded = wire_decode<std::tuple<std::decay_t<Args>...>>(args);
        if constexpr (std::is_void_v<R>) {
          std::apply(function, std::move(decoded));
          result.put_u8(wire_tag::kNone);
        } else {
          wire_encode<std::decay_t<R>>(result, std::apply(function, std::move(decoded)));
        }
      });
  return RemoteFunction<R(Args...)>{std::move(name), {}};
}
}  // namespace detail

// For a callable object: the signature is given explicitly,
// e.g. pz::register_task<int(int)>("twice", [](int x) { return 2 * x; }).
template <typename Signature, typename F>
RemoteFunction<Signature> register_task(std::string name, F function) {
  return detail::register_typed(std::move(name), std::move(function),
                                static_cast<std::add_pointer_t<Signature>>(nullptr));
}

// For a plain function: the signature is deduced.
template <typename R, typename... Args>
RemoteFunction<R(Args...)> register_task(std::string name, R (*function)(Args...)) {
  return detail::register_typed(std::move(name), function, static_cast<R (*)(Args...)>(nullptr));
}

}  // namespace pz
