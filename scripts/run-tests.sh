#!/usr/bin/env bash
# Installs what is missing, then builds and runs the whole test suite three
# times: release (g++), ASan+UBSan (clang, with the fuzz targets) and TSan
# (g++). Ends with one line: "N passed, N failed".
# Usage: scripts/run-tests.sh [preset ...]   (default: release asan tsan)
set -uo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh || exit 1

presets=("$@")
if ((${#presets[@]} == 0)); then
  presets=(release asan tsan)
fi

# Sanitizer settings for every test process. halt_on_error makes a report a
# failure of its test, not a line lost in a log.
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=1:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1"
jobs=$(nproc)

# ccache: paths relative to the checkout, so a fresh clone elsewhere (CI)
# still hits the cache a previous build on this machine filled.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}"
export CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"

total_passed=0
total_failed=0
status=0

# Lower layers never include higher ones (docs/design.md, "Layers").
echo "=== layers"
if ! scripts/check-layers.py .; then
  echo "=== layers: FAILED"
  status=1
  total_failed=$((total_failed + 1))
fi
for preset in "${presets[@]}"; do
  echo "=== ${preset}: configure and build"
  if ! cmake --preset "$preset" >/dev/null || ! cmake --build --preset "$preset" -j "$jobs"; then
    echo "=== ${preset}: BUILD FAILED"
    status=1
    total_failed=$((total_failed + 1))
    continue
  fi
  echo "=== ${preset}: test"
  log=$(mktemp)
  ctest --preset "$preset" -j "$jobs" 2>&1 | tee "$log"
  summary=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests failed out of [0-9]+' "$log" | tail -1)
  rm -f "$log"
  if [[ -z "$summary" ]]; then
    echo "=== ${preset}: no test summary from ctest"
    status=1
    total_failed=$((total_failed + 1))
    continue
  fi
  failed=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+)/\1/' <<<"$summary")
  all=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+)/\2/' <<<"$summary")
  passed=$((all - failed))
  echo "=== ${preset}: ${passed} passed, ${failed} failed"
  total_passed=$((total_passed + passed))
  total_failed=$((total_failed + failed))
  ((failed == 0)) || status=1
done

echo "${total_passed} passed, ${total_failed} failed"
exit "$status"
