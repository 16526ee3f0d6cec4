#include "poll_poller.hpp"

#include <cerrno>
#include <ctime>
#include <stdexcept>
#include <string>

#include "pizzeria/core/system_error.hpp"

namespace pz {

namespace {

short to_poll(Interest interest) noexcept {
  short events = 0;
  if (has(interest, Interest::readable)) {
    events = static_cast<short>(events | POLLIN | POLLRDHUP);
  }
  if (has(interest, Interest::writable)) {
    events = static_cast<short>(events | POLLOUT);
  }
  return events;
}

}  // namespace

void PollPoller::add(int fd, Interest interest, std::uint64_t token) {
  if (fd < 0) {
    throw std::invalid_argument("poll backend: cannot watch negative fd " + std::to_string(fd));
  }
  const auto slot = static_cast<std::size_t>(fd);
  if (slot >= index_of_fd_.size()) {
    index_of_fd_.resize(slot + 1, kAbsent);
  }
  if (index_of_fd_[slot] != kAbsent) {
    throw_errno("poll backend: add fd " + std::to_string(fd), EEXIST);
  }
  index_of_fd_[slot] = fds_.size();
  fds_.push_back(pollfd{fd, to_poll(interest), 0});
  tokens_.push_back(token);
}

void PollPoller::modify(int fd, Interest interest, std::uint64_t token) {
  const auto slot = static_cast<std::size_t>(fd);
  if (fd < 0 || slot >= index_of_fd_.size() || index_of_fd_[slot] == kAbsent) {
    throw_errno("poll backend: modify fd " + std::to_string(fd), ENOENT);
  }
  const auto index = index_of_fd_[slot];
  fds_[index].events = to_poll(interest);
  tokens_[index] = token;
}

void PollPoller::remove(int fd) {
  const auto slot = static_cast<std::size_t>(fd);
  if (fd < 0 || slot >= index_of_fd_.size() || index_of_fd_[slot] == kAbsent) {
    return;
  }
  // Swap with the last entry: O(1), order does not matter to poll(2).
  const auto index = index_of_fd_[slot];
  const auto last = fds_.size() - 1;
  if (index != last) {
    fds_[index] = fds_[last];
    tokens_[index] = tokens_[last];
    index_of_fd_[static_cast<std::size_t>(fds_[index].fd)] = index;
  }
  fds_.pop_back();
  tokens_.pop_back();
  index_of_fd_[slot] = kAbsent;
}

std::size_t PollPoller::wait(std::span<PollEvent> out, std::chrono::nanoseconds timeout) {
  timespec spec{};
  timespec* spec_pointer = nullptr;
  if (timeout.count() >= 0) {
    spec.tv_sec = static_cast<time_t>(timeout.count() / 1'000'000'000);
    spec.tv_nsec = static_cast<long>(timeout.count() % 1'000'000'000);
    spec_pointer = &spec;
  }
  const int ready = ::ppoll(fds_.data(), fds_.size(), spec_pointer, nullptr);
  if (ready < 0) {
    if (errno == EINTR) {
      return 0;
    }
    throw_errno("ppoll");
  }
  std::size_t produced = 0;
  const std::size_t total = fds_.size();
  if (resume_at_ >= total) {
    resume_at_ = 0;
  }
  std::size_t scanned = 0;
  for (; scanned < total && produced < out.size() && ready > 0; ++scanned) {
    const std::size_t index = (resume_at_ + scanned) % total;
    const short revents = fds_[index].revents;
    if (revents == 0) {
      continue;
    }
    auto& result = out[produced++];
    result.token = tokens_[index];
    result.events.readable = (revents & (POLLIN | POLLRDHUP | POLLPRI)) != 0;
    result.events.writable = (revents & POLLOUT) != 0;
    result.events.error = (revents & (POLLERR | POLLNVAL)) != 0;
    result.events.hangup = (revents & POLLHUP) != 0;
    result.events.read_closed = (revents & POLLRDHUP) != 0;
  }
  resume_at_ = total == 0 ? 0 : (resume_at_ + scanned) % total;
  return produced;
}

}  // namespace pz
