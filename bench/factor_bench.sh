#!/usr/bin/env bash
# Benchmark: `pizzeria factor` against GNU coreutils `factor` on the same
# 100,000 random 64-bit numbers (seed 002, section 0.5). Prints the best of
# RUNS wall-clock times for each and the speed-up ratios; checks that the
# outputs are identical byte for byte before reporting anything.
#
# Usage: bench/factor_bench.sh [path/to/pizzeria]   (default: build/release/pizzeria)
# Environment: COUNT (numbers, default 100000), RUNS (default 3).
set -euo pipefail

pizzeria=${1:-build/release/pizzeria}
count=${COUNT:-100000}
runs=${RUNS:-3}
if [[ ! -x $pizzeria ]]; then
  echo "factor_bench: $pizzeria is not an executable; build the release tree first" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$count" >"$work/input" <<'PY'
import random, sys
random.seed(2015)
sys.stdout.write("".join(f"{random.getrandbits(64)}\n" for _ in range(int(sys.argv[1]))))
PY

# best_time NAME COMMAND...: runs COMMAND RUNS times on the input and prints
# the fastest wall-clock time in seconds; keeps the last output in $work/NAME.
best_time() {
  local name=$1
  shift
  local best=""
  for ((run = 0; run < runs; ++run)); do
    local start end elapsed
    start=$(date +%s.%N)
    LC_ALL=C "$@" <"$work/input" >"$work/$name"
    end=$(date +%s.%N)
    elapsed=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')
    best=$(awk -v a="$elapsed" -v b="${best:-$elapsed}" 'BEGIN { print (a < b ? a : b) }')
  done
  echo "$best"
}

gnu=$(best_time gnu factor)
one=$(best_time one "$pizzeria" factor --workers 1)
two=$(best_time two "$pizzeria" factor --workers 2)
threads=$(best_time threads "$pizzeria" factor --workers 2 --threads)
cmp -s "$work/gnu" "$work/one" || { echo "factor_bench: --workers 1 output differs from GNU factor" >&2; exit 1; }
cmp -s "$work/gnu" "$work/two" || { echo "factor_bench: --workers 2 output differs from GNU factor" >&2; exit 1; }
cmp -s "$work/gnu" "$work/threads" || { echo "factor_bench: --threads output differs from GNU factor" >&2; exit 1; }

printf 'factor: %d random 64-bit numbers, best of %d runs, outputs identical\n' "$count" "$runs"
printf '  GNU factor                    %6.3f s\n' "$gnu"
printf '  pizzeria factor --workers 1   %6.3f s   %.2fx GNU\n' "$one" "$(awk -v a="$gnu" -v b="$one" 'BEGIN { print a / b }')"
printf '  pizzeria factor --workers 2   %6.3f s   %.2fx GNU   (processes)\n' "$two" "$(awk -v a="$gnu" -v b="$two" 'BEGIN { print a / b }')"
printf '  ... --workers 2 --threads     %6.3f s   %.2fx GNU   (threads)\n' "$threads" "$(awk -v a="$gnu" -v b="$threads" 'BEGIN { print a / b }')"
