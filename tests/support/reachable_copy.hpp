// A copy of a program where any user can run it: a fresh directory under
// /tmp, mode 755, removed with the copy. Tests that drop privileges (setpriv
// to `nobody`) run this instead of the build tree's binary, which an
// unprivileged user cannot reach when the clone lives in a private
// directory such as /root (mode 700).
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>

namespace pz::test {

class ReachableCopy {
 public:
  explicit ReachableCopy(const std::string& program) {
    namespace fs = std::filesystem;
    char name[] = "/tmp/pz-reachable-XXXXXX";
    if (::mkdtemp(name) == nullptr) {
      throw std::runtime_error("mkdtemp failed for a copy of " + program);
    }
    dir_ = name;
    fs::permissions(dir_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                              fs::perms::others_read | fs::perms::others_exec);
    path_ = dir_ / fs::path(program).filename();
    fs::copy_file(program, path_);
    fs::permissions(path_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                               fs::perms::others_read | fs::perms::others_exec);
  }
  ReachableCopy(const ReachableCopy&) = delete;
  ReachableCopy& operator=(const ReachableCopy&) = delete;
  ~ReachableCopy() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  [[nodiscard]] std::string path() const { return path_.string(); }

 private:
  std::filesystem::path dir_;
  std::filesystem::path path_;
};

}  // namespace pz::test
