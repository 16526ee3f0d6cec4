#include "pizzeria/net/tcp_stream.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <system_error>
#include <utility>

#include "pizzeria/core/event_loop.hpp"
#include "pizzeria/core/fd_watch.hpp"
#include "pizzeria/net/incomplete_read_error.hpp"
#include "pizzeria/net/line_too_long_error.hpp"
#include "pizzeria/net/socket_ops.hpp"

namespace pz {

// Everything the loop's callbacks point at lives here, behind a stable
// address, so that TcpStream itself can move.
struct TcpStream::State {
  State(UniqueFd socket, StreamOptions stream_options)
      : fd(std::move(socket)),
        options(stream_options),
        loop(&detail::current_loop("pz::TcpStream")) {
    set_non_blocking(fd.get());
    watch = loop->watch(fd.get(), Interest::none, [this](IoEvents events) { on_io(events); });
    update_interest();
  }

  UniqueFd fd;
  StreamOptions options;
  EventLoop* loop;
  FdWatch watch;
  // What `watch` was last told: a request/response cycle recomputes the
  // interest three or four times and it rarely changes, so the comparison
  // here saves the calls into the loop.
  Interest watched = Interest::none;

  // Input bytes live in [input_pos, input_end) of `input` (capacity
  // input_capacity); the storage is not zeroed on growth, unlike a string.
  std::unique_ptr<char[]> input;
  std::size_t input_capacity = 0;
  std::size_t input_pos = 0;  // first unread byte
  std::size_t input_end = 0;  // one past the last received byte
  bool eof = false;
  int read_error = 0;

  std::string output;
  std::size_t output_pos = 0;  // first unsent byte
  int write_error = 0;
  bool shutdown_pending = false;
  bool write_shut = false;
  bool closed = false;

  ReadAwaiter* reader = nullptr;
  DrainAwaiter* drainer = nullptr;

  [[nodiscard]] std::size_t buffered() const noexcept { return input_end - input_pos; }
  [[nodiscard]] std::size_t queued() const noexcept { return output.size() - output_pos; }
  [[nodiscard]] std::string_view unread() const noexcept {
    return {input.get() + input_pos, buffered()};
  }

  std::string take(std::size_t count) {
    std::string out(input.get() + input_pos, count);
    input_pos += count;
    if (input_pos == input_end) {
      input_pos = input_end = 0;
      if (input_capacity > kRetainedInput) {
        // A burst grew the buffer; the next recv goes through the thread's
        // scratch buffer again, so nothing big stays pinned per connection.
        input.reset();
        input_capacity = 0;
      }
    }
    return out;
  }

  // Makes room for at least `want` more bytes at the end of the input.
  void reserve_input(std::size_t want) {
    if (input_capacity - input_end >= want) {
      return;
    }
    const std::size_t have = buffered();
    if (input_pos > 0 && input_capacity - have >= want) {
      std::memmove(input.get(), input.get() + input_pos, have);
    } else {
      std::size_t capacity = std::max<std::size_t>(input_capacity * 2, kInitialInput);
      while (capacity - have < want) {
        capacity *= 2;
      }
      auto bigger = std::make_unique_for_overwrite<char[]>(capacity);
      if (have > 0) {
        std::memcpy(bigger.get(), input.get() + input_pos, have);
      }
      input = std::move(bigger);
      input_capacity = capacity;
    }
    input_pos = 0;
    input_end = have;
  }

  // Growth starts here once bytes must accumulate (a long line, a large
  // read_exactly).
  static constexpr std::size_t kInitialInput = 4096;
  // An emptied buffer up to this size is kept for the next message; a
  // bigger one is freed. Request/response connections then hold a few dozen
  // bytes each and allocate nothing per message.
  static constexpr std::size_t kRetainedInput = 1024;
  // Input rounds up to this, so a stream that sees messages of slowly
  // growing size does not reallocate for each one.
  static constexpr std::size_t kInputGranule = 64;

  // Whether `reader` can complete with what is buffered now.
  bool satisfiable(ReadAwaiter& r) noexcept {
    if (closed || eof || read_error != 0) {
      return true;
    }
    const std::size_t have = buffered();
    switch (r.kind_) {
      case ReadKind::some:
        return have > 0;
      case ReadKind::exactly:
        return have >= r.limit_;
      case ReadKind::line: {
        const std::size_t window = std::min(have, r.limit_);
        if (unread().substr(r.scanned_, window - std::min(window, r.scanned_)).find('\n') !=
            std::string_view::npos) {
          return true;
        }
        r.scanned_ = window;
        return have >= r.limit_;
      }
    }
    return true;
  }

  bool wants_read() noexcept {
    if (closed || eof || read_error != 0) {
      return false;
    }
    return buffered() < options.read_ahead_limit || reader != nullptr;
  }

  void update_interest() {
    if (closed) {
      return;
    }
    Interest interest = Interest::none;
    if (wants_read()) {
      interest = interest | Interest::readable;
    }
    if (queued() > 0 && write_error == 0) {
      interest = interest | Interest::writable;
    }
    // Edge-triggered: flush() writes until EAGAIN, and fill()'s callers
    // rearm when they may have left bytes (or the end of stream) unread.
    interest = interest | Interest::edge;
    if (interest != watched) {
      watch.set_interest(interest);
      watched = interest;
    }
  }

  // One recv into the input buffer. Returns false when nothing more can come
  // now (EAGAIN, end of stream, error).
  bool fill() {
    if (buffered() == 0 && options.read_chunk <= kScratchBytes) {
      return fill_through_scratch();
    }
    // Bytes are accumulating: receive straight into the stream's own buffer,
    // growing towards read_chunk only when it keeps filling up.
    reserve_input(
        std::min<std::size_t>(options.read_chunk, std::max(input_capacity / 2, std::size_t{1024})));
    const std::size_t room = std::min(input_capacity - input_end, options.read_chunk);
    const std::size_t got = receive(input.get() + input_end, room);
    input_end += got;
    return got == room;
  }

  // The empty-buffer case, which is nearly every read of a request/response
  // protocol: receive a whole chunk into the thread's scratch buffer and keep
  // a right-sized copy. Ten thousand connections then cost ten thousand small
  // buffers, not ten thousand read_chunk-sized ones (each on its own page,
  // which also costs a TLB miss per request once they outnumber the TLB).
  bool fill_through_scratch() {
    char* scratch = receive_scratch();
    const std::size_t got = receive(scratch, options.read_chunk);
    if (got == 0) {
      return false;
    }
    if (input_capacity < got) {
      const std::size_t capacity = (got + kInputGranule - 1) / kInputGranule * kInputGranule;
      input = std::make_unique_for_overwrite<char[]>(capacity);
      input_capacity = capacity;
    }
    std::memcpy(input.get(), scratch, got);
    input_pos = 0;
    input_end = got;
    return got == options.read_chunk;
  }

  // One recv into `into`. Returns the bytes received; 0 when none came now,
  // having recorded end of stream or a real error (EAGAIN is neither).
  std::size_t receive(char* into, std::size_t room) {
    ssize_t got;
    do {
      got = ::recv(fd.get(), into, room, 0);
    } while (got < 0 && errno == EINTR);
    if (got > 0) {
      return static_cast<std::size_t>(got);
    }
    if (got == 0) {
      eof = true;
    } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
      read_error = errno;
    }
    return 0;
  }

  static constexpr std::size_t kScratchBytes = 64 * 1024;

  // One per thread, made on first use: streams on one loop never receive
  // concurrently, and a thread that never reads a stream pays nothing.
  static char* receive_scratch() {
    thread_local std::unique_ptr<char[]> scratch;
    if (!scratch) {
      scratch = std::make_unique_for_overwrite<char[]>(kScratchBytes);
    }
    return scratch.get();
  }

  // Sends queued output until the kernel stops taking it.
  void flush() {
    while (queued() > 0) {
      const ssize_t sent =
          ::send(fd.get(), output.data() + output_pos, queued(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (sent < 0) {
        if (errno == EINTR) {
          continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
          write_error = errno;
          output.clear();
          output_pos = 0;
        }
        break;
      }
      output_pos += static_cast<std::size_t>(sent);
    }
    if (queued() == 0) {
      output.clear();
      output_pos = 0;
      if (shutdown_pending && write_error == 0) {
        shutdown_pending = false;
        write_shut = true;
        ::shutdown(fd.get(), SHUT_WR);
      }
    } else if (output_pos > 0 && output_pos >= output.size() / 2) {
      output.erase(0, output_pos);
      output_pos = 0;
    }
  }

  void on_io(IoEvents events) {
    bool unread_left = false;
    if ((events.readable || events.hangup || events.error) && wants_read()) {
      // A full chunk may have left bytes behind; a short read may have left
      // the end of stream behind when the peer shut down. Either way no new
      // edge will come for it.
      const bool filled_chunk = fill();
      unread_left = filled_chunk || (events.peer_finished() && !eof && read_error == 0);
    }
    if ((events.writable || events.error) && queued() > 0) {
      flush();
    }
    update_interest();
    if (unread_left && wants_read()) {
      watch.rearm();
    }
    // Completing a waiter resumes its coroutine right here, which may touch
    // this state (or destroy the stream): do it last, and one at a time.
    if (drainer != nullptr && (queued() <= drainer->resume_at_ || write_error != 0)) {
      DrainAwaiter* waiter = std::exchange(drainer, nullptr);
      if (reader != nullptr && satisfiable(*reader)) {
        // Both are ready: the drain waits one loop turn, the read goes now.
        waiter->complete_soon();
      } else {
        waiter->complete_now();
        return;
      }
    }
    if (reader != nullptr && satisfiable(*reader)) {
      std::exchange(reader, nullptr)->complete_now();
    }
  }

  std::system_error error_for(int error, const char* what) const {
    return std::system_error(error, std::generic_category(),
                             std::string(what) + " on fd " + std::to_string(fd.get()));
  }
};

// ------------------------------------------------------------------ reads

TcpStream::ReadAwaiter::ReadAwaiter(State* state, ReadKind kind, std::size_t limit) noexcept
    : Waiter(&ReadAwaiter::undo), state_(state), limit_(limit), kind_(kind) {}

TcpStream::ReadAwaiter::ReadAwaiter(ReadAwaiter&& other) noexcept
    : Waiter(std::move(other)), state_(other.state_), limit_(other.limit_), kind_(other.kind_) {}

TcpStream::ReadAwaiter::~ReadAwaiter() {
  if (state_ != nullptr && state_->reader == this) {
    state_->reader = nullptr;
    state_->update_interest();
  }
}

EventLoop& TcpStream::ReadAwaiter::loop_of(State* state) {
  return *state->loop;
}

bool TcpStream::ReadAwaiter::await_ready() {
  if (state_->reader != nullptr) {
    throw std::logic_error("TcpStream: a read is already waiting on this stream");
  }
  return state_->satisfiable(*this);
}

void TcpStream::ReadAwaiter::start_waiting() {
  state_->reader = this;
  state_->update_interest();
}

void TcpStream::ReadAwaiter::undo(detail::Waiter& waiter) noexcept {
  auto& self = static_cast<ReadAwaiter&>(waiter);
  if (self.state_->reader == &self) {
    self.state_->reader = nullptr;
    // The buffered bytes stay where they are: only the wait is cancelled.
    try {
      self.state_->update_interest();
    } catch (...) {
      // Interest is recomputed on the next read or I/O event anyway.
    }
  }
}

std::string TcpStream::ReadAwaiter::await_resume() {
  throw_if_cancelled();
  State& s = *state_;
  if (s.closed) {
    throw std::logic_error("TcpStream: read on a closed stream");
  }
  const std::size_t have = s.buffered();
  switch (kind_) {
    case ReadKind::some:
      if (have > 0) {
        return s.take(std::min(have, limit_));
      }
      break;
    case ReadKind::exactly:
      if (have >= limit_) {
        return s.take(limit_);
      }
      if (s.eof) {
        throw IncompleteReadError(s.take(have), limit_);
      }
      break;
    case ReadKind::line: {
      const std::size_t window = std::min(have, limit_);
      const std::size_t newline = s.unread().substr(0, window).find('\n');
      if (newline != std::string_view::npos) {
        return s.take(newline + 1);
      }
      if (have >= limit_) {
        throw LineTooLongError(limit_, have);
      }
      if (s.eof) {
        return s.take(have);
      }
      break;
    }
  }
  if (s.read_error != 0) {
    throw s.error_for(s.read_error, "recv");
  }
  return {};  // end of stream
}

// ------------------------------------------------------------------ drain

TcpStream::DrainAwaiter::DrainAwaiter(State* state, std::size_t ready_at,
                                      std::size_t resume_at) noexcept
    : Waiter(&DrainAwaiter::undo), state_(state), ready_at_(ready_at), resume_at_(resume_at) {}

TcpStream::DrainAwaiter::DrainAwaiter(DrainAwaiter&& other) noexcept
    : Waiter(std::move(other)),
      state_(other.state_),
      ready_at_(other.ready_at_),
      resume_at_(other.resume_at_) {}

TcpStream::DrainAwaiter::~DrainAwaiter() {
  if (state_ != nullptr && state_->drainer == this) {
    state_->drainer = nullptr;
  }
}

bool TcpStream::DrainAwaiter::await_ready() {
  if (state_ == nullptr) {
    throw std::logic_error("TcpStream: drain on an empty stream");
  }
  if (state_->drainer != nullptr) {
    throw std::logic_error("TcpStream: a drain is already waiting on this stream");
  }
  return state_->closed || state_->write_error != 0 || state_->queued() <= ready_at_;
}

void TcpStream::DrainAwaiter::start_waiting() {
  state_->drainer = this;
}

void TcpStream::DrainAwaiter::undo(detail::Waiter& waiter) noexcept {
  auto& self = static_cast<DrainAwaiter&>(waiter);
  if (self.state_->drainer == &self) {
    self.state_->drainer = nullptr;
  }
}

void TcpStream::DrainAwaiter::await_resume() {
  throw_if_cancelled();
  if (state_->write_error != 0) {
    throw state_->error_for(state_->write_error, "send");
  }
  if (state_->closed && state_->queued() > 0) {
    throw std::logic_error("TcpStream: closed before its output was sent");
  }
}

// ------------------------------------------------------------------ stream

TcpStream::TcpStream() noexcept = default;
TcpStream::TcpStream(UniqueFd fd, StreamOptions options)
    : state_(std::make_unique<State>(std::move(fd), options)) {}
TcpStream::TcpStream(TcpStream&& other) noexcept = default;
TcpStream& TcpStream::operator=(TcpStream&& other) noexcept {
  if (this != &other) {
    close();
    state_ = std::move(other.state_);
  }
  return *this;
}
TcpStream::~TcpStream() {
  close();
}

TcpStream::State* TcpStream::state() const {
  if (!state_) {
    throw std::logic_error("TcpStream: use of an empty (moved-from or default) stream");
  }
  return state_.get();
}

void TcpStream::write(std::string_view data) {
  State& s = *state();
  if (s.closed || s.write_shut || s.shutdown_pending) {
    throw std::logic_error("TcpStream: write after close() or shutdown_write()");
  }
  if (s.write_error != 0) {
    throw s.error_for(s.write_error, "send");
  }
  if (data.empty()) {
    return;
  }
  if (s.queued() > 0) {
    s.output.append(data);  // already waiting for POLLOUT
    return;
  }
  // Nothing queued: hand the bytes to the kernel straight from the caller's
  // buffer and queue only what it did not take.
  std::size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n =
        ::send(s.fd.get(), data.data() + sent, data.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        s.write_error = errno;
        throw s.error_for(s.write_error, "send");
      }
      break;
    }
    sent += static_cast<std::size_t>(n);
  }
  if (sent < data.size()) {
    s.output.append(data.substr(sent));
    s.update_interest();
  }
}

TcpStream::DrainAwaiter TcpStream::drain() noexcept {
  State* s = state_.get();
  return {s, s != nullptr ? s->options.high_water : 0, s != nullptr ? s->options.low_water : 0};
}

void TcpStream::shutdown_write() {
  State& s = *state();
  if (s.closed || s.write_shut || s.shutdown_pending) {
    return;
  }
  s.shutdown_pending = true;
  s.flush();
  s.update_interest();
}

void TcpStream::close() noexcept {
  if (!state_ || state_->closed) {
    return;
  }
  State& s = *state_;
  s.closed = true;
  s.watch.reset();
  s.fd.reset();
  // Waiters of other tasks learn of the close in their await_resume.
  if (s.reader != nullptr) {
    std::exchange(s.reader, nullptr)->complete_soon();
  }
  if (s.drainer != nullptr) {
    std::exchange(s.drainer, nullptr)->complete_soon();
  }
}

std::size_t TcpStream::discard(std::size_t count) {
  State& s = *state();
  count = std::min(count, s.buffered());
  s.take(count);
  s.update_interest();
  return count;
}

bool TcpStream::is_open() const noexcept {
  return state_ && !state_->closed;
}
int TcpStream::fd() const noexcept {
  return state_ ? state_->fd.get() : -1;
}
std::size_t TcpStream::buffered_input() const noexcept {
  return state_ ? state_->buffered() : 0;
}
std::size_t TcpStream::queued_output() const noexcept {
  return state_ ? state_->queued() : 0;
}
bool TcpStream::at_eof() const noexcept {
  return state_ && state_->eof && state_->buffered() == 0;
}
SocketAddress TcpStream::local_address() const {
  return SocketAddress::local_of(state()->fd.get());
}
SocketAddress TcpStream::peer_address() const {
  return SocketAddress::peer_of(state()->fd.get());
}

}  // namespace pz
