#include "pizzeria/net/accept_throttle.hpp"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "pizzeria/core/system_error.hpp"

namespace pz {

namespace {

UniqueFd open_spare() {
  return UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
}

const char* errno_name(int error) {
  switch (error) {
    case EMFILE:
      return "EMFILE";
    case ENFILE:
      return "ENFILE";
    case ENOBUFS:
      return "ENOBUFS";
    default:
      return "ENOMEM";
  }
}

}  // namespace

AcceptThrottle::AcceptThrottle(AcceptThrottleOptions options)
    : options_(std::move(options)), next_pause_(options_.first_pause.count()) {
  if (options_.keep_spare) {
    spare_ = open_spare();
    spare_missing_.store(!spare_, std::memory_order_relaxed);
  }
}

AcceptThrottle::Result AcceptThrottle::accept(int listener_fd, TimePoint now, int flags) {
  Result result;
  if (paused(now)) {
    result.outcome = Outcome::paused;
    return result;
  }
  for (;;) {
    result.peer_length = sizeof(result.peer);
    result.client.reset(::accept4(listener_fd, reinterpret_cast<sockaddr*>(&result.peer),
                                  &result.peer_length, flags | SOCK_CLOEXEC));
    if (result.client) {
      succeeded();
      result.outcome = Outcome::accepted;
      return result;
    }
    const int error = errno;
    switch (error) {
      case EINTR:
        continue;
      case EAGAIN:
      case ECONNABORTED:  // the client gave up while queued
      case EPROTO:
      case EPERM:  // a firewall rule refused it
      case ENETDOWN:
      case ENOPROTOOPT:
      case EHOSTDOWN:
      case ENONET:
      case EHOSTUNREACH:
      case EOPNOTSUPP:
      case ENETUNREACH:
        // accept(2): these are the client's network errors, passed on; the
        // next client may be fine, and the caller asks again when it wants.
        result.error = error;
        result.outcome = Outcome::none;
        return result;
      case EMFILE:
      case ENFILE:
        if (options_.keep_spare && refuse_with_spare(listener_fd, result)) {
          result.error = error;
          return result;
        }
        [[fallthrough]];
      case ENOBUFS:
      case ENOMEM:
        start_pause(error, now);
        result.error = error;
        result.outcome = Outcome::paused;
        return result;
      default:
        throw_errno("accept on " + options_.label);
    }
  }
}

bool AcceptThrottle::refuse_with_spare(int listener_fd, Result& result) {
  // Under the lock: shards of one server never race each other for the
  // freed slot. Another thread of the process (a connection opening a file)
  // still may; then accept4 fails again and the caller pauses.
  std::lock_guard lock(mutex_);
  if (!spare_) {
    spare_ = open_spare();  // a slot may have come free since
    if (!spare_) {
      return false;
    }
  }
  spare_.reset();
  result.peer_length = sizeof(result.peer);
  result.client.reset(::accept4(listener_fd, reinterpret_cast<sockaddr*>(&result.peer),
                                &result.peer_length, SOCK_CLOEXEC));
  spare_ = open_spare();
  // relaxed: see spare_missing_.
  spare_missing_.store(!spare_, std::memory_order_relaxed);
  if (!result.client) {
    return false;
  }
  result.outcome = Outcome::refuse;
  return true;
}

void AcceptThrottle::start_pause(int error, TimePoint now) {
  Duration pause{};
  {
    std::lock_guard lock(mutex_);
    if (paused(now)) {
      return;  // another thread or shard started this pause
    }
    pause = Duration(next_pause_.load(std::memory_order_relaxed));
    next_pause_.store(std::min(2 * pause, options_.last_pause).count(), std::memory_order_relaxed);
    paused_until_.store((now + pause).time_since_epoch().count(), std::memory_order_relaxed);
  }
  pauses_.fetch_add(1, std::memory_order_relaxed);
  const bool memory = error == ENOBUFS || error == ENOMEM;
  const std::string line =
      "accept on " + options_.label + " failed: " + std::strerror(error) + " (" +
      errno_name(error) + (memory ? "), the kernel is short of memory" : "), out of descriptors") +
      "; pausing accepts for " +
      std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(pause).count()) + " ms";
  if (options_.log) {
    options_.log(line);
  } else {
    std::fprintf(stderr, "pizzeria: %s\n", line.c_str());
  }
}

void AcceptThrottle::succeeded() {
  // The common case (no failure since the last success) takes no lock.
  const bool reset = next_pause_.load(std::memory_order_relaxed) != options_.first_pause.count();
  if (!reset && !spare_missing_.load(std::memory_order_relaxed)) {
    return;
  }
  std::lock_guard lock(mutex_);
  next_pause_.store(options_.first_pause.count(), std::memory_order_relaxed);
  if (options_.keep_spare && !spare_) {
    spare_ = open_spare();
    spare_missing_.store(!spare_, std::memory_order_relaxed);
  }
}

}  // namespace pz
