// pz::EventLoop: the reactor at the heart of pizzeria (seed 000's appendix,
// seed 003's "event loop"): one thread waits for fds, timers and queued
// callbacks, and runs each handler in turn, without locks.
//
//   pz::EventLoop loop;
//   loop.call_later(std::chrono::seconds(1), [&] { loop.stop(); });
//   loop.run();
//
// One loop per thread. Constructing a second loop on a thread that has one is
// a fatal error. The loop belongs to the thread that constructed it; every
// member not marked "any thread" must be called on that thread, and checks it
// (a fatal error naming the member otherwise).
//
// Any thread: call_soon_threadsafe(), stop(), time().
//
// One iteration (docs/design.md draws it):
//   1. Poll for I/O, blocking at most until the earliest timer; no block if
//      callbacks are ready or stop() was called. With a busy_poll budget and
//      events found by the previous poll, look without blocking for up to
//      the budget first (EventLoopOptions::busy_poll).
//   2. Run the callbacks of ready fds, in the order the kernel reported them.
//      Callbacks posted from other threads join the ready queue here.
//   3. Run the timers that are due, earliest first (ties: scheduling order).
//      Timers scheduled while this step runs wait for the next iteration.
//   4. Run the callbacks that were ready when this step began (FIFO); those
//      that they schedule run in the next iteration (asyncio's rule), so no
//      chain of call_soon can starve I/O or timers.
//
// Exceptions: a callback that throws propagates out of run()/run_once();
// the loop stays consistent (the callback is consumed, nothing else is lost)
// and can be run again.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include "pizzeria/core/clock.hpp"
#include "pizzeria/core/event_loop_options.hpp"
#include "pizzeria/core/fd_watch.hpp"
#include "pizzeria/core/handle.hpp"
#include "pizzeria/core/poller.hpp"
#include "pizzeria/core/timer_handle.hpp"
#include "pizzeria/core/unique_function.hpp"

namespace pz {

using Callback = UniqueFunction<void()>;
using IoCallback = UniqueFunction<void(IoEvents)>;

class EventLoop {
 public:
  explicit EventLoop(EventLoopOptions options = {});
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;
  // Destroys queued callbacks and timers without running them. Every FdWatch
  // of the loop must be gone by now (a fatal error otherwise).
  ~EventLoop();

  // The loop of the calling thread, or nullptr. Any thread. In a child made
  // by fork() it is nullptr (the parent's loop is not the child's to use):
  // the child makes its own loop, with pz::run for example.
  [[nodiscard]] static EventLoop* current() noexcept;

  // Runs iterations until stop(). Calling run() on a running loop throws
  // std::logic_error ("This event loop is already running", as asyncio says).
  void run();

  // Runs one iteration. Blocks in the poller for at most `max_block` (and not
  // at all when something is ready).
  void run_once(Duration max_block = Duration::max());

  // Asks run() to return after the current iteration. Any thread; from
  // another thread it wakes the loop. A stop() with no run() in progress makes
  // the next run() do one iteration and return (asyncio's behaviour).
  void stop() noexcept;

  [[nodiscard]] bool running() const noexcept { return running_; }

  // Queues `fn` to run in a later step 4, after everything queued before it.
  Handle call_soon(Callback fn);

  // Runs `fn` once `delay` has passed (on this loop's clock). A negative or
  // zero delay means "due now": it runs in the next iteration.
  TimerHandle call_later(Duration delay, Callback fn);
  TimerHandle call_at(TimePoint when, Callback fn);

  // Any thread. Queues `fn` and wakes the loop through an eventfd; wake-ups
  // are coalesced: many posts before the loop looks cost one write(2).
  void call_soon_threadsafe(Callback fn);

  // The loop clock's current time. Any thread.
  [[nodiscard]] TimePoint time() const noexcept { return clock_->now(); }

  // Watches `fd` for `interest`; `fn` runs on this loop with what happened.
  [[nodiscard]] FdWatch watch(int fd, Interest interest, IoCallback fn);

  // Runs `fn` on this loop each time `signal` is delivered (through a
  // signalfd, so the handler is an ordinary callback, free to do anything).
  // The signal is blocked on the calling thread; threads started afterwards
  // inherit that mask, threads started before must block it themselves or the
  // kernel may deliver it to them instead. A signal can be handled by one loop
  // of the process at a time (std::logic_error otherwise). Replaces an
  // earlier handler of the same signal on this loop.
  void add_signal_handler(int signal, Callback fn);
  // Returns false if `signal` had no handler here. Restores the signal mask.
  bool remove_signal_handler(int signal);

  [[nodiscard]] PollerKind poller_kind() const noexcept { return poller_->kind(); }
  [[nodiscard]] Clock& clock() const noexcept { return *clock_; }

  // Number of callbacks waiting in step 4, and armed timers. For tests and
  // diagnostics.
  [[nodiscard]] std::size_t ready_count() const noexcept;
  [[nodiscard]] std::size_t timer_count() const noexcept { return armed_timers_; }

  // How step 1 has waited so far: polls that could block (a timeout other
  // than zero), and polls made while busy polling. For tests and diagnostics.
  struct PollCounts {
    std::uint64_t blocking = 0;
    std::uint64_t busy = 0;
  };
  [[nodiscard]] PollCounts poll_counts() const noexcept { return poll_counts_; }

  // Fatal error (message on stderr, abort) unless called on the loop's thread.
  void assert_in_loop_thread(const char* what) const noexcept {
    if (!in_loop_thread()) {
      fail_wrong_thread(what);
    }
  }
  [[nodiscard]] bool in_loop_thread() const noexcept;

 private:
  friend class Handle;
  friend class TimerHandle;
  friend class FdWatch;

  struct ReadyEntry {
    Callback fn;  // empty once cancelled
  };

  struct TimerSlot {
    Callback fn;
    TimePoint when{};
    std::uint32_t generation = 0;
    bool armed = false;
  };

  struct TimerEntry {
    TimePoint when;
    std::uint64_t sequence;  // scheduling order: breaks ties, keeps FIFO
    std::uint32_t slot;
    std::uint32_t generation;
  };

  struct WatchSlot {
    IoCallback fn;
    int fd = -1;
    Interest interest = Interest::none;
    bool registered = false;  // present in the poller (interest != none)
    bool in_use = false;
    bool internal = false;  // the loop's own (wake-up, signals): not counted as the user's
    std::uint32_t generation = 0;
  };

  [[noreturn]] static void fail_wrong_thread(const char* what) noexcept;

  void run_iteration(Duration max_block);
  Duration poll_timeout(Duration max_block);
  // Step 1: waits for events for at most `timeout` (negative: forever).
  std::size_t poll(Duration timeout);
  void dispatch_io(std::size_t count);
  void dispatch_one(std::size_t index);
  // After a callback threw: the kernel reports the edge-triggered watches
  // among events [from, count) again at the next wait.
  void rearm_undelivered(std::size_t from, std::size_t count) noexcept;
  void run_due_timers();
  void run_ready();
  void drain_remote();
  void invoke(Callback& fn);

  // Timers.
  void cancel_timer(std::uint32_t slot, std::uint32_t generation) noexcept;
  [[nodiscard]] bool timer_pending(std::uint32_t slot, std::uint32_t generation) const noexcept;
  void release_timer_slot(std::uint32_t slot) noexcept;
  void drop_stale_timer_entries();
  void compact_timer_heap();

  // call_soon handles.
  void cancel_ready(std::uint64_t sequence) noexcept;
  [[nodiscard]] bool ready_pending(std::uint64_t sequence) const noexcept;

  // Watches.
  void set_watch_interest(std::uint32_t slot, std::uint32_t generation, Interest interest);
  void rearm_watch(std::uint32_t slot, std::uint32_t generation);
  void rearm_token(std::uint64_t token);
  [[nodiscard]] Interest watch_interest(std::uint32_t slot,
                                        std::uint32_t generation) const noexcept;
  [[nodiscard]] int watch_fd(std::uint32_t slot, std::uint32_t generation) const noexcept;
  void remove_watch(std::uint32_t slot, std::uint32_t generation) noexcept;
  [[nodiscard]] WatchSlot* find_watch(std::uint64_t token) noexcept;

  FdWatch watch_internal(int fd, Interest interest, IoCallback fn);
  void wake() noexcept;
  void on_wakeup_readable();
  void on_signal_readable();
  void update_signal_mask();

  EventLoopOptions options_;
  Clock* clock_;
  std::unique_ptr<Poller> poller_;
  bool running_ = false;
  // Written by stop() from any thread, read by run(): relaxed is enough for
  // the flag itself; the wake-up write(2)/read(2) orders the rest.
  std::atomic<bool> stop_requested_{false};

  // Step 4: FIFO of ready callbacks. `ready_popped_` counts entries ever
  // removed from the front, so entry with sequence s sits at index
  // s - ready_popped_ while it is queued: a Handle needs no other bookkeeping.
  std::deque<ReadyEntry> ready_;
  std::uint64_t ready_popped_ = 0;

  // Step 3: a min-heap of (when, sequence) over slots; cancelled or fired
  // timers leave stale heap entries that are dropped when they surface, or
  // all at once when they outnumber the live ones (see compact_timer_heap).
  std::vector<TimerSlot> timer_slots_;
  std::vector<std::uint32_t> free_timer_slots_;
  std::vector<TimerEntry> timer_heap_;
  std::vector<TimerEntry> due_timers_;  // reused scratch for step 3
  std::uint64_t timer_sequence_ = 0;
  std::size_t armed_timers_ = 0;

  // Watches, addressed by token = slot << 32 | generation.
  std::vector<WatchSlot> watch_slots_;
  std::vector<std::uint32_t> free_watch_slots_;
  std::vector<int> watched_fds_;  // fd -> 1 when watched, to refuse doubles
  std::vector<PollEvent> poll_events_;
  std::size_t user_watches_ = 0;
  // Busy polling follows an iteration whose poll found events.
  bool last_poll_found_events_ = false;
  PollCounts poll_counts_;

  // call_soon_threadsafe: other threads append under the mutex; the loop
  // swaps the vector out and runs it (muduo's queueInLoop). `wakeup_armed_`
  // coalesces wake-ups: only the poster that flips it to true writes the
  // eventfd; the loop flips it back before swapping, so a post racing with
  // the swap writes again rather than being stranded.
  int wakeup_fd_ = -1;
  FdWatch wakeup_watch_;
  std::mutex remote_mutex_;
  std::vector<Callback> remote_;
  std::vector<Callback> remote_scratch_;
  std::atomic<bool> wakeup_armed_{false};

  // Signals.
  int signal_fd_ = -1;
  FdWatch signal_watch_;
  std::vector<std::shared_ptr<Callback>> signal_handlers_;  // indexed by signal number
  std::uint64_t signals_blocked_before_ = 0;  // bit per signal: was blocked before we blocked it
};

}  // namespace pz
