// A FIFO in a fresh temporary directory, removed with it: a way to hold a
// ProcessPool task (which opens the FIFO for reading and reads to its end)
// until the test lets it go. Opening the write end blocks until the task has
// opened the read end, so it also tells the test that the task is running;
// closing the write end lets the task finish.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stdexcept>
#include <string>

namespace pz::test {

class FifoGate {
 public:
  FifoGate() {
    char directory[] = "/tmp/pz-gate-XXXXXX";
    if (::mkdtemp(directory) == nullptr) {
      throw std::runtime_error("FifoGate: mkdtemp failed");
    }
    dir_ = directory;
    path_ = dir_ + "/fifo";
    if (::mkfifo(path_.c_str(), 0600) != 0) {
      ::rmdir(dir_.c_str());
      throw std::runtime_error("FifoGate: mkfifo failed");
    }
  }
  FifoGate(const FifoGate&) = delete;
  FifoGate& operator=(const FifoGate&) = delete;
  ~FifoGate() {
    close();
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }

  // Blocks until the task has opened the FIFO, i.e. is running; false if
  // the FIFO could not be opened.
  bool wait_until_task_runs() {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CLOEXEC);
    return fd_ >= 0;
  }
  // Lets the task finish (it reads end of file).
  void close() {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  [[nodiscard]] const std::string& path() const { return path_; }

  // The task's side, in the worker: opens the FIFO at `path` for reading
  // (which lets the test's wait_until_task_runs() return) and reads until
  // the test closes its end.
  static void hold_until_released(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      throw std::runtime_error("FifoGate: cannot open " + path);
    }
    char byte = 0;
    while (::read(fd, &byte, 1) > 0) {
    }
    ::close(fd);
  }

 private:
  std::string dir_;
  std::string path_;
  int fd_ = -1;
};

}  // namespace pz::test
