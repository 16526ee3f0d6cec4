#include "pizzeria/programs/file_finder.hpp"

#include <dirent.h>
#include <sys/stat.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>

#include "pizzeria/exec/thread_pool.hpp"

namespace pz::programs {

namespace {

// The directories above one being listed, for loop detection with -L. Shared
// by all children of a directory, so descending costs one node, not a copy.
struct Ancestor {
  dev_t device;
  ino_t inode;
  std::string path;
  std::shared_ptr<const Ancestor> parent;
};

struct Walk {
  Walk(const FindOptions& find_options, const PathPattern& path_pattern, const FindSink& find_sink,
       ThreadPool& thread_pool)
      : options(find_options), pattern(path_pattern), sink(find_sink), pool(thread_pool) {}

  const FindOptions& options;
  const PathPattern& pattern;
  const FindSink& sink;
  ThreadPool& pool;
  std::mutex sink_mutex;
  // Relaxed: read only after wait_idle(), which synchronises with every task.
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

  void post_directory(std::string path, int depth, std::shared_ptr<const Ancestor> ancestors) {
    pool.post([this, path = std::move(path), depth, ancestors = std::move(ancestors)]() mutable {
      list_directory(path, depth, std::move(ancestors));
    });
  }

  // Lists `path` (at `depth`), reports its matching entries and posts its
  // subdirectories.
  void list_directory(const std::string& path, int depth, std::shared_ptr<const Ancestor> self) {
    std::string matches;
    std::string errors;
    DIR* directory = ::opendir(path.c_str());
    if (directory == nullptr) {
      append_error(errors, path, errno);
      report(matches, errors);
      return;
    }
    // Entries here are at depth + 1; list them, but enter them only if
    // their own entries are still within the limit.
    const bool descend = options.max_depth < 0 || depth + 1 < options.max_depth;
    std::string child = path;
    if (child.empty() || child.back() != '/') {
      child += '/';
    }
    const std::size_t prefix = child.size();
    while (true) {
      errno = 0;
      const dirent* entry = ::readdir(directory);
      if (entry == nullptr) {
        if (errno != 0) {
          append_error(errors, path, errno);
        }
        break;
      }
      const char* name = entry->d_name;
      if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'))) {
        continue;
      }
      if (options.skip_hidden && name[0] == '.') {
        continue;
      }
      child.resize(prefix);
      child += name;
      bool is_directory = entry->d_type == DT_DIR;
      struct stat status {};
      bool have_status = false;
      if (options.follow_symlinks &&
          (is_directory || entry->d_type == DT_LNK || entry->d_type == DT_UNKNOWN)) {
        // -L: a link counts as what it points to; a broken one stays a file.
        have_status = ::stat(child.c_str(), &status) == 0;
        is_directory = have_status && S_ISDIR(status.st_mode);
      } else if (entry->d_type == DT_UNKNOWN) {
        have_status = ::lstat(child.c_str(), &status) == 0;
        is_directory = have_status && S_ISDIR(status.st_mode);
      }
      if (is_directory && options.follow_symlinks && have_status) {
        const Ancestor* loop = nullptr;
        for (const Ancestor* a = self.get(); a != nullptr && loop == nullptr; a = a->parent.get()) {
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
        std::shared_ptr<const Ancestor> node;
        if (options.follow_symlinks) {
          node =
              std::make_shared<const Ancestor>(Ancestor{status.st_dev, status.st_ino, child, self});
        }
        post_directory(child, depth + 1, std::move(node));
      }
    }
    ::closedir(directory);
    report(matches, errors);
  }
};

}  // namespace

bool find_files(const FindOptions& options, const PathPattern& pattern, const FindSink& sink) {
  std::size_t threads = options.threads;
  if (threads == 0) {
    threads = std::max(1u, std::thread::hardware_concurrency());
  }
  ThreadPool pool(ThreadPoolOptions{.threads = threads, .queue_capacity = 0, .name = "pz-find"});
  Walk walk{options, pattern, sink, pool};

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
    std::shared_ptr<const Ancestor> root;
    if (options.follow_symlinks) {
      root = std::make_shared<const Ancestor>(
          Ancestor{status.st_dev, status.st_ino, options.root, nullptr});
    }
    walk.post_directory(options.root, 0, std::move(root));
    // The caller helps run directory tasks until none is queued or running.
    pool.wait_idle();
  }
  return !walk.failed.load(std::memory_order_relaxed);
}

}  // namespace pz::programs
