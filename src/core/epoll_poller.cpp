#include "epoll_poller.hpp"

#include <cerrno>
#include <ctime>
#include <string>

#include "pizzeria/core/system_error.hpp"

namespace pz {

namespace {

std::uint32_t to_epoll(Interest interest) noexcept {
  std::uint32_t events = 0;
  if (has(interest, Interest::readable)) {
    events |= EPOLLIN | EPOLLRDHUP;
  }
  if (has(interest, Interest::writable)) {
    events |= EPOLLOUT;
  }
  if (has(interest, Interest::edge)) {
    events |= EPOLLET;
  }
  return events;
}

}  // namespace

EpollPoller::EpollPoller() : epoll_fd_(::epoll_create1(EPOLL_CLOEXEC)), events_(256) {
  if (!epoll_fd_) {
    throw_errno("epoll_create1");
  }
}

void EpollPoller::control(int operation, int fd, Interest interest, std::uint64_t token,
                          const char* what) {
  epoll_event event{};
  event.events = to_epoll(interest);
  event.data.u64 = token;
  if (::epoll_ctl(epoll_fd_.get(), operation, fd, &event) != 0) {
    throw_errno(std::string(what) + " fd " + std::to_string(fd));
  }
}

void EpollPoller::add(int fd, Interest interest, std::uint64_t token) {
  control(EPOLL_CTL_ADD, fd, interest, token, "epoll_ctl(ADD)");
}

void EpollPoller::modify(int fd, Interest interest, std::uint64_t token) {
  control(EPOLL_CTL_MOD, fd, interest, token, "epoll_ctl(MOD)");
}

void EpollPoller::remove(int fd) {
  // ENOENT/EBADF mean the fd already left the set (closed before its watch
  // was reset): nothing is registered any more, which is what remove wants.
  if (::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_DEL, fd, nullptr) != 0 && errno != ENOENT &&
      errno != EBADF) {
    throw_errno("epoll_ctl(DEL) fd " + std::to_string(fd));
  }
}

std::size_t EpollPoller::wait(std::span<PollEvent> out, std::chrono::nanoseconds timeout) {
  const int capacity = static_cast<int>(std::min(out.size(), events_.size()));
  int count = -1;
  if (have_epoll_pwait2_ && timeout.count() > 0) {
    // epoll_pwait2 takes a timespec: a timer due in 300 us does not have to
    // wait a whole millisecond, and none fires early.
    timespec spec{};
    spec.tv_sec = static_cast<time_t>(timeout.count() / 1'000'000'000);
    spec.tv_nsec = static_cast<long>(timeout.count() % 1'000'000'000);
    count = ::epoll_pwait2(epoll_fd_.get(), events_.data(), capacity, &spec, nullptr);
    if (count < 0 && errno == ENOSYS) {
      have_epoll_pwait2_ = false;
    }
  }
  if (!have_epoll_pwait2_ || timeout.count() <= 0) {
    int milliseconds = -1;
    if (timeout.count() >= 0) {
      // Round up: waking before the deadline would only spin.
      auto ms = (timeout.count() + 999'999) / 1'000'000;
      milliseconds = static_cast<int>(std::min<std::int64_t>(ms, 1'000'000'000));
    }
    count = ::epoll_wait(epoll_fd_.get(), events_.data(), capacity, milliseconds);
  }
  if (count < 0) {
    if (errno == EINTR) {
      return 0;
    }
    throw_errno("epoll_wait");
  }
  for (int i = 0; i < count; ++i) {
    const auto& event = events_[static_cast<std::size_t>(i)];
    auto& result = out[static_cast<std::size_t>(i)];
    result.token = event.data.u64;
    result.events.readable = (event.events & (EPOLLIN | EPOLLRDHUP | EPOLLPRI)) != 0;
    result.events.writable = (event.events & EPOLLOUT) != 0;
    result.events.error = (event.events & EPOLLERR) != 0;
    result.events.hangup = (event.events & EPOLLHUP) != 0;
    result.events.read_closed = (event.events & EPOLLRDHUP) != 0;
  }
  return static_cast<std::size_t>(count);
}

}  // namespace pz
