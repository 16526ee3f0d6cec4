// pz::StopSource / pz::StopToken / pz::StopCallback: the cancellation signal
// of pizzeria's coroutines.
//
//   pz::StopSource source;
//   pz::StopToken token = source.token();
//   pz::StopCallback on_stop(token, [&] { ...undo the pending operation... });
//   source.request_stop();  // runs on_stop now
//
// Why not std::stop_source: it allocates its shared state on the heap, counts
// references atomically and guards its callback list with a spin lock, so that
// any thread may request a stop. A coroutine of pizzeria and everything it
// awaits run on one loop thread, so none of that is needed: here a source is a
// flag and an intrusive list, lives inside the coroutine frame that owns it
// (no allocation), and a token is one pointer. Cross-thread cancellation goes
// through EventLoop::call_soon_threadsafe, which then calls request_stop() on
// the loop's thread.
//
// Stops are sticky (level-triggered, like Trio's cancel scopes and unlike
// asyncio's one-shot CancelledError): once requested, every later await under
// the token raises CancelledError at once, so a cancelled task cannot
// accidentally swallow its cancellation and carry on. A narrower scope
// (pz::timeout) uses its own source linked to the outer token.
//
// Lifetime: a source must outlive every token and callback made from it
// (structured concurrency guarantees this: the source lives in the frame that
// awaits everything using it). A source is neither copyable nor movable,
// because tokens point at it.
//
// Thread safety: none; everything on the owning loop's thread.
#pragma once

#include <type_traits>
#include <utility>

namespace pz {

class StopSource;
class StopToken;

namespace detail {

// A node of a source's callback list. Embedded in whatever waits (an awaiter,
// a linked source), so registering allocates nothing.
class StopNode {
 public:
  // Called with `context` when the stop is requested; the node is already
  // detached, so the callback may destroy it.
  using Fn = void (*)(void* context) noexcept;

  StopNode(Fn fn, void* context) noexcept : fn_(fn), context_(context) {}
  StopNode(const StopNode&) = delete;
  StopNode& operator=(const StopNode&) = delete;
  ~StopNode() { detach(); }

  // Registers with `token`'s source. If a stop was already requested, runs the
  // callback now and stays detached. An empty token never stops.
  void attach(StopToken token) noexcept;
  // Unregisters; idempotent, and harmless after the callback ran.
  void detach() noexcept;
  [[nodiscard]] bool attached() const noexcept { return source_ != nullptr; }

 private:
  friend class pz::StopSource;
  Fn fn_;
  void* context_;
  StopSource* source_ = nullptr;
  StopNode* prev_ = nullptr;
  StopNode* next_ = nullptr;
};

}  // namespace detail

class StopToken {
 public:
  StopToken() noexcept = default;

  // False for an empty token: nothing can stop it.
  [[nodiscard]] bool stop_possible() const noexcept { return source_ != nullptr; }
  [[nodiscard]] inline bool stop_requested() const noexcept;

  friend bool operator==(StopToken a, StopToken b) noexcept { return a.source_ == b.source_; }

 private:
  friend class StopSource;
  friend class detail::StopNode;
  explicit StopToken(StopSource* source) noexcept : source_(source) {}
  StopSource* source_ = nullptr;
};

class StopSource {
 public:
  StopSource() noexcept : link_(&StopSource::on_parent_stop, this) {}
  // A source that also stops when `parent` does (a nested cancel scope).
  explicit StopSource(StopToken parent) noexcept : StopSource() { link_.attach(parent); }
  StopSource(const StopSource&) = delete;
  StopSource& operator=(const StopSource&) = delete;
  ~StopSource() { link_.detach(); }

  [[nodiscard]] StopToken token() noexcept { return StopToken(this); }
  [[nodiscard]] bool stop_requested() const noexcept { return stopped_; }

  // Marks the source stopped and runs every registered callback once, in
  // registration order. A callback may attach or detach other nodes, or
  // destroy itself. Returns false if a stop had already been requested.
  bool request_stop() noexcept {
    if (stopped_) {
      return false;
    }
    stopped_ = true;
    link_.detach();
    while (head_ != nullptr) {
      detail::StopNode* node = head_;
      unlink(*node);
      node->fn_(node->context_);
    }
    return true;
  }

 private:
  friend class detail::StopNode;

  static void on_parent_stop(void* self) noexcept {
    static_cast<StopSource*>(self)->request_stop();
  }

  void push(detail::StopNode& node) noexcept {
    node.source_ = this;
    node.prev_ = tail_;
    node.next_ = nullptr;
    if (tail_ != nullptr) {
      tail_->next_ = &node;
    } else {
      head_ = &node;
    }
    tail_ = &node;
  }

  void unlink(detail::StopNode& node) noexcept {
    (node.prev_ != nullptr ? node.prev_->next_ : head_) = node.next_;
    (node.next_ != nullptr ? node.next_->prev_ : tail_) = node.prev_;
    node.prev_ = node.next_ = nullptr;
    node.source_ = nullptr;
  }

  detail::StopNode* head_ = nullptr;
  detail::StopNode* tail_ = nullptr;
  bool stopped_ = false;
  detail::StopNode link_;  // registered with the parent's source, if any
};

inline bool StopToken::stop_requested() const noexcept {
  return source_ != nullptr && source_->stop_requested();
}

namespace detail {

inline void StopNode::attach(StopToken token) noexcept {
  detach();
  StopSource* source = token.source_;
  if (source == nullptr) {
    return;
  }
  if (source->stopped_) {
    fn_(context_);
    return;
  }
  source->push(*this);
}

inline void StopNode::detach() noexcept {
  if (source_ != nullptr) {
    source_->unlink(*this);
  }
}

}  // namespace detail

// Runs `fn` when the token's source is stopped (at once if it already is),
// unless destroyed first. std::stop_callback's shape.
template <typename F>
class StopCallback {
 public:
  StopCallback(StopToken token, F fn) noexcept(std::is_nothrow_move_constructible_v<F>)
      : fn_(std::move(fn)), node_(&StopCallback::fire, this) {
    node_.attach(token);
  }
  StopCallback(const StopCallback&) = delete;
  StopCallback& operator=(const StopCallback&) = delete;

 private:
  static void fire(void* self) noexcept { static_cast<StopCallback*>(self)->fn_(); }
  F fn_;
  detail::StopNode node_;  // after fn_: detaches before fn_ is destroyed
};

}  // namespace pz
