// pz::ProcessQueue<T>: a multi-producer multi-consumer queue between
// processes, like multiprocessing.Queue (seed 002 section 0.6).
//
//   pz::ProcessQueue<std::string> orders;            // before starting workers
//   options.inherited_fds = {orders.put_fd()};       // hand the put end to workers
//   worker:  auto out = pz::ProcessQueue<std::string>::adopt(
//                pz::UniqueFd(::dup(pz::inherited_fd(0))), {});
//            out.put("margherita");
//   parent:  while (auto order = orders.get()) ...   // ends after close()
//
// Transport: an AF_UNIX SOCK_SEQPACKET socket pair. Items are written to the
// put end and read from the get end; the kernel keeps message boundaries, so
// one send is one item and one recv returns exactly one whole item, even with
// many writers and readers in many processes sharing the ends — no framing,
// no locks and no shared-memory allocator to corrupt when a process dies
// mid-operation. Why not a pipe: a pipe write is atomic only up to PIPE_BUF
// (4 KiB), so concurrent writers of larger items would interleave. Why not
// shared memory: faster for large volumes, but a writer killed while holding
// a lock leaves it held; the socket has no such state.
//
// Bound: the socket buffer (SO_SNDBUF, about 200 KiB by default) bounds the
// bytes in flight; put() blocks while it is full. One encoded item may be at
// most kMaxItemBytes (128 KiB); put() refuses larger ones with pz::WireError.
//
// close(): shuts the put end down for everyone. Every blocked and later get()
// in every process drains what is queued, then returns std::nullopt; every
// blocked and later put() returns false.
//
// Values are encoded with pz::Codec (pizzeria/exec/wire.hpp).
//
// Thread safety: every member is safe from any thread and any process
// sharing the descriptors.
#pragma once

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <optional>
#include <string>
#include <utility>

#include "pizzeria/core/system_error.hpp"
#include "pizzeria/core/unique_fd.hpp"
#include "pizzeria/exec/wire.hpp"

namespace pz {

// In a ProcessPool worker, the descriptor passed as options.inherited_fds[index]
// (throws std::out_of_range if there is none).
int inherited_fd(std::size_t index);

template <typename T>
class ProcessQueue {
 public:
  // The largest encoded item: below the default socket buffer (~208 KiB), so
  // the kernel always accepts it, and the size of each reader's buffer.
  static constexpr std::size_t kMaxItemBytes = 128 * 1024;

  // A new queue owning both ends (close-on-exec; pass them to processes on
  // purpose, e.g. through ProcessPoolOptions::inherited_fds).
  ProcessQueue() {
    int ends[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ends) != 0) {
      throw_errno("pz::ProcessQueue: socketpair(AF_UNIX, SOCK_SEQPACKET)");
    }
    put_end_ = UniqueFd(ends[0]);
    get_end_ = UniqueFd(ends[1]);
  }

  // Takes ownership of ends received from elsewhere; either may be empty when
  // this process only puts or only gets.
  static ProcessQueue adopt(UniqueFd put_end, UniqueFd get_end) {
    return ProcessQueue(std::move(put_end), std::move(get_end));
  }

  [[nodiscard]] int put_fd() const noexcept { return put_end_.get(); }
  [[nodiscard]] int get_fd() const noexcept { return get_end_.get(); }

  // Blocks while the buffer is full; false once the queue is closed.
  bool put(const T& value) {
    WireWriter writer;
    wire_encode(writer, value);
    const std::string& bytes = writer.data();
    if (bytes.size() > kMaxItemBytes) {
      throw WireError("pz::ProcessQueue::put: an item of " + std::to_string(bytes.size()) +
                      " bytes exceeds the limit of " + std::to_string(kMaxItemBytes));
    }
    for (;;) {
      if (::send(put_end_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL) >= 0) {
        return true;
      }
      if (errno == EINTR) {
        continue;
      }
      if (errno == EPIPE) {
        return false;
      }
      throw_errno("pz::ProcessQueue::put: send of a " + std::to_string(bytes.size()) +
                  "-byte item");
    }
  }

  // Blocks until an item arrives; std::nullopt once closed and drained.
  std::optional<T> get() { return receive(0); }

  // Never blocks: std::nullopt when nothing is queued (or closed and drained).
  std::optional<T> try_get() { return receive(MSG_DONTWAIT); }

  // Gives up after `timeout` with std::nullopt.
  template <typename Rep, typename Period>
  std::optional<T> get_for(const std::chrono::duration<Rep, Period>& timeout) {
    pollfd waiting{get_end_.get(), POLLIN, 0};
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(timeout).count();
    const int ready = ::poll(&waiting, 1, static_cast<int>(ms));
    if (ready < 0 && errno != EINTR) {
      throw_errno("pz::ProcessQueue::get_for: poll");
    }
    return ready > 0 ? receive(MSG_DONTWAIT) : std::nullopt;
  }

  // See the header comment. Idempotent; works from any process holding the
  // put end.
  void close() {
    if (::shutdown(put_end_.get(), SHUT_WR) != 0 && errno != ENOTCONN) {
      throw_errno("pz::ProcessQueue::close: shutdown");
    }
  }

 private:
  ProcessQueue(UniqueFd put_end, UniqueFd get_end)
      : put_end_(std::move(put_end)), get_end_(std::move(get_end)) {}

  std::optional<T> receive(int flags) {
    // One recv takes exactly one whole item, which is what makes concurrent
    // readers safe; the buffer is big enough for any item put() accepts.
    thread_local std::string buffer;
    buffer.resize(kMaxItemBytes);
    for (;;) {
      const ssize_t got = ::recv(get_end_.get(), buffer.data(), buffer.size(), flags | MSG_TRUNC);
      if (got < 0) {
        if (errno == EINTR) {
          continue;
        }
        if (errno == EAGAIN) {
          return std::nullopt;
        }
        throw_errno("pz::ProcessQueue::get: recv");
      }
      if (got == 0) {
        return std::nullopt;  // closed and drained (an item is never empty)
      }
      if (static_cast<std::size_t>(got) > buffer.size()) {
        throw WireError("pz::ProcessQueue::get: an item of " + std::to_string(got) +
                        " bytes exceeds the queue's limit and was truncated");
      }
      WireReader reader(std::string_view(buffer.data(), static_cast<std::size_t>(got)));
      return wire_decode<T>(reader);
    }
  }

  UniqueFd put_end_;
  UniqueFd get_end_;
};

}  // namespace pz
