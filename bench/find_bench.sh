#!/usr/bin/env bash
# Benchmark: `pizzeria find` against fd (Debian fd-find, `fdfind`) and GNU
# find, searching /usr for a substring (seed 002, section 0.8). All three are
# asked the same question and must print the same set of paths; each is timed
# warm (after one untimed run fills the dentry cache), best of RUNS.
#
# Usage: bench/find_bench.sh [path/to/pizzeria] [root] [pattern]
#        (defaults: build/release/pizzeria /usr .py)
# Environment: RUNS (default 3), THREADS (pizzeria and fd threads, default nproc).
set -euo pipefail

cd "$(dirname "$0")/.."
scripts/install-deps.sh fd-find

pizzeria=${1:-build/release/pizzeria}
root=${2:-/usr}
pattern=${3:-.py}
runs=${RUNS:-3}
threads=${THREADS:-$(nproc)}
if [[ ! -x $pizzeria ]]; then
  echo "find_bench: $pizzeria is not an executable; build the release tree first" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

best_time() {
  local name=$1
  shift
  "$@" >"$work/$name" 2>/dev/null || true  # warm-up; also the output compared below
  local best=""
  for ((run = 0; run < runs; ++run)); do
    local start end elapsed
    start=$(date +%s.%N)
    "$@" >/dev/null 2>&1 || true
    end=$(date +%s.%N)
    elapsed=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.4f", b - a }')
    best=$(awk -v a="$elapsed" -v b="${best:-$elapsed}" 'BEGIN { print (a < b ? a : b) }')
  done
  echo "$best"
}

# fd skips hidden and .gitignored entries by default; -HI makes it look at
# everything, like find. --full-path matches the pattern against the whole
# path; -F takes it literally. fd prints paths without ROOT's trailing slash
# and does not print ROOT itself, which never contains the pattern here.
find_time=$(best_time find find "$root" -path "*$pattern*")
ours_time=$(best_time ours "$pizzeria" find --threads "$threads" "$root" "$pattern")
fd_time=$(best_time fd fdfind -HI --full-path -F --threads "$threads" "$pattern" "$root")

for name in find ours fd; do
  sort -o "$work/$name" "$work/$name"
done
cmp -s "$work/find" "$work/ours" || { echo "find_bench: pizzeria find and find disagree" >&2; exit 1; }
if ! cmp -s "$work/find" "$work/fd"; then
  echo "find_bench: note: fd printed $(wc -l <"$work/fd") paths, find $(wc -l <"$work/find")" >&2
fi

printf 'find %s for "%s": %d paths, %d threads, warm cache, best of %d\n' \
  "$root" "$pattern" "$(wc -l <"$work/find")" "$threads" "$runs"
printf '  GNU find        %7.3f s\n' "$find_time"
printf '  fdfind          %7.3f s\n' "$fd_time"
printf '  pizzeria find   %7.3f s   %.2fx find, %.2fx fd\n' "$ours_time" \
  "$(awk -v a="$find_time" -v b="$ours_time" 'BEGIN { print a / b }')" \
  "$(awk -v a="$fd_time" -v b="$ours_time" 'BEGIN { print a / b }')"
