#!/bin/sh
# pz::ProcessPool.map vs Python's multiprocessing.Pool.map on the seed's
# prime_factor workload (seed 002 section 0.5, fixed): same inputs, same
# algorithm, 2 workers each, warm pools, best of 3 runs each.
#
# Usage: bench/process_pool_vs_python.sh [BUILD_DIR]   (default build/release)
# Environment: PZ_PRIME_COUNT (default 20000) values to factor.
set -eu
here=$(dirname "$0")
build=${1:-build/release}
count=${PZ_PRIME_COUNT:-20000}
bench="$build/bench/bench_process_pool"
[ -x "$bench" ] || { echo "missing $bench: build with -DPZ_BUILD_BENCH=ON" >&2; exit 1; }

cpp_json=$(PZ_PRIME_COUNT=$count "$bench" --benchmark_filter=MapPrimeFactor \
  --benchmark_repetitions=3 --benchmark_format=json 2>/dev/null)
python_line=$(python3 "$here/prime_factor_pool.py" "$count" 3)

CPP_JSON="$cpp_json" PYTHON_LINE="$python_line" COUNT="$count" python3 - <<'PY'
import json, os
runs = [b for b in json.loads(os.environ["CPP_JSON"])["benchmarks"]
        if b.get("run_type") == "iteration"]
cpp_rate = max(b["items_per_second"] for b in runs)
cpp_checksum = int(runs[-1]["checksum"])
fields = dict(f.split("=") for f in os.environ["PYTHON_LINE"].split())
py_rate = float(fields["items_per_second"])
py_checksum = int(fields["checksum"])
print(f"values: {os.environ['COUNT']}")
print(f"pz::ProcessPool.map         {cpp_rate:12.0f} values/s  checksum {cpp_checksum}")
print(f"multiprocessing.Pool.map    {py_rate:12.0f} values/s  checksum {py_checksum}")
if cpp_checksum != py_checksum:
    raise SystemExit("checksums differ: the two sides did not compute the same factors")
print(f"ratio: {cpp_rate / py_rate:.1f}x")
PY
