// pz::EventLoopOptions: how an EventLoop is built. Plain data.
#pragma once

#include "pizzeria/core/clock.hpp"
#include "pizzeria/core/poller.hpp"

namespace pz {

struct EventLoopOptions {
  // Which readiness backend to use. Both pass the same test suite.
  PollerKind poller = PollerKind::epoll;

  // Where time comes from; nullptr means SteadyClock::instance(). The clock
  // must outlive the loop.
  Clock* clock = nullptr;

  // asyncio's debug mode: when positive, any callback (a coroutine step is a
  // callback) that holds the loop longer than this is reported on stderr with
  // how long it took. Zero turns the measurement off entirely.
  Duration slow_callback_threshold = Duration::zero();

  // Busy polling (Linux's SO_BUSY_POLL idea, in user space): after an
  // iteration whose poll returned events, the loop keeps looking for more
  // without blocking, for up to this long (never past the next timer), and
  // only then sleeps in the poller. A reply that arrives within the budget
  // then costs no wake-up of a sleeping thread, at the price of a core
  // burning while it waits. A loop that found nothing sleeps at once, so an
  // idle loop never spins. Zero (the default) never spins. Measured in real
  // time, whatever `clock` is (a manual clock with a timer pending allows no
  // blocking, so no spinning either).
  Duration busy_poll = Duration::zero();
};

}  // namespace pz
