#include "support/child_process.hpp"

#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <spawn.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <utility>

extern char** environ;

namespace pz::test {

namespace {

// One byte carrying one descriptor (SCM_RIGHTS), the same buffers on the
// sending side (the forked child) and the receiving one. Not movable: the
// header points into the object itself.
struct FdMessage {
  FdMessage() noexcept {
    header.msg_iov = &data;
    header.msg_iovlen = 1;
    header.msg_control = control;
    header.msg_controllen = sizeof(control);
  }
  FdMessage(const FdMessage&) = delete;
  FdMessage& operator=(const FdMessage&) = delete;

  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  char byte = 0;
  iovec data{&byte, 1};
  msghdr header{};
};

// A seccomp filter: each listed system call fails with its errno, or is
// handed to a listener (a user notification) that answers it; the rest run.
// Built before fork, so the child only has to install it.
class SyscallFilter {
 public:
  void fail(long syscall, int error) {
    add(syscall, SECCOMP_RET_ERRNO | (static_cast<std::uint32_t>(error) & SECCOMP_RET_DATA));
  }
  void notify(long syscall) {
    add(syscall, SECCOMP_RET_USER_NOTIF);
    notifies_ = true;
  }
  [[nodiscard]] bool empty() const noexcept { return size_ == 1; }
  [[nodiscard]] bool notifies() const noexcept { return notifies_; }

  // In the forked child, before exec; async-signal-safe calls only. With
  // notify rules, sends the listener's descriptor over `socket`.
  void install(int socket) {
    program_[size_++] = {kReturn, 0, 0, SECCOMP_RET_ALLOW};
    sock_fprog filter{static_cast<unsigned short>(size_), program_.data()};
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
      ::_exit(126);
    }
    const long listener = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                                    notifies_ ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0UL, &filter);
    if (listener < 0) {
      ::_exit(126);
    }
    if (notifies_) {
      const int fd = static_cast<int>(listener);
      FdMessage message;
      cmsghdr* header = CMSG_FIRSTHDR(&message.header);
      header->cmsg_level = SOL_SOCKET;
      header->cmsg_type = SCM_RIGHTS;
      header->cmsg_len = CMSG_LEN(sizeof(int));
      std::memcpy(CMSG_DATA(header), &fd, sizeof(int));
      if (::sendmsg(socket, &message.header, MSG_NOSIGNAL) != 1) {
        ::_exit(126);
      }
      ::close(fd);
    }
  }

 private:
  static constexpr auto kLoad = static_cast<std::uint16_t>(BPF_LD | BPF_W | BPF_ABS);
  static constexpr auto kJumpIfEqual = static_cast<std::uint16_t>(BPF_JMP | BPF_JEQ | BPF_K);
  static constexpr auto kReturn = static_cast<std::uint16_t>(BPF_RET | BPF_K);

  void add(long syscall, std::uint32_t action) {
    program_[size_++] = {kJumpIfEqual, 0, 1, static_cast<std::uint32_t>(syscall)};
    program_[size_++] = {kReturn, 0, 0, action};
  }

  // Loading the system call number, three rules of two instructions, allow.
  std::array<sock_filter, 8> program_{
      {{kLoad, 0, 0, static_cast<std::uint32_t>(offsetof(seccomp_data, nr))}}};
  std::size_t size_ = 1;
  bool notifies_ = false;
};

// The listener's descriptor, sent by the child (invalid if it failed first).
UniqueFd receive_fd(int socket) {
  FdMessage message;
  ssize_t got = 0;
  do {
    got = ::recvmsg(socket, &message.header, MSG_CMSG_CLOEXEC);
  } while (got < 0 && errno == EINTR);
  const cmsghdr* header = got == 1 ? CMSG_FIRSTHDR(&message.header) : nullptr;
  if (header == nullptr || header->cmsg_type != SCM_RIGHTS) {
    return UniqueFd();
  }
  int fd = -1;
  std::memcpy(&fd, CMSG_DATA(header), sizeof(int));
  return UniqueFd(fd);
}

}  // namespace

// Answers the child's accept calls with an error (all but the succeeding
// one, which runs), on its own thread (the child's call waits until it is
// answered), and counts the failures.
class ChildProcess::AcceptFailer {
 public:
  AcceptFailer(UniqueFd listener, FailingAccept failing)
      : listener_(std::move(listener)),
        failing_(failing),
        stop_(make_eventfd()),
        thread_([this] { run(); }) {}
  AcceptFailer(const AcceptFailer&) = delete;
  AcceptFailer& operator=(const AcceptFailer&) = delete;
  ~AcceptFailer() { stop(); }

  // Ends the thread once it has finished with the call in hand, so that
  // failed() counts every call it answered. Idempotent.
  void stop() {
    if (thread_.joinable()) {
      const std::uint64_t one = 1;
      [[maybe_unused]] const auto written = ::write(stop_.get(), &one, sizeof(one));
      thread_.join();
    }
  }

  [[nodiscard]] std::uint64_t failed() const noexcept {
    // relaxed: a count read on its own (after stop(), the join orders it).
    return failed_.load(std::memory_order_relaxed);
  }

 private:
  static UniqueFd make_eventfd() {
    UniqueFd fd(::eventfd(0, EFD_CLOEXEC));
    if (!fd) {
      throw std::system_error(errno, std::generic_category(), "eventfd for the accept failer");
    }
    return fd;
  }

  void run() {
    while (true) {
      pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {stop_.get(), POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) {
          continue;
        }
        return;
      }
      if (fds[1].revents != 0 || (fds[0].revents & POLLIN) == 0) {
        return;  // asked to stop, or the child is gone (POLLHUP)
      }
      seccomp_notif request{};  // the kernel insists on zeroes
      if (::ioctl(listener_.get(), SECCOMP_IOCTL_NOTIF_RECV, &request) != 0) {
        if (errno == ENOENT || errno == EINTR) {
          continue;  // the caller was interrupted before we looked
        }
        return;
      }
      const bool fail = ++calls_ != failing_.succeeding_call;
      seccomp_notif_resp response{};
      response.id = request.id;
      if (fail) {
        response.error = -failing_.error;
      } else {
        response.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;  // Linux 5.5
      }
      if (::ioctl(listener_.get(), SECCOMP_IOCTL_NOTIF_SEND, &response) == 0 && fail) {
        failed_.fetch_add(1, std::memory_order_relaxed);
      }
    }
  }

  UniqueFd listener_;
  FailingAccept failing_;
  std::uint64_t calls_ = 0;  // only on the thread
  UniqueFd stop_;
  std::atomic<std::uint64_t> failed_{0};
  std::thread thread_;  // last: started once the rest exists
};

ChildProcess::ChildProcess(std::vector<std::string> argv, Output output, IoUring io_uring,
                           FailingAccept failing_accept) {
  if (argv.empty()) {
    throw std::invalid_argument("ChildProcess: no program to run");
  }
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    throw std::system_error(errno, std::generic_category(), "pipe2 for " + argv[0]);
  }
  output_.reset(fds[0]);
  UniqueFd write_end(fds[1]);
  std::vector<char*> pointers;
  for (std::string& argument : argv) {
    pointers.push_back(argument.data());
  }
  pointers.push_back(nullptr);
  const bool with_stderr = output == Output::stdout_and_stderr;
  SyscallFilter filter;
  if (io_uring == IoUring::denied) {
    filter.fail(SYS_io_uring_setup, ENOSYS);
  }
  if (failing_accept.error != 0) {
    filter.notify(SYS_accept4);
    filter.notify(SYS_accept);
  }
  if (!filter.empty()) {
    // The child sends the filter's listener back over this socket.
    int sockets[2] = {-1, -1};
    if (filter.notifies() &&
        ::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sockets) != 0) {
      throw std::system_error(errno, std::generic_category(), "socketpair for " + argv[0]);
    }
    UniqueFd our_end(sockets[0]);
    UniqueFd child_end(sockets[1]);
    // posix_spawn cannot install a seccomp filter in the child: fork.
    pid_ = ::fork();
    if (pid_ < 0) {
      throw std::system_error(errno, std::generic_category(), "fork for " + argv[0]);
    }
    if (pid_ == 0) {
      ::dup2(write_end.get(), STDOUT_FILENO);
      if (with_stderr) {
        ::dup2(write_end.get(), STDERR_FILENO);
      }
      filter.install(child_end.get());
      ::execve(pointers[0], pointers.data(), environ);
      ::_exit(127);
    }
    if (filter.notifies()) {
      // A constructor that throws has no destructor to reap the child.
      try {
        child_end.reset();  // so a child that failed first ends our read
        UniqueFd listener = receive_fd(our_end.get());
        if (!listener) {
          throw std::runtime_error("seccomp listener for " + argv[0] +
                                   ": the child could not install its filter");
        }
        accept_failer_ = std::make_unique<AcceptFailer>(std::move(listener), failing_accept);
      } catch (...) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
        throw;
      }
    }
    return;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, write_end.get(), STDOUT_FILENO);
  if (with_stderr) {
    posix_spawn_file_actions_adddup2(&actions, write_end.get(), STDERR_FILENO);
  }
  const int error = ::posix_spawn(&pid_, pointers[0], &actions, nullptr, pointers.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) {
    pid_ = -1;
    throw std::system_error(error, std::generic_category(), "posix_spawn " + argv[0]);
  }
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

std::string ChildProcess::read_line(std::chrono::milliseconds timeout) {
  while (true) {
    if (const auto newline = pending_.find('\n'); newline != std::string::npos) {
      std::string line = pending_.substr(0, newline);
      pending_.erase(0, newline + 1);
      return line;
    }
    pollfd ready{output_.get(), POLLIN, 0};
    if (::poll(&ready, 1, static_cast<int>(timeout.count())) <= 0) {
      return std::exchange(pending_, {});
    }
    char chunk[4096];
    const ssize_t got = ::read(output_.get(), chunk, sizeof chunk);
    if (got <= 0) {
      return std::exchange(pending_, {});
    }
    pending_.append(chunk, static_cast<std::size_t>(got));
  }
}

void ChildProcess::signal(int number) const {
  if (pid_ > 0) {
    ::kill(pid_, number);
  }
}

std::uint64_t ChildProcess::failed_accepts() const noexcept {
  return accept_failer_ ? accept_failer_->failed() : 0;
}

int ChildProcess::wait() {
  int status = 0;
  if (pid_ > 0) {
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  if (accept_failer_) {
    // The child's last accept may have returned before the thread counted
    // it: let the thread finish.
    accept_failer_->stop();
  }
  return status;
}

}  // namespace pz::test
