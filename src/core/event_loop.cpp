#include "pizzeria/core/event_loop.hpp"

#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "pizzeria/core/system_error.hpp"

namespace pz {

namespace {

thread_local EventLoop* current_loop = nullptr;

// Signals handled by some loop in this process, one bit per signal number:
// a signalfd only sees signals that are blocked and pending, so two loops
// competing for one signal would each get some deliveries at random.
std::atomic<std::uint64_t> claimed_signals{0};

// A child made by fork() starts with no loop, as asyncio's does
// (os.register_at_fork): the parent's loop was copied with the memory, but
// its epoll, eventfd and signalfd are the parent's, so the child must make
// its own. Runs in the child's one thread, the one that forked, before
// fork() returns there; posix_spawn does not run it.
void forget_loops_in_forked_child() noexcept {
  current_loop = nullptr;
  claimed_signals.store(0, std::memory_order_relaxed);  // the child's one thread
}
[[maybe_unused]] const int fork_handler_registered =
    ::pthread_atfork(nullptr, nullptr, &forget_loops_in_forked_child);

constexpr std::uint64_t signal_bit(int signal) noexcept {
  return std::uint64_t{1} << signal;
}

constexpr std::uint64_t make_token(std::uint32_t slot, std::uint32_t generation) noexcept {
  return (std::uint64_t{slot} << 32) | generation;
}

// Earliest deadline first; equal deadlines in scheduling order. std::push_heap
// builds a max-heap, so "less" means "later".
struct TimerLater {
  template <typename Entry>
  bool operator()(const Entry& a, const Entry& b) const noexcept {
    if (a.when != b.when) {
      return a.when > b.when;
    }
    return a.sequence > b.sequence;
  }
};

[[noreturn]] void fatal(const std::string& message) noexcept {
  std::fprintf(stderr, "pizzeria: fatal error: %s\n", message.c_str());
  std::fflush(stderr);
  std::abort();
}

double to_milliseconds(Duration duration) noexcept {
  return std::chrono::duration<double, std::milli>(duration).count();
}

}  // namespace

SteadyClock& SteadyClock::instance() noexcept {
  static SteadyClock clock;
  return clock;
}

// ---------------------------------------------------------------- lifecycle

EventLoop::EventLoop(EventLoopOptions options)
    : options_(options),
      clock_(options.clock != nullptr ? options.clock : &SteadyClock::instance()),
      poller_(make_poller(options.poller)),
      poll_events_(256) {
  if (current_loop != nullptr) {
    fatal(
        "a second pz::EventLoop was created on a thread that already has one; "
        "use one loop per thread (EventLoop::current() returns the existing one)");
  }
  wakeup_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wakeup_fd_ < 0) {
    throw_errno("eventfd for the event loop's wake-up");
  }
  current_loop = this;
  try {
    wakeup_watch_ =
        watch_internal(wakeup_fd_, Interest::readable, [this](IoEvents) { on_wakeup_readable(); });
  } catch (...) {
    current_loop = nullptr;
    ::close(wakeup_fd_);
    throw;
  }
}

FdWatch EventLoop::watch_internal(int fd, Interest interest, IoCallback fn) {
  FdWatch result = watch(fd, interest, std::move(fn));
  // The loop's own watches do not count as the user's: the destructor checks
  // that the user released theirs.
  watch_slots_[result.slot_].internal = true;
  --user_watches_;
  return result;
}

EventLoop::~EventLoop() {
  if (current_loop != this) {
    fatal("pz::EventLoop destroyed on a thread other than the one that created it");
  }
  for (int signal = 1; signal < static_cast<int>(signal_handlers_.size()); ++signal) {
    if (signal_handlers_[static_cast<std::size_t>(signal)]) {
      remove_signal_handler(signal);
    }
  }
  signal_watch_.reset();
  if (signal_fd_ >= 0) {
    ::close(signal_fd_);
  }
  wakeup_watch_.reset();
  ::close(wakeup_fd_);
  if (user_watches_ != 0) {
    fatal("pz::EventLoop destroyed while " + std::to_string(user_watches_) +
          " FdWatch object(s) still refer to it; reset or destroy them first");
  }
  current_loop = nullptr;
}

EventLoop* EventLoop::current() noexcept {
  return current_loop;
}

bool EventLoop::in_loop_thread() const noexcept {
  return current_loop == this;
}

void EventLoop::fail_wrong_thread(const char* what) noexcept {
  fatal(std::string("pz::EventLoop::") + what +
        " called from a thread that does not own the loop (only call_soon_threadsafe, stop "
        "and time are safe from any thread)");
}

// ---------------------------------------------------------------- running

void EventLoop::run() {
  assert_in_loop_thread("run");
  if (running_) {
    throw std::logic_error("This event loop is already running");
  }
  running_ = true;
  struct Reset {
    EventLoop* loop;
    ~Reset() {
      loop->running_ = false;
      loop->stop_requested_.store(false, std::memory_order_relaxed);
    }
  } reset{this};
  while (true) {
    run_iteration(Duration::max());
    if (stop_requested_.load(std::memory_order_relaxed)) {
      break;
    }
  }
}

void EventLoop::run_once(Duration max_block) {
  assert_in_loop_thread("run_once");
  if (running_) {
    throw std::logic_error("This event loop is already running");
  }
  running_ = true;
  struct Reset {
    EventLoop* loop;
    ~Reset() { loop->running_ = false; }
  } reset{this};
  run_iteration(max_block);
}

void EventLoop::stop() noexcept {
  stop_requested_.store(true, std::memory_order_relaxed);
  if (!in_loop_thread()) {
    // A sleeping loop must wake to see the flag; the wake-up is the message.
    wake();
  }
}

void EventLoop::wake() noexcept {
  // acq_rel: the exchange that finds `false` is the one that must write; the
  // loop's store of `false` happens before it swaps the remote queue, so a
  // post that races with the swap writes again and is never stranded.
  if (!wakeup_armed_.exchange(true, std::memory_order_acq_rel)) {
    const std::uint64_t one = 1;
    // EAGAIN means the counter is saturated: the loop is woken anyway.
    [[maybe_unused]] auto written = ::write(wakeup_fd_, &one, sizeof one);
  }
}

Duration EventLoop::poll_timeout(Duration max_block) {
  if (!ready_.empty() || stop_requested_.load(std::memory_order_relaxed)) {
    return Duration::zero();
  }
  Duration timeout = max_block;
  drop_stale_timer_entries();
  if (!timer_heap_.empty()) {
    timeout = std::min(
        timeout, std::max(Duration::zero(), clock_->blocking_budget(timer_heap_.front().when)));
  }
  // Duration::max() is "forever" for the poller.
  return timeout == Duration::max() ? Duration(-1) : timeout;
}

std::size_t EventLoop::poll(Duration timeout) {
  if (options_.busy_poll > Duration::zero() && last_poll_found_events_ &&
      timeout != Duration::zero()) {
    // Spin in real time: the budget is about a core's time, and the loop's
    // clock may be a manual one that real time does not move.
    const auto& real = SteadyClock::instance();
    const TimePoint start = real.now();
    const Duration budget =
        timeout < Duration::zero() ? options_.busy_poll : std::min(options_.busy_poll, timeout);
    TimePoint now = start;
    do {
      ++poll_counts_.busy;
      if (const std::size_t count = poller_->wait(poll_events_, Duration::zero()); count > 0) {
        return count;
      }
      now = real.now();
      // stop() from another thread writes the wake-up fd, which the next
      // look sees; one from this thread cannot happen while we spin.
    } while (now - start < budget);
    if (timeout > Duration::zero()) {
      timeout = std::max(Duration::zero(), timeout - (now - start));
      if (timeout == Duration::zero()) {
        return 0;  // the spin used up the time to the next timer
      }
    }
  }
  if (timeout != Duration::zero()) {
    ++poll_counts_.blocking;
  }
  return poller_->wait(poll_events_, timeout);
}

void EventLoop::run_iteration(Duration max_block) {
  // Step 1: poll.
  const std::size_t count = poll(poll_timeout(max_block));
  last_poll_found_events_ = count > 0;
  if (count == 0 && ready_.empty()) {
    drop_stale_timer_entries();
    if (!timer_heap_.empty()) {
      // Nothing happened but a timer is pending: a manual clock with
      // auto-advance jumps to it here.
      clock_->idle_until(timer_heap_.front().when);
    }
  }
  // Step 2: I/O callbacks (and the thread-safe queue, via the wake-up fd).
  dispatch_io(count);
  // Step 3: due timers.
  run_due_timers();
  // Step 4: ready callbacks.
  run_ready();
}

void EventLoop::invoke(Callback& fn) {
  if (options_.slow_callback_threshold <= Duration::zero()) {
    fn();
    return;
  }
  const auto start = SteadyClock::instance().now();
  fn();
  const auto took = SteadyClock::instance().now() - start;
  if (took >= options_.slow_callback_threshold) {
    std::fprintf(stderr,
                 "pizzeria: slow callback: held the event loop for %.3f ms (threshold %.3f ms)\n",
                 to_milliseconds(took), to_milliseconds(options_.slow_callback_threshold));
  }
}

void EventLoop::rearm_undelivered(std::size_t from, std::size_t count) noexcept {
  for (std::size_t i = from; i < count; ++i) {
    try {
      rearm_token(poll_events_[i].token);
    } catch (...) {
      // Already on the way out with an exception; this one would only
      // replace it. The watch stays registered.
    }
  }
}

void EventLoop::dispatch_io(std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) {
    try {
      dispatch_one(i);
    } catch (...) {
      // The events after this one will not run now, and an edge-triggered
      // watch would never hear of its readiness again: have the kernel
      // report them afresh (the throwing watch too: it may not have used up
      // its event), so "nothing else is lost" holds for edges as for levels.
      rearm_undelivered(i, count);
      throw;
    }
  }
}

void EventLoop::dispatch_one(std::size_t i) {
  const PollEvent& event = poll_events_[i];
  WatchSlot* slot = find_watch(event.token);
  if (slot == nullptr || !slot->registered) {
    return;  // reset earlier in this step
  }
  // Move the callback out while it runs: it may reset its own watch or add
  // watches (reallocating the slot table).
  IoCallback fn = std::move(slot->fn);
  const auto slot_index = static_cast<std::uint32_t>(event.token >> 32);
  const auto generation = static_cast<std::uint32_t>(event.token);
  struct Restore {
    EventLoop* loop;
    IoCallback& fn;
    std::uint32_t slot_index;
    std::uint32_t generation;
    ~Restore() {
      WatchSlot& after = loop->watch_slots_[slot_index];
      if (after.in_use && after.generation == generation) {
        after.fn = std::move(fn);
      }
    }
  } restore{this, fn, slot_index, generation};
  if (options_.slow_callback_threshold <= Duration::zero()) {
    fn(event.events);
  } else {
    Callback timed([&fn, &event] { fn(event.events); });
    invoke(timed);
  }
}

// ---------------------------------------------------------------- ready queue

Handle EventLoop::call_soon(Callback fn) {
  assert_in_loop_thread("call_soon");
  const std::uint64_t sequence = ready_popped_ + ready_.size();
  ready_.push_back(ReadyEntry{std::move(fn)});
  return Handle(this, sequence);
}

std::size_t EventLoop::ready_count() const noexcept {
  return ready_.size();
}

void EventLoop::run_ready() {
  // Only what was queued before this step: callbacks queued now wait for the
  // next iteration, so I/O and timers get their turn.
  std::size_t todo = ready_.size();
  while (todo-- > 0) {
    Callback fn = std::move(ready_.front().fn);
    ready_.pop_front();
    ++ready_popped_;
    if (fn) {
      invoke(fn);
    }
  }
}

void EventLoop::cancel_ready(std::uint64_t sequence) noexcept {
  if (sequence >= ready_popped_ && sequence - ready_popped_ < ready_.size()) {
    ready_[static_cast<std::size_t>(sequence - ready_popped_)].fn.reset();
  }
}

bool EventLoop::ready_pending(std::uint64_t sequence) const noexcept {
  return sequence >= ready_popped_ && sequence - ready_popped_ < ready_.size() &&
         static_cast<bool>(ready_[static_cast<std::size_t>(sequence - ready_popped_)].fn);
}

void Handle::cancel() noexcept {
  if (loop_ != nullptr) {
    loop_->assert_in_loop_thread("Handle::cancel");
    loop_->cancel_ready(sequence_);
  }
}

bool Handle::pending() const noexcept {
  return loop_ != nullptr && loop_->ready_pending(sequence_);
}

// ---------------------------------------------------------------- thread-safe queue

void EventLoop::call_soon_threadsafe(Callback fn) {
  {
    std::lock_guard lock(remote_mutex_);
    remote_.push_back(std::move(fn));
  }
  wake();
}

void EventLoop::on_wakeup_readable() {
  std::uint64_t value = 0;
  [[maybe_unused]] auto got = ::read(wakeup_fd_, &value, sizeof value);
  drain_remote();
}

void EventLoop::drain_remote() {
  // Disarm first: a post that lands after the swap below sees `false` and
  // writes the eventfd again, so it is picked up next iteration.
  wakeup_armed_.store(false, std::memory_order_release);
  {
    std::lock_guard lock(remote_mutex_);
    remote_scratch_.swap(remote_);
  }
  for (auto& fn : remote_scratch_) {
    ready_.push_back(ReadyEntry{std::move(fn)});
  }
  remote_scratch_.clear();
}

// ---------------------------------------------------------------- timers

TimerHandle EventLoop::call_later(Duration delay, Callback fn) {
  return call_at(clock_->now() + delay, std::move(fn));
}

TimerHandle EventLoop::call_at(TimePoint when, Callback fn) {
  assert_in_loop_thread("call_at");
  std::uint32_t slot = 0;
  if (!free_timer_slots_.empty()) {
    slot = free_timer_slots_.back();
    free_timer_slots_.pop_back();
  } else {
    slot = static_cast<std::uint32_t>(timer_slots_.size());
    timer_slots_.emplace_back();
  }
  TimerSlot& timer = timer_slots_[slot];
  timer.fn = std::move(fn);
  timer.when = when;
  timer.armed = true;
  timer_heap_.push_back(TimerEntry{when, timer_sequence_++, slot, timer.generation});
  std::push_heap(timer_heap_.begin(), timer_heap_.end(), TimerLater{});
  ++armed_timers_;
  return TimerHandle(this, slot, timer.generation, when);
}

void EventLoop::release_timer_slot(std::uint32_t slot) noexcept {
  TimerSlot& timer = timer_slots_[slot];
  timer.armed = false;
  ++timer.generation;  // every handle and heap entry naming the old generation goes stale
  free_timer_slots_.push_back(slot);
  --armed_timers_;
}

void EventLoop::cancel_timer(std::uint32_t slot, std::uint32_t generation) noexcept {
  if (!timer_pending(slot, generation)) {
    return;
  }
  // Destroy the callback now (what it captured may be large or hold
  // resources); the heap entry goes stale and is dropped lazily.
  Callback doomed = std::move(timer_slots_[slot].fn);
  release_timer_slot(slot);
  compact_timer_heap();
}

bool EventLoop::timer_pending(std::uint32_t slot, std::uint32_t generation) const noexcept {
  return slot < timer_slots_.size() && timer_slots_[slot].armed &&
         timer_slots_[slot].generation == generation;
}

void EventLoop::drop_stale_timer_entries() {
  while (!timer_heap_.empty()) {
    const TimerEntry& top = timer_heap_.front();
    if (timer_pending(top.slot, top.generation)) {
      return;
    }
    std::pop_heap(timer_heap_.begin(), timer_heap_.end(), TimerLater{});
    timer_heap_.pop_back();
  }
}

void EventLoop::compact_timer_heap() {
  // Lazy removal keeps cancel O(1), but a program that arms and cancels many
  // far-future timers would grow the heap without bound. Once stale entries
  // are the majority, rebuild: O(n) now, amortised O(1) per cancel (asyncio
  // does the same with its cancelled-timer fraction).
  const std::size_t stale = timer_heap_.size() - armed_timers_;
  if (timer_heap_.size() < 64 || stale * 2 <= timer_heap_.size()) {
    return;
  }
  std::erase_if(timer_heap_, [this](const TimerEntry& entry) {
    return !timer_pending(entry.slot, entry.generation);
  });
  std::make_heap(timer_heap_.begin(), timer_heap_.end(), TimerLater{});
}

void EventLoop::run_due_timers() {
  if (timer_heap_.empty()) {
    return;
  }
  // Collect first, run second: timers armed by these callbacks (even ones due
  // at once) are not in the batch, so they wait for the next iteration, and a
  // callback that cancels a batched timer is honoured because each entry is
  // checked again right before it runs.
  const TimePoint now = clock_->now();
  due_timers_.clear();
  while (!timer_heap_.empty() && timer_heap_.front().when <= now) {
    std::pop_heap(timer_heap_.begin(), timer_heap_.end(), TimerLater{});
    const TimerEntry entry = timer_heap_.back();
    timer_heap_.pop_back();
    if (timer_pending(entry.slot, entry.generation)) {
      due_timers_.push_back(entry);
    }
  }
  for (std::size_t i = 0; i < due_timers_.size(); ++i) {
    const TimerEntry entry = due_timers_[i];
    if (!timer_pending(entry.slot, entry.generation)) {
      continue;  // cancelled by an earlier callback of this batch
    }
    Callback fn = std::move(timer_slots_[entry.slot].fn);
    release_timer_slot(entry.slot);
    try {
      invoke(fn);
    } catch (...) {
      // Put the rest of the batch back so an exception loses no timer.
      for (std::size_t j = i + 1; j < due_timers_.size(); ++j) {
        timer_heap_.push_back(due_timers_[j]);
        std::push_heap(timer_heap_.begin(), timer_heap_.end(), TimerLater{});
      }
      due_timers_.clear();
      throw;
    }
  }
  due_timers_.clear();
}

void TimerHandle::cancel() noexcept {
  if (loop_ != nullptr) {
    loop_->assert_in_loop_thread("TimerHandle::cancel");
    loop_->cancel_timer(slot_, generation_);
  }
}

bool TimerHandle::pending() const noexcept {
  return loop_ != nullptr && loop_->timer_pending(slot_, generation_);
}

// ---------------------------------------------------------------- fd watches

namespace {

// An edge with nothing to be edge-triggered about is no interest at all.
Interest normalized(Interest interest) noexcept {
  return (interest & Interest::both) == Interest::none ? Interest::none : interest;
}

}  // namespace

FdWatch EventLoop::watch(int fd, Interest interest, IoCallback fn) {
  assert_in_loop_thread("watch");
  interest = normalized(interest);
  if (fd < 0) {
    throw std::invalid_argument("EventLoop::watch: invalid fd " + std::to_string(fd));
  }
  const auto fd_index = static_cast<std::size_t>(fd);
  if (fd_index >= watched_fds_.size()) {
    watched_fds_.resize(fd_index + 1, 0);
  }
  if (watched_fds_[fd_index] != 0) {
    throw std::logic_error("EventLoop::watch: fd " + std::to_string(fd) +
                           " is already watched by this loop; combine interests in one watch");
  }
  std::uint32_t slot = 0;
  if (!free_watch_slots_.empty()) {
    slot = free_watch_slots_.back();
    free_watch_slots_.pop_back();
  } else {
    slot = static_cast<std::uint32_t>(watch_slots_.size());
    watch_slots_.emplace_back();
  }
  WatchSlot& watch = watch_slots_[slot];
  if (interest != Interest::none) {
    try {
      poller_->add(fd, interest, make_token(slot, watch.generation));
    } catch (...) {
      free_watch_slots_.push_back(slot);
      throw;
    }
  }
  watch.fn = std::move(fn);
  watch.fd = fd;
  watch.interest = interest;
  watch.registered = interest != Interest::none;
  watch.in_use = true;
  watched_fds_[fd_index] = 1;
  ++user_watches_;
  return FdWatch(this, slot, watch.generation);
}

EventLoop::WatchSlot* EventLoop::find_watch(std::uint64_t token) noexcept {
  const auto slot = static_cast<std::uint32_t>(token >> 32);
  const auto generation = static_cast<std::uint32_t>(token);
  if (slot >= watch_slots_.size()) {
    return nullptr;
  }
  WatchSlot& watch = watch_slots_[slot];
  return watch.in_use && watch.generation == generation ? &watch : nullptr;
}

void EventLoop::set_watch_interest(std::uint32_t slot, std::uint32_t generation,
                                   Interest interest) {
  assert_in_loop_thread("FdWatch::set_interest");
  interest = normalized(interest);
  WatchSlot* watch = find_watch(make_token(slot, generation));
  if (watch == nullptr || watch->interest == interest) {
    return;
  }
  const std::uint64_t token = make_token(slot, generation);
  if (interest == Interest::none) {
    poller_->remove(watch->fd);
    watch->registered = false;
  } else if (watch->registered) {
    poller_->modify(watch->fd, interest, token);
  } else {
    poller_->add(watch->fd, interest, token);
    watch->registered = true;
  }
  watch->interest = interest;
}

void EventLoop::rearm_watch(std::uint32_t slot, std::uint32_t generation) {
  assert_in_loop_thread("FdWatch::rearm");
  rearm_token(make_token(slot, generation));
}

void EventLoop::rearm_token(std::uint64_t token) {
  WatchSlot* watch = find_watch(token);
  if (watch == nullptr || !watch->registered || !has(watch->interest, Interest::edge)) {
    return;
  }
  // EPOLL_CTL_MOD re-polls the fd and queues it if it is ready now: the
  // readiness the owner left behind is reported once more.
  poller_->modify(watch->fd, watch->interest, token);
}

Interest EventLoop::watch_interest(std::uint32_t slot, std::uint32_t generation) const noexcept {
  if (slot >= watch_slots_.size() || watch_slots_[slot].generation != generation) {
    return Interest::none;
  }
  return watch_slots_[slot].interest;
}

int EventLoop::watch_fd(std::uint32_t slot, std::uint32_t generation) const noexcept {
  if (slot >= watch_slots_.size() || watch_slots_[slot].generation != generation) {
    return -1;
  }
  return watch_slots_[slot].fd;
}

void EventLoop::remove_watch(std::uint32_t slot, std::uint32_t generation) noexcept {
  assert_in_loop_thread("FdWatch::reset");
  WatchSlot* watch = find_watch(make_token(slot, generation));
  if (watch == nullptr) {
    return;
  }
  if (watch->registered) {
    try {
      poller_->remove(watch->fd);
    } catch (const std::exception& error) {
      // remove() only fails for reasons other than "already gone" when the
      // poller itself is broken; nothing sensible can be done in a reset.
      std::fprintf(stderr, "pizzeria: removing fd %d from the poller failed: %s\n", watch->fd,
                   error.what());
    }
  }
  watched_fds_[static_cast<std::size_t>(watch->fd)] = 0;
  if (!watch->internal) {
    --user_watches_;
  }
  // If this runs inside the watch's own callback, dispatch_io holds the
  // callback and destroys it after the call returns (its Restore sees the new
  // generation); otherwise destroy it now.
  IoCallback doomed = std::move(watch->fn);
  watch->fd = -1;
  watch->interest = Interest::none;
  watch->registered = false;
  watch->in_use = false;
  watch->internal = false;
  ++watch->generation;
  free_watch_slots_.push_back(slot);
}

FdWatch::FdWatch(FdWatch&& other) noexcept
    : loop_(std::exchange(other.loop_, nullptr)),
      slot_(other.slot_),
      generation_(other.generation_) {}

FdWatch& FdWatch::operator=(FdWatch&& other) noexcept {
  if (this != &other) {
    reset();
    loop_ = std::exchange(other.loop_, nullptr);
    slot_ = other.slot_;
    generation_ = other.generation_;
  }
  return *this;
}

void FdWatch::set_interest(Interest interest) {
  if (loop_ != nullptr) {
    loop_->set_watch_interest(slot_, generation_, interest);
  }
}

void FdWatch::rearm() {
  if (loop_ != nullptr) {
    loop_->rearm_watch(slot_, generation_);
  }
}

Interest FdWatch::interest() const noexcept {
  return loop_ != nullptr ? loop_->watch_interest(slot_, generation_) : Interest::none;
}

int FdWatch::fd() const noexcept {
  return loop_ != nullptr ? loop_->watch_fd(slot_, generation_) : -1;
}

void FdWatch::reset() noexcept {
  if (loop_ != nullptr) {
    std::exchange(loop_, nullptr)->remove_watch(slot_, generation_);
  }
}

// ---------------------------------------------------------------- signals

void EventLoop::add_signal_handler(int signal, Callback fn) {
  assert_in_loop_thread("add_signal_handler");
  if (signal <= 0 || signal >= 64 || signal == SIGKILL || signal == SIGSTOP) {
    throw std::invalid_argument("add_signal_handler: signal " + std::to_string(signal) +
                                " cannot be handled");
  }
  const auto index = static_cast<std::size_t>(signal);
  if (index >= signal_handlers_.size()) {
    signal_handlers_.resize(index + 1);
  }
  if (!signal_handlers_[index]) {
    const std::uint64_t before =
        claimed_signals.fetch_or(signal_bit(signal), std::memory_order_acq_rel);
    if ((before & signal_bit(signal)) != 0) {
      throw std::logic_error("add_signal_handler: signal " + std::to_string(signal) +
                             " is already handled by another event loop of this process");
    }
    sigset_t set;
    sigset_t old;
    sigemptyset(&set);
    sigaddset(&set, signal);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    if (sigismember(&old, signal) == 1) {
      signals_blocked_before_ |= signal_bit(signal);
    }
  }
  signal_handlers_[index] = std::make_shared<Callback>(std::move(fn));
  update_signal_mask();
}

bool EventLoop::remove_signal_handler(int signal) {
  assert_in_loop_thread("remove_signal_handler");
  const auto index = static_cast<std::size_t>(signal);
  if (signal <= 0 || index >= signal_handlers_.size() || !signal_handlers_[index]) {
    return false;
  }
  signal_handlers_[index].reset();
  update_signal_mask();
  if ((signals_blocked_before_ & signal_bit(signal)) == 0) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, signal);
    pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
  }
  signals_blocked_before_ &= ~signal_bit(signal);
  claimed_signals.fetch_and(~signal_bit(signal), std::memory_order_acq_rel);
  return true;
}

void EventLoop::update_signal_mask() {
  sigset_t mask;
  sigemptyset(&mask);
  for (std::size_t signal = 1; signal < signal_handlers_.size(); ++signal) {
    if (signal_handlers_[signal]) {
      sigaddset(&mask, static_cast<int>(signal));
    }
  }
  const int fd = ::signalfd(signal_fd_, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd < 0) {
    throw_errno("signalfd");
  }
  if (signal_fd_ < 0) {
    signal_fd_ = fd;
    signal_watch_ =
        watch_internal(signal_fd_, Interest::readable, [this](IoEvents) { on_signal_readable(); });
  }
}

void EventLoop::on_signal_readable() {
  std::array<signalfd_siginfo, 16> infos{};
  while (true) {
    const auto got = ::read(signal_fd_, infos.data(), sizeof infos);
    if (got <= 0) {
      return;  // EAGAIN: drained
    }
    const auto count = static_cast<std::size_t>(got) / sizeof(signalfd_siginfo);
    for (std::size_t i = 0; i < count; ++i) {
      const auto signal = static_cast<std::size_t>(infos[i].ssi_signo);
      if (signal < signal_handlers_.size() && signal_handlers_[signal]) {
        // Handlers are ordinary callbacks: queue them so they run in step 4
        // like everything else and may remove themselves safely.
        // The shared_ptr keeps the handler alive while it runs, even if it
        // removes or replaces itself.
        call_soon([handler = signal_handlers_[signal]] { (*handler)(); });
      }
    }
  }
}

}  // namespace pz
