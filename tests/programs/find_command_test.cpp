// `pizzeria find` against GNU find on a generated tree with a symlink loop,
// a broken link, a hidden directory and an unreadable directory.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "program_runner.hpp"
#include "support/reachable_copy.hpp"

namespace pz::programs {
namespace {

namespace fs = std::filesystem;
using test::ProgramResult;
using test::run_program;

std::vector<std::string> sorted_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream stream(text);
  for (std::string line; std::getline(stream, line);) {
    lines.push_back(line);
  }
  std::sort(lines.begin(), lines.end());
  return lines;
}

class FindCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    char name[] = "/tmp/pz-find-test-XXXXXX";
    ASSERT_NE(::mkdtemp(name), nullptr);
    root_ = name;
    // Readable by everyone: the comparison runs as an unprivileged user.
    fs::permissions(root_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                               fs::perms::others_read | fs::perms::others_exec);
    for (const char* dir :
         {"src/core", "src/net/needle_dir", "docs", ".hidden/deep", "locked", "many"}) {
      fs::create_directories(root_ / dir);
    }
    for (const char* file : {"src/core/needle.cpp", "src/core/loop.cpp", "src/net/needle_dir/x",
                             "docs/needle.md", "docs/readme.txt", ".hidden/deep/needle.txt",
                             ".needle", "locked/needle_inside", "top_needle.txt"}) {
      std::ofstream(root_ / file) << "x\n";
    }
    for (int i = 0; i < 200; ++i) {
      std::ofstream(root_ / "many" / ("file" + std::to_string(i) + (i % 7 == 0 ? "needle" : "")));
    }
    fs::create_directory_symlink("../..", root_ / "src/core/up_loop");  // -> ROOT: a loop
    fs::create_directory_symlink("../docs", root_ / "src/docs_link");
    fs::create_symlink("nowhere", root_ / "broken_needle_link");
    fs::permissions(root_ / "locked", fs::perms::none);
  }

  void TearDown() override {
    fs::permissions(root_ / "locked", fs::perms::owner_all);
    fs::remove_all(root_);
  }

  // Root ignores permission bits, so both programs run as `nobody` through
  // setpriv when the tests run as root; the locked directory then fails
  // opendir with EACCES for real.
  static ProgramResult run_unprivileged(std::vector<std::string> argv) {
    if (::geteuid() == 0) {
      argv.insert(argv.begin(), {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"});
    }
    return run_program(argv, {}, {"LC_ALL=C"});
  }

  void expect_same_as_find(const std::vector<std::string>& find_arguments,
                           const std::vector<std::string>& our_arguments) {
    std::vector<std::string> find_argv{"find"};
    find_argv.insert(find_argv.end(), find_arguments.begin(), find_arguments.end());
    std::vector<std::string> our_argv{pizzeria_binary(), "find"};
    our_argv.insert(our_argv.end(), our_arguments.begin(), our_arguments.end());
    const ProgramResult expected = run_unprivileged(find_argv);
    const ProgramResult actual = run_unprivileged(our_argv);
    EXPECT_FALSE(expected.out.empty());
    EXPECT_EQ(sorted_lines(actual.out), sorted_lines(expected.out));
    EXPECT_EQ(sorted_lines(actual.err), sorted_lines(expected.err));
    EXPECT_EQ(actual.exit_status, expected.exit_status);
  }

  // The binary the tests run: as root, a copy that `nobody` can reach (the
  // build tree may sit in a private home directory).
  std::string pizzeria_binary() {
    if (::geteuid() != 0) {
      return test::pizzeria_binary();
    }
    if (!copy_) {
      copy_ = std::make_unique<test::ReachableCopy>(test::pizzeria_binary());
    }
    return copy_->path();
  }

  fs::path root_;
  std::unique_ptr<test::ReachableCopy> copy_;
};

TEST_F(FindCommand, SubstringMatchesWhatFindPathPrintsAndReportsTheUnreadableDirectory) {
  expect_same_as_find({root_, "-path", "*needle*"}, {root_, "needle"});
  const ProgramResult ours = run_unprivileged({pizzeria_binary(), "find", root_, "needle"});
  EXPECT_EQ(ours.exit_status, 1);
  EXPECT_NE(ours.err.find("find: '" + (root_ / "locked").string() + "': Permission denied\n"),
            std::string::npos)
      << ours.err;
}

TEST_F(FindCommand, EmptyPatternListsEveryPathLikeFind) {
  expect_same_as_find({root_}, {root_});
}

TEST_F(FindCommand, FollowingSymlinksReportsTheLoopLikeFindMinusL) {
  expect_same_as_find({"-L", root_, "-path", "*needle*"}, {"--follow", root_, "needle"});
  const ProgramResult ours =
      run_unprivileged({pizzeria_binary(), "find", "--follow", root_, "needle"});
  EXPECT_NE(ours.err.find("File system loop detected; '" + (root_ / "src/core/up_loop").string() +
                          "' is part of the same file system loop as '" + root_.string() + "'."),
            std::string::npos)
      << ours.err;
}

TEST_F(FindCommand, TrailingSlashOnRootIsKeptInPathsAsFindKeepsIt) {
  expect_same_as_find({root_.string() + "/", "-path", "*needle*"},
                      {root_.string() + "/", "needle"});
}

TEST_F(FindCommand, MaxDepthLimitsTheWalkLikeFindMaxdepth) {
  expect_same_as_find({root_, "-maxdepth", "2", "-path", "*e*"}, {root_, "e", "--max-depth", "2"});
}

TEST_F(FindCommand, GlobMatchesTheWholePathLikeFindPath) {
  expect_same_as_find({root_, "-path", "*/needle*.*"}, {root_, "--glob", "*/needle*.*"});
}

TEST_F(FindCommand, RegexIsFoundAnywhereInThePath) {
  expect_same_as_find(
      {root_, "-regextype", "posix-extended", "-regex", ".*(core|docs)/n[a-z]+\\..*"},
      {root_, "--regex", "(core|docs)/n[a-z]+\\."});
}

TEST_F(FindCommand, SkipHiddenPrunesDotEntriesLikeAFindPrune) {
  expect_same_as_find({root_, "-name", ".*", "-prune", "-o", "-path", "*needle*", "-print"},
                      {root_, "needle", "--skip-hidden"});
}

TEST_F(FindCommand, DirectoryLargerThanOneListingBufferIsListedCompletely) {
  // 3,000 entries with 60-character names need about 240 KiB of getdents64
  // records, several reads of the 64 KiB listing buffer.
  const fs::path big = root_ / "big";
  fs::create_directory(big);
  const std::string padding(52, 'p');
  for (int i = 0; i < 3000; ++i) {
    std::ofstream(big / (padding + std::to_string(10000000 + i)));
  }
  fs::create_directory(big / (padding + "needle_subdir"));
  std::ofstream(big / (padding + "needle_subdir") / "inside");
  expect_same_as_find({big}, {big.string()});
  expect_same_as_find({big, "-path", "*needle*"}, {big.string(), "needle", "--threads", "3"});
}

TEST_F(FindCommand, AnyNumberOfListingThreadsPrintsWhatFindPrints) {
  for (const char* threads : {"1", "2", "5"}) {
    expect_same_as_find({"-L", root_, "-path", "*e*"},
                        {"--follow", root_.string(), "e", "--threads", threads});
  }
}

TEST_F(FindCommand, DeepTreeUnderALowDescriptorLimitIsListedCompletely) {
  // A binary tree 6 levels deep: walking depth first, every directory on the
  // current path still has a child to open, so each would stay open for it.
  // With 8 descriptors only 2 may be held; the rest must be closed after
  // listing and their children opened by path, or the walk runs out of
  // descriptors (EMFILE; it does at 8 and 9 without the budget) and reports
  // errors that find does not.
  std::vector<fs::path> level{root_ / "tree"};
  for (int depth = 0; depth < 6; ++depth) {
    std::vector<fs::path> next;
    for (const fs::path& dir : level) {
      next.push_back(dir / "left");
      next.push_back(dir / "right");
    }
    level = std::move(next);
  }
  for (const fs::path& leaf : level) {
    fs::create_directories(leaf);
  }
  const ProgramResult expected = run_unprivileged({"find", root_ / "tree"});
  const ProgramResult actual = run_unprivileged(
      {"prlimit", "--nofile=8:8", pizzeria_binary(), "find", "--threads", "1", root_ / "tree"});
  EXPECT_EQ(sorted_lines(actual.out), sorted_lines(expected.out));
  EXPECT_EQ(actual.err, "");
  EXPECT_EQ(actual.exit_status, 0);
}

TEST_F(FindCommand, SymlinkedRootIsEnteredOnlyWithATrailingSlashOrFollowLikeFind) {
  const fs::path link = root_ / "src_link";
  fs::create_directory_symlink("src", link);
  expect_same_as_find({link, "-path", "*e*"}, {link.string(), "e"});
  expect_same_as_find({link.string() + "/", "-path", "*e*"}, {link.string() + "/", "e"});
  expect_same_as_find({"-L", link, "-path", "*e*"}, {"--follow", link.string(), "e"});
}

TEST_F(FindCommand, MissingRootIsAnErrorWithFindsMessage) {
  const ProgramResult ours =
      run_program({pizzeria_binary(), "find", (root_ / "absent").string(), "x"}, {}, {"LC_ALL=C"});
  EXPECT_EQ(ours.out, "");
  EXPECT_EQ(ours.err, "find: '" + (root_ / "absent").string() + "': No such file or directory\n");
  EXPECT_EQ(ours.exit_status, 1);
}

TEST_F(FindCommand, InvalidRegexIsRefusedWithTheReason) {
  const ProgramResult ours =
      run_program({pizzeria_binary(), "find", root_, "--regex", "(unclosed"}, {}, {"LC_ALL=C"});
  EXPECT_EQ(ours.exit_status, 1);
  EXPECT_NE(ours.err.find("invalid regular expression '(unclosed'"), std::string::npos) << ours.err;
}

}  // namespace
}  // namespace pz::programs
