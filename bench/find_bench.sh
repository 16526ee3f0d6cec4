#!/usr/bin/env bash
# Benchmark: `pizzeria find` against fd (Debian fd-find, `fdfind`) and GNU
# find, searching /usr for a substring (seed 002, section 0.8). All three are
# asked the same question and must print the same set of paths.
#
# Timing: hyperfine -N (no shell), warm dentry cache (--warmup), output to
# /dev/null. The machine this runs on is shared, so a single best-of-N is
# mostly luck: the runs are split into ROUNDS hyperfine calls of RUNS runs
# each, the order of the three programs reversed every other round so a
# change of load hits them alike, and the report gives the median over all
# runs of each program (min and CPU time beside it) and ratios of medians.
#
# Usage: bench/find_bench.sh [path/to/pizzeria] [root] [pattern]
#        (defaults: build/release/pizzeria /usr .py)
# Environment: ROUNDS (default 4), RUNS per round (default 5),
#              THREADS (pizzeria and fd threads, default nproc).
set -euo pipefail

cd "$(dirname "$0")/.."
scripts/install-deps.sh fd-find hyperfine

pizzeria=${1:-build/release/pizzeria}
root=${2:-/usr}
pattern=${3:-.py}
rounds=${ROUNDS:-4}
runs=${RUNS:-5}
threads=${THREADS:-$(nproc)}
if [[ ! -x $pizzeria ]]; then
  echo "find_bench: $pizzeria is not an executable; build the release tree first" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# fd skips hidden and .gitignored entries by default; -HI makes it look at
# everything, like find. --full-path matches the pattern against the whole
# path; -F takes it literally. fd prints paths without ROOT's trailing slash
# and does not print ROOT itself, which never contains the pattern here.
find_command="find $root -path *$pattern*"
ours_command="$pizzeria find --threads $threads $root $pattern"
fd_command="fdfind -HI --full-path -F --threads $threads $pattern $root"

find "$root" -path "*$pattern*" 2>/dev/null | sort >"$work/find" || true
"$pizzeria" find --threads "$threads" "$root" "$pattern" 2>/dev/null | sort >"$work/ours" || true
fdfind -HI --full-path -F --threads "$threads" "$pattern" "$root" 2>/dev/null | sort >"$work/fd" || true
cmp -s "$work/find" "$work/ours" || { echo "find_bench: pizzeria find and find disagree" >&2; exit 1; }
if ! cmp -s "$work/find" "$work/fd"; then
  echo "find_bench: note: fd printed $(wc -l <"$work/fd") paths, find $(wc -l <"$work/find")" >&2
fi

# hyperfine -N splits each command on spaces, so the paths must have none.
for word in "$root" "$pattern" "$pizzeria"; do
  if [[ $word == *" "* ]]; then
    echo "find_bench: '$word' contains a space, which hyperfine -N cannot pass" >&2
    exit 1
  fi
done

for ((round = 0; round < rounds; ++round)); do
  if ((round % 2 == 0)); then
    order=("$find_command" "$fd_command" "$ours_command")
  else
    order=("$ours_command" "$fd_command" "$find_command")
  fi
  # Exit codes are ignored: find and fd report unreadable entries under /usr
  # when not run as root, and that is no reason to stop timing.
  hyperfine -N -i --style none --warmup 3 --runs "$runs" \
    --export-json "$work/round$round.json" "${order[@]}" >/dev/null 2>"$work/hyperfine.err" ||
    { cat "$work/hyperfine.err" >&2; exit 1; }
done

printf 'find %s for "%s": %d paths, %d threads, warm cache, %d rounds x %d runs\n' \
  "$root" "$pattern" "$(wc -l <"$work/find")" "$threads" "$rounds" "$runs"
python3 - "$work" "$find_command" "$fd_command" "$ours_command" <<'EOF'
import glob, json, statistics, sys

work, find_command, fd_command, ours_command = sys.argv[1:]
times, cpu = {}, {}
for name in sorted(glob.glob(work + "/round*.json")):
    for result in json.load(open(name))["results"]:
        times.setdefault(result["command"], []).extend(result["times"])
        # hyperfine reports mean user and system time per command and round.
        cpu.setdefault(result["command"], []).append(result["user"] + result["system"])
median = {command: statistics.median(values) for command, values in times.items()}
for label, command in (("GNU find", find_command), ("fdfind", fd_command),
                       ("pizzeria find", ours_command)):
    line = "  %-14s %7.3f s median (min %.3f s, CPU %.3f s, %d runs)" % (
        label, median[command], min(times[command]),
        statistics.median(cpu[command]), len(times[command]))
    if command == ours_command:
        line += "   %.2fx find, %.2fx fd" % (median[find_command] / median[command],
                                            median[fd_command] / median[command])
    print(line)
EOF
