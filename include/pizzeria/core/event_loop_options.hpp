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
};

}  // namespace pz
