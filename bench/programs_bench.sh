#!/usr/bin/env bash
# Issue 7's three benchmarks in one run, each against the tool a user would
# otherwise pick, with the ratio set beside its target:
#   factor       vs GNU coreutils factor, 100,000 random 64-bit numbers,
#                --workers 2                                  target >= 1.5x
#   find         vs fdfind (and GNU find) on /usr             target >= 1.0x fd
#   sort-server  vs the seed's Python asyncio server, the seed client's
#                10,000-number lists, servers on one core each
#                (ISOLATE=1: bench/sort_bench.sh says why)    target >= 10x
# The sort server is also measured without isolation (both servers free to
# use both cores, sharing them with the loaders) and with 1,000-number lists,
# as context; the targets are judged on the rows marked "target".
#
# Each benchmark is its own script (bench/factor_bench.sh, find_bench.sh,
# sort_bench.sh), run here one after the other with its defaults; their full
# reports are printed first, then the summary.
#
# Usage: bench/programs_bench.sh [path/to/pizzeria]   (default: build/release/pizzeria)
set -euo pipefail

cd "$(dirname "$0")/.."
pizzeria=${1:-build/release/pizzeria}
if [[ ! -x $pizzeria ]]; then
  echo "programs_bench: $pizzeria is not an executable; build the release tree first" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "programs_bench: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
run() {
  local name=$1
  shift
  echo
  echo "== $name: $*"
  "$@" | tee "$work/$name"
}
run factor bench/factor_bench.sh "$pizzeria"
run find bench/find_bench.sh "$pizzeria"
run sort env ISOLATE=1 ROUNDS="${SORT_ROUNDS:-5}" bench/sort_bench.sh "$pizzeria"
run sort-shared env ISOLATE=0 ROUNDS="${SORT_ROUNDS:-5}" bench/sort_bench.sh "$pizzeria"
run sort-1000 env ISOLATE=1 COUNT=1000 ROUNDS="${SORT_ROUNDS:-5}" bench/sort_bench.sh "$pizzeria"

# The ratios, from the lines each script ends with.
factor_ratio=$(awk '/--workers 2 .*processes/ { sub("x", "", $7); print $7 }' "$work/factor")
find_ratio=$(awk '/pizzeria find/ { for (i = 1; i <= NF; ++i) if ($(i + 1) == "fd") { sub("x", "", $i); print $i } }' "$work/find")
sort_ratio() { awk '/^  ratio:/ { sub("x", "", $2); print $2 }' "$work/$1"; }
verdict() { awk -v r="$1" -v t="$2" 'BEGIN { print (r >= t ? "met" : "NOT met") }'; }

echo
echo "summary (ratio: how many times faster than the peer; higher is better)"
printf '  %-52s %8s %8s  %s\n' benchmark ratio target verdict
printf '  %-52s %7sx %7sx  %s\n' "factor --workers 2 vs GNU factor" "$factor_ratio" 1.5 "$(verdict "$factor_ratio" 1.5)"
printf '  %-52s %7sx %7sx  %s\n' "find vs fdfind" "$find_ratio" 1.0 "$(verdict "$find_ratio" 1.0)"
printf '  %-52s %7sx %7sx  %s\n' "sort-server vs Python, 10,000 numbers, one core each" "$(sort_ratio sort)" 10 "$(verdict "$(sort_ratio sort)" 10)"
printf '  %-52s %7sx %8s\n' "  (context) the same, cores shared with the loaders" "$(sort_ratio sort-shared)" ""
printf '  %-52s %7sx %8s\n' "  (context) 1,000 numbers, one core each" "$(sort_ratio sort-1000)" ""
