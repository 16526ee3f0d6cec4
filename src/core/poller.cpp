#include "pizzeria/core/poller.hpp"

#include "epoll_poller.hpp"
#include "poll_poller.hpp"

namespace pz {

std::string_view to_string(PollerKind kind) noexcept {
  switch (kind) {
    case PollerKind::epoll:
      return "epoll";
    case PollerKind::poll:
      return "poll";
  }
  return "unknown";
}

std::unique_ptr<Poller> make_poller(PollerKind kind) {
  switch (kind) {
    case PollerKind::poll:
      return std::make_unique<PollPoller>();
    case PollerKind::epoll:
      break;
  }
  return std::make_unique<EpollPoller>();
}

}  // namespace pz
