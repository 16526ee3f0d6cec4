// pz::service::StoppingNotice: sends STOPPING=1 to the service manager as
// soon as a file descriptor becomes readable, from a thread of its own.
//
// A server that blocks in its run loop until a shutdown request (an eventfd
// written from a signal handler, such as pz::ShutdownSignal::fd())
// cannot notify the manager itself when shutdown begins, and a signal
// handler must not (sd_notify is not async-signal-safe):
//
//   pz::service::StoppingNotice notice(shutdown.fd());
//   run_server(...);        // STOPPING=1 goes out when shutdown is requested
//
// Without NOTIFY_SOCKET it starts no thread and does nothing.
//
// Thread safety: construct and destroy on one thread. The watched
// descriptor must stay open until the notice is destroyed.
#pragma once

#include <thread>

#include "pizzeria/core/unique_fd.hpp"

namespace pz::service {

class StoppingNotice {
 public:
  // Throws std::system_error when the thread's wake-up eventfd cannot be made.
  explicit StoppingNotice(int watched_fd);
  StoppingNotice(const StoppingNotice&) = delete;
  StoppingNotice& operator=(const StoppingNotice&) = delete;
  // Stops waiting (sends nothing if the descriptor never became readable).
  ~StoppingNotice();

 private:
  UniqueFd cancel_;  // an eventfd: readable once the destructor asks the thread to end
  std::thread waiter_;
};

}  // namespace pz::service
