// The parallel directory walk behind `pizzeria find` (seed 002, section 0.8:
// a ThreadPoolExecutor listing one directory per task).
//
//   pz::programs::FindOptions options{.root = "/usr", .threads = 4};
//   pz::programs::PathPattern pattern(pz::programs::PathPattern::Kind::substring, ".py");
//   bool clean = pz::programs::find_files(options, pattern, sink);
//
// `threads` listers (the caller and threads - 1 on a pz::ThreadPool) share a
// stack of directories to list. Each takes the most recently found one, lists
// it, reports its matching entries to the sink as one chunk and pushes each
// subdirectory as soon as it reads it, so an idle lister starts on it while a
// long listing goes on; the walk ends when the stack is empty and nobody is
// listing. Last in, first out keeps the walk depth first, the directories
// listed at once near each other and the stack short. Listing is openat +
// getdents64 into a 64 KiB buffer + close, with the entry types taken from
// d_type: nothing is stat()ed unless the file system leaves the type unknown
// or -L must see through a link (the walk is kernel-bound, so syscalls per
// directory are what it costs; docs/benchmarks.md). The seed instead funnels
// every result through one thread that polls a deque of futures, which
// serialises the walk on that thread (docs/seeds/futures-and-find.md compares
// the two).
//
// Semantics follow GNU find with `-path '*PATTERN*'` (or -L with
// follow_symlinks): the paths are ROOT joined with the entry names, ROOT
// itself included; symbolic links are listed, and descended only with
// follow_symlinks, where a directory that is its own ancestor is reported as
// a file system loop and skipped, as find does. A directory that cannot be
// opened is reported ("'path': Permission denied") and the walk goes on.
//
// Thread safety: find_files may be called from any thread; the sink is called
// from the listing threads, one call at a time (serialised by find_files).
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "pizzeria/programs/factor_operands.hpp"  // QuoteStyle, GNU quoting
#include "pizzeria/programs/path_pattern.hpp"

namespace pz::programs {

struct FindOptions {
  std::string root = ".";
  bool follow_symlinks = false;  // find -L
  bool skip_hidden = false;      // neither list nor enter names starting with '.'
  int max_depth = -1;            // find -maxdepth; -1: unlimited, 0: ROOT only
  std::size_t threads = 0;       // listing threads, caller included; 0: one per core
  QuoteStyle quote_style = QuoteStyle::c_locale;  // how diagnostics quote paths
};

// Receives output in chunks: `matches` is zero or more "path\n" lines,
// `errors` zero or more complete diagnostic lines (each "find: ...\n").
using FindSink = std::function<void(std::string_view matches, std::string_view errors)>;

// Walks the tree; returns true when every directory could be read and no
// loop was found (find's exit status 0).
bool find_files(const FindOptions& options, const PathPattern& pattern, const FindSink& sink);

}  // namespace pz::programs
