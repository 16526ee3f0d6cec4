#include "pizzeria/programs/file_finder.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstddef>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "pizzeria/exec/thread_pool.hpp"

namespace pz::programs {

namespace {

// Bytes asked of each getdents64 call. Nearly every directory under /usr fits
// in one call at this size, so listing one costs openat, one getdents64 with
// entries, one that returns 0 and close; opendir/readdir add an fstat and
// cap the buffer at 32 KiB.
constexpr std::size_t kListingBuffer = 64 * 1024;

constexpr int kOpenFlags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOCTTY;

// The directories above one being listed, for loop detection with -L. Shared
// by all children of a directory, so descending costs one node, not a copy.
struct Ancestor {
  dev_t device;
  ino_t inode;
  std::string path;
  std::shared_ptr<const Ancestor> parent;
};

// A listed directory kept open while its subdirectories wait on the stack,
// so that each is opened by its name relative to it (openat(parent, name))
// rather than by its whole path, which the kernel would walk component by
// component (~9% of the walk's CPU on /usr). Closed when the last child has
// opened its own directory and dropped its reference. Depth first, only the
// directories along the walk's current paths are held (on /usr with 2
// threads the process peaked at 14 open descriptors in all).
class OpenDirectory {
 public:
  OpenDirectory(int fd, std::atomic<std::size_t>& held) : fd_(fd), held_(held) {}
  OpenDirectory(const OpenDirectory&) = delete;
  OpenDirectory& operator=(const OpenDirectory&) = delete;
  ~OpenDirectory() {
    ::close(fd_);
    // Relaxed: the count only budgets descriptors; it orders nothing.
    held_.fetch_sub(1, std::memory_order_relaxed);
  }
  [[nodiscard]] int fd() const { return fd_; }

 private:
  int fd_;
  std::atomic<std::size_t>& held_;
};

// How many directories may be held open for their children at once: a
// quarter of the soft descriptor limit, at most 1,024 (past the first 64 the
// kernel grows a threaded process's descriptor table with a wait for an RCU
// grace period each time). A directory beyond the budget is closed after its
// listing and its children are opened by path.
std::size_t held_directory_budget() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return 0;
  }
  if (limit.rlim_cur == RLIM_INFINITY) {
    return 1024;
  }
  return static_cast<std::size_t>(std::min<rlim_t>(limit.rlim_cur / 4, 1024));
}

// One directory to list, at `depth` below ROOT. With an open `parent` it is
// opened as path.substr(name_offset) relative to it, otherwise by path.
struct DirectoryTask {
  std::string path;
  int depth = 0;
  std::shared_ptr<const Ancestor> ancestors;  // -L only
  std::shared_ptr<const OpenDirectory> parent;
  std::size_t name_offset = 0;
};

// Reads the fields of one getdents64 record. The buffer is plain bytes, so
// the fields are copied out rather than read through a dirent64 pointer.
struct Record {
  unsigned short length;
  unsigned char type;
  const char* name;
};

Record read_record(const char* at) {
  Record record{};
  std::memcpy(&record.length, at + offsetof(struct dirent64, d_reclen), sizeof(record.length));
  std::memcpy(&record.type, at + offsetof(struct dirent64, d_type), sizeof(record.type));
  record.name = at + offsetof(struct dirent64, d_name);
  return record;
}

struct Walk {
  Walk(const FindOptions& find_options, const PathPattern& path_pattern, const FindSink& find_sink)
      : options(find_options),
        pattern(path_pattern),
        sink(find_sink),
        // Without -L a name that was a directory when listed must not be
        // followed if it has meanwhile been replaced by a symbolic link
        // (find -P never follows one below ROOT).
        open_flags(kOpenFlags | (find_options.follow_symlinks ? 0 : O_NOFOLLOW)) {}

  const FindOptions& options;
  const PathPattern& pattern;
  const FindSink& sink;
  const int open_flags;
  std::mutex sink_mutex;
  // Declared before the stack, whose tasks' OpenDirectory references it:
  // after an exception the stack is destroyed with the walk.
  const std::size_t held_budget = held_directory_budget();
  std::atomic<std::size_t> held{0};  // directories open for their children
  // Directories found and not yet listed, shared by all listing threads.
  // Last in, first out: the walk goes depth first, so the directories being
  // listed at once are near each other in the tree (their inodes and blocks
  // are hot in the kernel's caches) and the stack stays short. Measured
  // against a FIFO of one pool task per directory: ~10% less CPU.
  std::mutex stack_mutex;
  std::condition_variable stack_changed;
  std::vector<DirectoryTask> stack;  // guarded by stack_mutex
  std::size_t unfinished = 0;        // on the stack or being listed; guarded
  std::size_t waiting = 0;           // listers asleep on stack_changed; guarded
  bool abandoned = false;            // a lister threw; guarded

  // Takes ownership of `fd` for the subdirectories about to be pushed, if
  // the budget allows; nullptr means they open by path and fd stays ours.
  std::shared_ptr<const OpenDirectory> hold(int fd) {
    // Relaxed: an approximate count is enough to stay near the budget.
    if (held.fetch_add(1, std::memory_order_relaxed) >= held_budget) {
      held.fetch_sub(1, std::memory_order_relaxed);
      return nullptr;
    }
    return std::make_shared<const OpenDirectory>(fd, held);
  }

  // Relaxed: read by the caller once the walk has ended, which it learns
  // under stack_mutex after every lister released it past its last store.
  std::atomic<bool> failed{false};

  void report(const std::string& matches, const std::string& errors) {
    if (!errors.empty()) {
      failed.store(true, std::memory_order_relaxed);
    }
    if (matches.empty() && errors.empty()) {
      return;
    }
    const std::lock_guard lock(sink_mutex);
    sink(matches, errors);
  }

  void append_error(std::string& errors, const std::string& path, int error) const {
    errors += "find: ";
    errors += quote_operand(path, options.quote_style);
    errors += ": ";
    errors += std::strerror(error);
    errors += '\n';
  }

  void append_loop(std::string& errors, const std::string& path, const Ancestor& ancestor) const {
    errors += "find: File system loop detected; ";
    errors += quote_operand(path, options.quote_style);
    errors += " is part of the same file system loop as ";
    errors += quote_operand(ancestor.path, options.quote_style);
    errors += ".\n";
  }

  void push_directory(DirectoryTask task) {
    bool wake = false;
    {
      const std::lock_guard lock(stack_mutex);
      stack.push_back(std::move(task));
      ++unfinished;
      wake = waiting > 0;
    }
    if (wake) {
      stack_changed.notify_one();
    }
  }

  // Run by every listing thread: lists the most recently found directory
  // until the stack is empty and nobody is listing (so nothing more can be
  // pushed). A subdirectory is pushed as soon as it is read, so a thread
  // with nothing to do starts on it while a long listing goes on.
  void run_lister() {
    std::unique_lock lock(stack_mutex);
    while (!abandoned) {
      if (stack.empty()) {
        if (unfinished == 0) {
          return;
        }
        ++waiting;
        stack_changed.wait(lock);
        --waiting;
        continue;
      }
      DirectoryTask task = std::move(stack.back());
      stack.pop_back();
      lock.unlock();
      try {
        list_directory(std::move(task));
      } catch (...) {
        // Let the other listers stop instead of waiting for this directory.
        lock.lock();
        abandoned = true;
        stack_changed.notify_all();
        throw;
      }
      lock.lock();
      if (--unfinished == 0 && waiting > 0) {
        stack_changed.notify_all();
      }
    }
  }

  // Lists the task's directory, reports its matching entries and pushes its
  // subdirectories.
  void list_directory(DirectoryTask task) {
    std::string matches;
    std::string errors;
    // ROOT was checked with (l)stat already, and "link/" names the link's
    // target, so ROOT is opened as given.
    const int fd =
        task.parent != nullptr
            ? ::openat(task.parent->fd(), task.path.c_str() + task.name_offset, open_flags)
            : ::openat(AT_FDCWD, task.path.c_str(), task.depth == 0 ? kOpenFlags : open_flags);
    const int open_error = errno;
    task.parent.reset();  // the parent may be closed as soon as its children are open
    if (fd < 0) {
      append_error(errors, task.path, open_error);
      report(matches, errors);
      return;
    }
    // Entries here are at depth + 1; list them, but enter them only if
    // their own entries are still within the limit.
    const bool descend = options.max_depth < 0 || task.depth + 1 < options.max_depth;
    std::string child = task.path;
    if (child.empty() || child.back() != '/') {
      child += '/';
    }
    const std::size_t prefix = child.size();
    std::shared_ptr<const OpenDirectory> self;  // made at the first subdirectory
    bool held_or_refused = false;
    alignas(alignof(struct dirent64)) char buffer[kListingBuffer];
    while (true) {
      const ssize_t length = ::getdents64(fd, buffer, sizeof(buffer));
      if (length <= 0) {
        if (length < 0) {
          if (errno == EINTR) {
            continue;
          }
          append_error(errors, task.path, errno);
        }
        break;
      }
      for (ssize_t offset = 0; offset < length;) {
        const Record record = read_record(buffer + offset);
        offset += record.length;
        const char* name = record.name;
        if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'))) {
          continue;
        }
        if (options.skip_hidden && name[0] == '.') {
          continue;
        }
        child.resize(prefix);
        child += name;
        bool is_directory = record.type == DT_DIR;
        struct stat status {};
        bool have_status = false;
        if (options.follow_symlinks &&
            (is_directory || record.type == DT_LNK || record.type == DT_UNKNOWN)) {
          // -L: a link counts as what it points to; a broken one stays a file.
          have_status = ::fstatat(fd, name, &status, 0) == 0;
          is_directory = have_status && S_ISDIR(status.st_mode);
        } else if (record.type == DT_UNKNOWN) {
          have_status = ::fstatat(fd, name, &status, AT_SYMLINK_NOFOLLOW) == 0;
          is_directory = have_status && S_ISDIR(status.st_mode);
        }
        if (is_directory && options.follow_symlinks && have_status) {
          const Ancestor* loop = nullptr;
          for (const Ancestor* a = task.ancestors.get(); a != nullptr && loop == nullptr;
               a = a->parent.get()) {
            if (a->device == status.st_dev && a->inode == status.st_ino) {
              loop = a;
            }
          }
          if (loop != nullptr) {
            append_loop(errors, child, *loop);
            continue;
          }
        }
        if (pattern.matches(child)) {
          matches += child;
          matches += '\n';
        }
        if (is_directory && descend) {
          if (!held_or_refused) {
            self = hold(fd);
            held_or_refused = true;
          }
          DirectoryTask next{child, task.depth + 1, nullptr, self, prefix};
          if (options.follow_symlinks) {
            next.ancestors = std::make_shared<const Ancestor>(
                Ancestor{status.st_dev, status.st_ino, child, task.ancestors});
          }
          push_directory(std::move(next));
        }
      }
    }
    if (self == nullptr) {
      ::close(fd);  // otherwise the last child to open its directory closes it
    }
    report(matches, errors);
  }
};

}  // namespace

bool find_files(const FindOptions& options, const PathPattern& pattern, const FindSink& sink) {
  std::size_t threads = options.threads;
  if (threads == 0) {
    threads = std::max(1u, std::thread::hardware_concurrency());
  }
  Walk walk{options, pattern, sink};

  struct stat status {};
  const int result = options.follow_symlinks ? ::stat(options.root.c_str(), &status)
                                             : ::lstat(options.root.c_str(), &status);
  std::string matches;
  std::string errors;
  if (result != 0) {
    walk.append_error(errors, options.root, errno);
    walk.report(matches, errors);
    return false;
  }
  if (pattern.matches(options.root)) {
    matches = options.root + '\n';
    walk.report(matches, errors);
  }
  if (S_ISDIR(status.st_mode) && options.max_depth != 0) {
    DirectoryTask root{options.root, 0, nullptr, nullptr, 0};
    if (options.follow_symlinks) {
      root.ancestors = std::make_shared<const Ancestor>(
          Ancestor{status.st_dev, status.st_ino, options.root, nullptr});
    }
    walk.push_directory(std::move(root));
    // The caller is one of the `threads` listers; the pool runs the others.
    std::optional<ThreadPool> pool;
    if (threads > 1) {
      pool.emplace(
          ThreadPoolOptions{.threads = threads - 1, .queue_capacity = 0, .name = "pz-find"});
      for (std::size_t i = 0; i + 1 < threads; ++i) {
        pool->post([&walk] { walk.run_lister(); });
      }
    }
    walk.run_lister();
    if (pool) {
      pool->wait_idle();
    }
  }
  return !walk.failed.load(std::memory_order_relaxed);
}

}  // namespace pz::programs
