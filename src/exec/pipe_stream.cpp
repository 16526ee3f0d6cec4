#include "pizzeria/exec/pipe_stream.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <system_error>
#include <utility>

#include "exec/fd_ready.hpp"

namespace pz {

namespace {

[[noreturn]] void throw_pipe_error(const char* call, int fd) {
  throw std::system_error(errno, std::generic_category(),
                          std::string(call) + " on pipe fd " + std::to_string(fd));
}

// write(2) on a pipe whose reader is gone raises SIGPIPE, which kills a
// process that did not ignore it, and pipes have no MSG_NOSIGNAL. So
// SIGPIPE is blocked on this thread around the write, and the one the
// write raised is taken off the pending set before unblocking (unless one
// was pending already: that one is not ours to swallow). errno is EPIPE.
ssize_t write_without_sigpipe(int fd, const char* data, std::size_t size) {
  sigset_t pipe_only;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  sigset_t previous;
  ::pthread_sigmask(SIG_BLOCK, &pipe_only, &previous);
  sigset_t pending;
  sigpending(&pending);
  const bool was_pending = sigismember(&pending, SIGPIPE) == 1;
  const ssize_t wrote = ::write(fd, data, size);
  const int error = errno;
  if (wrote < 0 && error == EPIPE && !was_pending) {
    const timespec no_wait{};
    while (::sigtimedwait(&pipe_only, nullptr, &no_wait) < 0 && errno == EINTR) {
    }
  }
  ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  errno = error;
  return wrote;
}

}  // namespace

PipeStream::PipeStream(UniqueFd fd) : fd_(std::move(fd)) {
  const int flags = ::fcntl(fd_.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd_.get(), F_SETFL, flags | O_NONBLOCK) < 0) {
    throw_pipe_error("fcntl(O_NONBLOCK)", fd_.get());
  }
}

Task<std::string> PipeStream::read_some(std::size_t max) {
  std::string chunk(max, '\0');
  while (true) {
    const ssize_t got = ::read(fd_.get(), chunk.data(), chunk.size());
    if (got >= 0) {
      chunk.resize(static_cast<std::size_t>(got));
      co_return chunk;
    }
    if (errno == EAGAIN) {
      co_await detail::FdReady(fd_.get(), Interest::readable);
    } else if (errno != EINTR) {
      throw_pipe_error("read", fd_.get());
    }
  }
}

Task<std::size_t> PipeStream::read_all(std::string& into) {
  while (true) {
    std::string chunk = co_await read_some();
    if (chunk.empty()) {
      co_return into.size();
    }
    into += chunk;
  }
}

Task<std::string> PipeStream::read_all() {
  std::string all;
  co_await read_all(all);
  co_return all;
}

Task<void> PipeStream::write_all(std::string bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t wrote =
        write_without_sigpipe(fd_.get(), bytes.data() + done, bytes.size() - done);
    if (wrote >= 0) {
      done += static_cast<std::size_t>(wrote);
    } else if (errno == EAGAIN) {
      co_await detail::FdReady(fd_.get(), Interest::writable);
    } else if (errno != EINTR) {
      throw_pipe_error("write", fd_.get());
    }
  }
}

}  // namespace pz
