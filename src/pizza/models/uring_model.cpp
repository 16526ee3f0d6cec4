// The `uring` model: completion-based I/O with io_uring (the seed's fourth
// I/O model, "asynchronous, non-blocking": ask for the whole operation, be
// told when it is done). Where the reactor asks "is this fd readable?" and
// then reads, this model asks the kernel to receive into a buffer and later
// reaps the result.
//
// Memory: receives use a ring of provided buffers (one per shard, the kernel
// picks a buffer only when data arrives), so 10,000 idle connections hold no
// receive buffer at all, just a queued request each. A buffer goes back to
// the ring as soon as its completion is handled (a store to shared memory,
// no system call), so after each batch of completions every buffer is free
// again; a receive that found none (ENOBUFS) is retried then.
//
// Per shard: one ring; the listener and the shutdown eventfd are watched with
// one-shot POLL_ADD (accepting goes through ServerContext::accept, which
// holds the connection limit and the busy reply); a periodic TIMEOUT drives
// idle timeouts and the shutdown deadline. During an accept pause (the
// kernel is short of memory) the listener's poll is not re-armed: a TIMEOUT
// at the pause's end tries again instead.
#include <liburing.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "pizza/models/models.hpp"
#include "pizzeria/core/system_error.hpp"
#include "pizzeria/net/socket_ops.hpp"
#include "pizzeria/pizza/order_session.hpp"
#include "pizzeria/pizza/server_context.hpp"
#include "pizzeria/server/run_sharded.hpp"

namespace pz::pizza {
namespace {

using SteadyTime = std::chrono::steady_clock::time_point;

// user_data: operation kind in the top byte, connection slot below.
enum class Op : std::uint64_t {
  listener_poll = 1,
  shutdown_poll,
  tick,
  receive,
  send,
  accept_resume
};

constexpr std::uint64_t encode(Op op, std::uint64_t slot = 0) noexcept {
  return (static_cast<std::uint64_t>(op) << 56) | slot;
}
constexpr Op op_of(std::uint64_t data) noexcept {
  return static_cast<Op>(data >> 56);
}
constexpr std::uint32_t slot_of(std::uint64_t data) noexcept {
  return static_cast<std::uint32_t>(data & 0xffffffffU);
}

constexpr unsigned kRingEntries = 4096;
// Room for a receive and a send completion from each of 10,000 busy
// connections at once: completions beyond the ring wait in the kernel's
// overflow list, which is slower to drain.
constexpr unsigned kCompletionEntries = 32768;
constexpr int kBufferGroup = 7;
// 4 MiB of receive buffers per shard, in many small pieces: orders are a few
// bytes, and what runs out under 10,000 busy connections is the number of
// buffers, not their size (a longer input simply takes more receives). A
// power of two, as buffer rings require.
constexpr unsigned kBufferCount = 16384;
constexpr unsigned kBufferSize = 256;
// Connections accepted per loop iteration: a connection storm cannot starve
// open clients, and a full backlog is drained over the next iterations
// rather than one poll round trip per 64.
constexpr int kAcceptsPerIteration = 1024;

struct Connection {
  AcceptedClient client;
  std::string peer_name;
  OrderSession session;
  std::string sending;  // bytes handed to the kernel; stable until the send completes
  std::size_t sent = 0;
  SteadyTime last_activity;
  SteadyTime line_started = SteadyTime::max();  // the read that began the unfinished line
  SteadyTime send_started;                      // of the send in flight
  int ops_in_flight = 0;
  bool receiving = false;
  bool send_in_flight = false;
  bool input_closed = false;
  bool closing = false;
  bool starved = false;  // a receive found no free buffer; retry when one returns

  explicit Connection(AcceptedClient accepted, int max_order)
      : client(std::move(accepted)), session(max_order) {}
};

[[noreturn]] void throw_unavailable(int error, const std::string& feature = "") {
  throw std::runtime_error("the uring model needs io_uring" +
                           (feature.empty() ? "" : " with " + feature) + ", but " +
                           (feature.empty() ? "io_uring_queue_init" : "registering them") +
                           " failed: " + std::string(std::strerror(-error)) +
                           " (kernel too old, or io_uring disabled by "
                           "/proc/sys/kernel/io_uring_disabled or a seccomp filter); "
                           "use another model: " +
                           server_model_names("uring"));
}

// The receive buffers' ring, shared with the kernel (Linux 5.19+): the
// kernel takes buffers from its head as data arrives, we put them back at
// its tail.
class BufferRing {
 public:
  BufferRing(io_uring& ring, unsigned entries, int group) {
    bytes_ = sizeof(io_uring_buf) * entries;
    void* memory =
        ::mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (memory == MAP_FAILED) {
      throw_errno("mmap for the io_uring buffer ring");
    }
    ring_ = static_cast<io_uring_buf_ring*>(memory);
    io_uring_buf_ring_init(ring_);
    io_uring_buf_reg registration{};
    registration.ring_addr = reinterpret_cast<std::uintptr_t>(memory);
    registration.ring_entries = entries;
    registration.bgid = static_cast<std::uint16_t>(group);
    if (const int result = io_uring_register_buf_ring(&ring, &registration, 0); result < 0) {
      ::munmap(memory, bytes_);
      throw_unavailable(result, "provided buffer rings (Linux 5.19)");
    }
    mask_ = io_uring_buf_ring_mask(entries);
  }
  BufferRing(const BufferRing&) = delete;
  BufferRing& operator=(const BufferRing&) = delete;
  // After the ring it is registered with has been torn down.
  ~BufferRing() { ::munmap(ring_, bytes_); }

  void give(char* buffer, unsigned size, unsigned id) noexcept {
    io_uring_buf_ring_add(ring_, buffer, size, static_cast<unsigned short>(id), mask_, 0);
    io_uring_buf_ring_advance(ring_, 1);
  }

 private:
  io_uring_buf_ring* ring_ = nullptr;
  std::size_t bytes_ = 0;
  int mask_ = 0;
};

// A throwaway ring with a one-buffer ring: the cheapest honest answer to
// "does what this model needs of io_uring work here".
void check_io_uring() {
  io_uring ring{};
  if (const int result = io_uring_queue_init(2, &ring, 0); result < 0) {
    throw_unavailable(result);
  }
  std::optional<BufferRing> probe;
  try {
    probe.emplace(ring, 1, kBufferGroup);
  } catch (...) {
    io_uring_queue_exit(&ring);
    throw;
  }
  io_uring_queue_exit(&ring);
  probe.reset();  // after the ring, as BufferRing requires
}

class UringShard {
 public:
  UringShard(ServerContext& context, int listener) : context_(context), listener_(listener) {
    // Completions are run only when this thread asks for them (Linux 6.1+):
    // one batch per loop iteration instead of interruptions while it
    // handles the last one (on Linux 6.18 at 10,000 connections, ~15% more requests/s
    // than COOP_TASKRUN). TASKRUN_FLAG tells a submit that does not wait
    // (accepts left over) that completions are pending, so it collects them.
    int result = -EINVAL;
    for (const unsigned flags :
         {IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
          IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG, 0U}) {
      io_uring_params params{};
      params.flags = flags | IORING_SETUP_CQSIZE;
      params.cq_entries = kCompletionEntries;
      result = io_uring_queue_init_params(kRingEntries, &ring_, &params);
      if (result != -EINVAL) {  // EINVAL: an older kernel without these flags
        break;
      }
    }
    if (result < 0) {
      throw_unavailable(result);
    }
    try {
      buffers_.resize(std::size_t{kBufferCount} * kBufferSize);
      buffer_ring_.emplace(ring_, kBufferCount, kBufferGroup);
    } catch (...) {
      io_uring_queue_exit(&ring_);
      throw;
    }
    for (unsigned id = 0; id < kBufferCount; ++id) {
      give_back_buffer(id);
    }
  }

  UringShard(const UringShard&) = delete;
  UringShard& operator=(const UringShard&) = delete;
  ~UringShard() {
    io_uring_queue_exit(&ring_);
    buffer_ring_.reset();
  }

  void run() {
    arm_poll(listener_, Op::listener_poll);
    arm_poll(context_.shutdown_fd(), Op::shutdown_poll);
    arm_tick();
    while (!finished()) {
      accept_budget_ = kAcceptsPerIteration;
      // With accepts left over, only collect what is ready: the backlog
      // must not wait for some other completion.
      const int submitted = io_uring_submit_and_wait(&ring_, accept_pending_ ? 0 : 1);
      if (submitted < 0 && submitted != -EINTR && submitted != -EAGAIN && submitted != -EBUSY) {
        throw_errno("io_uring_submit_and_wait", -submitted);
      }
      unsigned head = 0;
      unsigned seen = 0;
      io_uring_cqe* cqe = nullptr;
      io_uring_for_each_cqe(&ring_, head, cqe) {
        ++seen;
        handle(io_uring_cqe_get_data64(cqe), cqe->res, cqe->flags);
      }
      io_uring_cq_advance(&ring_, seen);
      retry_starved();
      if (accept_pending_ && accept_budget_ > 0) {
        accept_some();
      }
    }
  }

 private:
  [[nodiscard]] bool finished() const noexcept { return shutting_down_ && open_ == 0; }

  io_uring_sqe* next_sqe() {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    while (sqe == nullptr) {
      // The submission queue is full: hand it to the kernel and try again.
      io_uring_submit(&ring_);
      sqe = io_uring_get_sqe(&ring_);
    }
    return sqe;
  }

  void arm_poll(int fd, Op op) {
    auto* sqe = next_sqe();
    io_uring_prep_poll_add(sqe, fd, POLLIN);
    io_uring_sqe_set_data64(sqe, encode(op));
  }

  void arm_tick() {
    // Idle timeouts and the shutdown deadline are checked on a tick: a
    // sweep over the shard's connections costs microseconds, much less than
    // one timeout request per connection re-armed on every byte.
    auto interval = std::chrono::milliseconds(200);
    for (const auto timeout : {context_.policy().idle_timeout, context_.policy().request_timeout}) {
      if (timeout.count() > 0) {
        interval = std::min(interval, std::clamp(timeout / 8, std::chrono::milliseconds(5),
                                                 std::chrono::milliseconds(200)));
      }
    }
    tick_spec_.tv_sec = interval.count() / 1000;
    tick_spec_.tv_nsec = (interval.count() % 1000) * 1'000'000;
    auto* sqe = next_sqe();
    io_uring_prep_timeout(sqe, &tick_spec_, 0, 0);
    io_uring_sqe_set_data64(sqe, encode(Op::tick));
  }

  void handle(std::uint64_t data, int result, unsigned flags) {
    switch (op_of(data)) {
      case Op::listener_poll:
        accept_some();
        break;
      case Op::shutdown_poll:
        begin_shutdown();
        break;
      case Op::tick:
        on_tick();
        break;
      case Op::receive:
        on_receive(slot_of(data), result, flags);
        break;
      case Op::send:
        on_send(slot_of(data), result);
        break;
      case Op::accept_resume:
        accept_some();
        break;
    }
  }

  // The listener's poll completed, or the last iteration left accepts over:
  // poll again only once the backlog is empty.
  void accept_some() {
    accept_pending_ = false;
    if (shutting_down_) {
      return;
    }
    for (; accept_budget_ > 0; --accept_budget_) {
      std::optional<AcceptedClient> client = context_.accept(listener_);
      if (!client) {
        if (!resume_after_pause()) {
          arm_poll(listener_, Op::listener_poll);
        }
        return;
      }
      add_connection(std::move(*client));
    }
    accept_pending_ = true;
  }

  // During an accept pause the listener stays readable, and a re-armed poll
  // would complete at once, again and again: wait for the pause's end with a
  // TIMEOUT instead, whose completion calls accept_some() (which arms the
  // poll again once the backlog is empty). False when there is no pause.
  bool resume_after_pause() {
    const auto resume_at = context_.accept_paused_until();
    const auto now = std::chrono::steady_clock::now();
    if (now >= resume_at) {
      return false;
    }
    const auto wait = std::chrono::ceil<std::chrono::nanoseconds>(resume_at - now).count();
    resume_spec_.tv_sec = wait / 1'000'000'000;
    resume_spec_.tv_nsec = wait % 1'000'000'000;
    auto* sqe = next_sqe();
    io_uring_prep_timeout(sqe, &resume_spec_, 0, 0);
    io_uring_sqe_set_data64(sqe, encode(Op::accept_resume));
    return true;
  }

  void add_connection(AcceptedClient client) {
    std::uint32_t slot = 0;
    if (!free_slots_.empty()) {
      slot = free_slots_.back();
      free_slots_.pop_back();
    } else {
      slot = static_cast<std::uint32_t>(connections_.size());
      connections_.emplace_back();
    }
    auto connection = std::make_unique<Connection>(std::move(client), context_.options().max_order);
    connection->peer_name = connection->client.peer.to_string();
    connection->last_activity = std::chrono::steady_clock::now();
    connections_[slot] = std::move(connection);
    ++open_;
    submit_receive(slot);
  }

  void submit_receive(std::uint32_t slot) {
    Connection& connection = *connections_[slot];
    if (connection.receiving || connection.input_closed || connection.closing ||
        !connection.session.wants_input()) {
      return;
    }
    auto* sqe = next_sqe();
    io_uring_prep_recv(sqe, connection.client.fd.get(), nullptr, kBufferSize, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = kBufferGroup;
    io_uring_sqe_set_data64(sqe, encode(Op::receive, slot));
    connection.receiving = true;
    ++connection.ops_in_flight;
  }

  void give_back_buffer(unsigned buffer_id) {
    buffer_ring_->give(buffers_.data() + std::size_t{buffer_id} * kBufferSize, kBufferSize,
                       buffer_id);
  }

  void on_receive(std::uint32_t slot, int result, unsigned flags) {
    Connection& connection = *connections_[slot];
    connection.receiving = false;
    --connection.ops_in_flight;
    if ((flags & IORING_CQE_F_BUFFER) != 0) {
      const unsigned buffer_id = flags >> IORING_CQE_BUFFER_SHIFT;
      if (result > 0 && !connection.closing) {
        const auto now = std::chrono::steady_clock::now();
        connection.last_activity = now;
        const bool was_in_line = connection.session.in_line();
        const std::size_t answered = connection.session.orders_answered();
        connection.session.on_input(
            std::string_view(buffers_.data() + std::size_t{buffer_id} * kBufferSize,
                             static_cast<std::size_t>(result)));
        // The request deadline runs from the read that began the line.
        if (!connection.session.in_line()) {
          connection.line_started = SteadyTime::max();
        } else if (!was_in_line || connection.session.orders_answered() != answered) {
          connection.line_started = now;
        }
      }
      give_back_buffer(buffer_id);
    }
    if (connection.closing) {
      finish_if_idle(slot);
      return;
    }
    if (result == -ENOBUFS) {
      // Every buffer was held by a completion not yet handled: retry after
      // this batch, when all are back, in the order the connections ran
      // short.
      connection.starved = true;
      starved_.push_back(slot);
      return;
    }
    if (result == 0) {
      connection.input_closed = true;
      if (!shutting_down_) {
        connection.session.on_end_of_input();  // answer the unterminated last line
      }
    } else if (result < 0) {
      close(slot);  // ECONNRESET and friends
      return;
    }
    flush(slot);
    submit_receive(slot);
    close_if_done(slot);
  }

  void flush(std::uint32_t slot) {
    Connection& connection = *connections_[slot];
    if (connection.send_in_flight || connection.closing ||
        !connection.session.has_pending_output()) {
      return;
    }
    // Copy out: the session's buffer grows as more orders arrive, and the
    // kernel must see stable memory until the send completes.
    const std::string_view pending = connection.session.pending_output();
    connection.sending.assign(pending.data(), pending.size());
    connection.session.consume_output(pending.size());
    connection.sent = 0;
    // flush follows a receive or a send, which stamped last_activity: now.
    connection.send_started = connection.last_activity;
    submit_send(slot);
  }

  void submit_send(std::uint32_t slot) {
    Connection& connection = *connections_[slot];
    auto* sqe = next_sqe();
    io_uring_prep_send(sqe, connection.client.fd.get(), connection.sending.data() + connection.sent,
                       connection.sending.size() - connection.sent, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, encode(Op::send, slot));
    connection.send_in_flight = true;
    ++connection.ops_in_flight;
  }

  void on_send(std::uint32_t slot, int result) {
    Connection& connection = *connections_[slot];
    connection.send_in_flight = false;
    --connection.ops_in_flight;
    if (connection.closing) {
      finish_if_idle(slot);
      return;
    }
    if (result < 0) {
      close(slot);  // EPIPE, ECONNRESET: the client left mid-reply
      return;
    }
    connection.last_activity = std::chrono::steady_clock::now();
    connection.sent += static_cast<std::size_t>(result);
    if (connection.sent < connection.sending.size()) {
      submit_send(slot);  // a short send: the rest
      return;
    }
    connection.sending.clear();
    flush(slot);
    submit_receive(slot);  // resumes reading if backpressure had paused it
    close_if_done(slot);
  }

  void close_if_done(std::uint32_t slot) {
    Connection& connection = *connections_[slot];
    const bool done_reading = connection.input_closed;
    if (done_reading && !connection.send_in_flight && !connection.session.has_pending_output()) {
      close(slot);
    }
  }

  void close(std::uint32_t slot) {
    Connection& connection = *connections_[slot];
    if (connection.closing) {
      return;
    }
    connection.closing = true;
    // The slot first: a client that sees our FIN may connect again at once,
    // and must find its old slot free.
    connection.client.slot.release();
    // Wakes any receive or send still queued in the kernel; each completes
    // (with 0 or an error) and finish_if_idle frees the slot after the last.
    ::shutdown(connection.client.fd.get(), SHUT_RDWR);
    finish_if_idle(slot);
  }

  void finish_if_idle(std::uint32_t slot) {
    Connection& connection = *connections_[slot];
    if (connection.ops_in_flight > 0) {
      return;
    }
    context_.verbose("Connection with {} has been closed", connection.peer_name);
    connections_[slot].reset();  // closes the fd, gives back the ConnectionSlot
    free_slots_.push_back(slot);
    --open_;
  }

  void retry_starved() {
    // Every buffer is back in the ring once a batch has been handled. A slot
    // whose connection closed (or was reused, or restarted by the shutdown)
    // is no longer starved and is skipped.
    while (!starved_.empty()) {
      const std::uint32_t slot = starved_.front();
      starved_.pop_front();
      Connection* connection = connections_[slot].get();
      if (connection != nullptr && connection->starved) {
        connection->starved = false;
        submit_receive(slot);
      }
    }
  }

  void begin_shutdown() {
    shutting_down_ = true;
    for (std::uint32_t slot = 0; slot < connections_.size(); ++slot) {
      Connection* connection = connections_[slot].get();
      if (connection == nullptr || connection->closing) {
        continue;
      }
      // Take what the kernel already received, then the receive sees EOF
      // (Linux returns queued bytes before honouring SHUT_RD).
      ::shutdown(connection->client.fd.get(), SHUT_RD);
      connection->starved = false;
      submit_receive(slot);
      close_if_done(slot);
    }
  }

  void on_tick() {
    const SteadyTime now = std::chrono::steady_clock::now();
    const bool past_deadline = shutting_down_ && now >= context_.shutdown_deadline();
    for (std::uint32_t slot = 0; slot < connections_.size(); ++slot) {
      Connection* connection = connections_[slot].get();
      if (connection == nullptr || connection->closing) {
        continue;
      }
      // A send in flight is a wait for the client to read: activity, up to
      // the request deadline, which runs from the send's start.
      const bool waiting_for_reader = connection->send_in_flight;
      const SteadyTime request_since =
          std::min(connection->line_started,
                   waiting_for_reader ? connection->send_started : SteadyTime::max());
      const std::string_view why =
          context_.expired(connection->last_activity, request_since, waiting_for_reader, now);
      if (past_deadline || !why.empty()) {
        if (why == "idle timeout") {
          context_.verbose("Closing idle connection with {}", connection->peer_name);
        } else if (!past_deadline) {
          context_.verbose("Closing connection with {} ({})", connection->peer_name, why);
        }
        close(slot);
      }
    }
    if (!finished()) {
      arm_tick();
    }
  }

  ServerContext& context_;
  int listener_;
  io_uring ring_{};
  __kernel_timespec tick_spec_{};
  __kernel_timespec resume_spec_{};  // the accept pause's TIMEOUT
  std::optional<BufferRing> buffer_ring_;
  std::vector<char> buffers_;
  std::deque<std::uint32_t> starved_;
  std::vector<std::unique_ptr<Connection>> connections_;
  std::vector<std::uint32_t> free_slots_;
  std::size_t open_ = 0;
  bool shutting_down_ = false;
  bool accept_pending_ = false;               // the last accept_some() stopped at its bound
  int accept_budget_ = kAcceptsPerIteration;  // what this iteration may still accept
};

void run_uring(ServerContext& context) {
  run_sharded(context, [](ServerContext& shard_context, int listener) {
    UringShard shard(shard_context, listener);
    shard.run();
  });
}

}  // namespace

const ServerModel kUringModel{
    .name = "uring",
    .summary =
        "completion-based io_uring (liburing): provided receive buffers, one ring per --workers "
        "shard",
    .shards_with_reuseport = true,
    .run = &run_uring,
    .check_available = &check_io_uring,
};

}  // namespace pz::pizza
