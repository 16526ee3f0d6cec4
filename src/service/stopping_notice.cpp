#include "pizzeria/service/stopping_notice.hpp"

#include <poll.h>
#include <sys/eventfd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "pizzeria/core/system_error.hpp"
#include "pizzeria/service/service_notify.hpp"

namespace pz::service {

StoppingNotice::StoppingNotice(int watched_fd) {
  if (std::getenv("NOTIFY_SOCKET") == nullptr) {
    return;
  }
  cancel_ = UniqueFd(::eventfd(0, EFD_CLOEXEC));
  if (!cancel_) {
    throw_errno("eventfd for the STOPPING=1 notice");
  }
  waiter_ = std::thread([watched_fd, cancel = cancel_.get()] {
    pollfd fds[2] = {{.fd = watched_fd, .events = POLLIN, .revents = 0},
                     {.fd = cancel, .events = POLLIN, .revents = 0}};
    int ready = 0;
    do {
      ready = ::poll(fds, 2, -1);
    } while (ready < 0 && errno == EINTR);
    if (ready > 0 && fds[1].revents == 0) {
      try {
        notify_stopping();
      } catch (const std::exception& error) {
        // Shutdown goes on without the notice; the manager still sees the exit.
        std::fprintf(stderr, "pizzeria: %s\n", error.what());
      }
    }
  });
}

StoppingNotice::~StoppingNotice() {
  if (!waiter_.joinable()) {
    return;
  }
  const std::uint64_t one = 1;
  // An eventfd write of 1 cannot fail short of a counter overflow, which
  // one write per object cannot reach.
  [[maybe_unused]] const ssize_t written = ::write(cancel_.get(), &one, sizeof one);
  waiter_.join();
}

}  // namespace pz::service
