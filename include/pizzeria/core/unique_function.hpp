// pz::UniqueFunction<R(Args...)>: a move-only, type-erased callable.
//
// Why not std::function: it requires copyable targets (so a callback cannot own
// a unique_ptr or a coroutine handle) and libstdc++ stores only 16 bytes
// inline, so most lambdas allocate. C++23's std::move_only_function is not in
// C++20. Callables up to kInlineSize bytes that are nothrow-movable live inline;
// bigger ones go to the heap.
//
// Thread safety: none; a UniqueFunction is a value like any other.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

namespace pz {

template <typename Signature>
class UniqueFunction;

template <typename R, typename... Args>
class UniqueFunction<R(Args...)> {
 public:
  // Six pointers: enough for a lambda capturing `this`, a coroutine handle and
  // a few values, which covers every callback the library itself creates.
  static constexpr std::size_t kInlineSize = 6 * sizeof(void*);

  UniqueFunction() noexcept = default;
  UniqueFunction(std::nullptr_t) noexcept {}  // NOLINT(google-explicit-constructor)

  // Implicit, as std::function's constructor is; the requires-clause keeps it
  // from hiding the move constructor. (clang-format 14 mangles the
  // indentation of requires-clauses, hence the off/on.)
  // clang-format off
  template <typename F>
    requires(!std::is_same_v<std::remove_cvref_t<F>, UniqueFunction> &&
             std::is_invocable_r_v<R, std::decay_t<F>&, Args...>)
  UniqueFunction(F&& f) {  // NOLINT(google-explicit-constructor)
    // clang-format on
    using Target = std::decay_t<F>;
    if constexpr (fits_inline<Target>()) {
      ::new (static_cast<void*>(&storage_)) Target(std::forward<F>(f));
      ops_ = &inline_ops<Target>;
    } else {
      heap_ = new Target(std::forward<F>(f));
      ops_ = &heap_ops<Target>;
    }
  }

  UniqueFunction(UniqueFunction&& other) noexcept { take(other); }

  UniqueFunction& operator=(UniqueFunction&& other) noexcept {
    if (this != &other) {
      reset();
      take(other);
    }
    return *this;
  }

  UniqueFunction& operator=(std::nullptr_t) noexcept {
    reset();
    return *this;
  }

  UniqueFunction(const UniqueFunction&) = delete;
  UniqueFunction& operator=(const UniqueFunction&) = delete;

  ~UniqueFunction() { reset(); }

  explicit operator bool() const noexcept { return ops_ != nullptr; }

  R operator()(Args... args) { return ops_->invoke(*this, std::forward<Args>(args)...); }

  void reset() noexcept {
    if (ops_ != nullptr) {
      ops_->destroy(*this);
      ops_ = nullptr;
    }
  }

 private:
  struct Ops {
    R (*invoke)(UniqueFunction&, Args&&...);
    // Move-constructs the target from `from` into `to` and destroys it in `from`.
    void (*relocate)(UniqueFunction& from, UniqueFunction& to) noexcept;
    void (*destroy)(UniqueFunction&) noexcept;
  };

  template <typename T>
  static constexpr bool fits_inline() {
    return sizeof(T) <= kInlineSize && alignof(T) <= alignof(std::max_align_t) &&
           std::is_nothrow_move_constructible_v<T>;
  }

  template <typename T>
  T* inline_target() noexcept {
    return std::launder(reinterpret_cast<T*>(&storage_));
  }

  template <typename T>
  static constexpr Ops inline_ops{
      [](UniqueFunction& self, Args&&... args) -> R {
        return std::invoke(*self.inline_target<T>(), std::forward<Args>(args)...);
      },
      [](UniqueFunction& from, UniqueFunction& to) noexcept {
        T* source = from.inline_target<T>();
        ::new (static_cast<void*>(&to.storage_)) T(std::move(*source));
        source->~T();
      },
      [](UniqueFunction& self) noexcept { self.inline_target<T>()->~T(); },
  };

  template <typename T>
  static constexpr Ops heap_ops{
      [](UniqueFunction& self, Args&&... args) -> R {
        return std::invoke(*static_cast<T*>(self.heap_), std::forward<Args>(args)...);
      },
      [](UniqueFunction& from, UniqueFunction& to) noexcept {
        to.heap_ = from.heap_;
        from.heap_ = nullptr;
      },
      [](UniqueFunction& self) noexcept { delete static_cast<T*>(self.heap_); },
  };

  void take(UniqueFunction& other) noexcept {
    if (other.ops_ != nullptr) {
      other.ops_->relocate(other, *this);
      ops_ = other.ops_;
      other.ops_ = nullptr;
    }
  }

  union {
    alignas(std::max_align_t) std::byte storage_[kInlineSize];
    void* heap_;
  };
  const Ops* ops_ = nullptr;
};

}  // namespace pz
