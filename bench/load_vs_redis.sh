#!/usr/bin/env bash
# `pizzeria load` against redis-benchmark, side by side in one run: both drive
# the same redis-server on a free loopback port with inline PING requests
# (redis-benchmark -t ping_inline; pizzeria load --request 'PING\r\n'
# --expect +PONG), at the same connection counts and the same number of
# requests, and the script prints each one's requests per second and the
# ratio. A ratio >= 1.0 means the generator is not what limits the measurement.
#
# Fairness: redis-benchmark runs one thread (its default); pizzeria load runs
# with --threads 1 for the headline ratio, and once more with --threads 2 for
# information. Each pair runs ROUNDS times, alternating which goes first, and
# the best of each is kept (the machine is shared; the best is the least
# disturbed).
#
# Usage: bench/load_vs_redis.sh            (builds build/release if needed)
#   PIZZERIA_BIN=path/to/pizzeria  REQUESTS=100000  ROUNDS=2  CONNECTIONS="50 1000"
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh redis-server redis-tools

if [[ -z "${PIZZERIA_BIN:-}" ]]; then
  cmake --preset release >/dev/null
  cmake --build --preset release --target pizzeria >/dev/null
  PIZZERIA_BIN=build/release/pizzeria
fi
REQUESTS=${REQUESTS:-100000}
ROUNDS=${ROUNDS:-2}
CONNECTIONS=${CONNECTIONS:-"50 1000"}

ulimit -n "$(ulimit -Hn)"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
workdir=$(mktemp -d)
redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --maxclients 10000 \
  --daemonize no --loglevel warning --dir "$workdir" >"$workdir/redis.log" 2>&1 &
redis_pid=$!
cleanup() {
  kill "$redis_pid" 2>/dev/null || true
  wait "$redis_pid" 2>/dev/null || true
  rm -rf "$workdir"
}
trap cleanup EXIT

for _ in $(seq 100); do
  if [[ "$(redis-cli -p "$port" ping 2>/dev/null)" == PONG ]]; then
    break
  fi
  sleep 0.05
done
if [[ "$(redis-cli -p "$port" ping 2>/dev/null)" != PONG ]]; then
  echo "load_vs_redis: redis-server did not answer on port $port:" >&2
  cat "$workdir/redis.log" >&2
  exit 1
fi

# Each run prints "requests-per-second cpu-microseconds-per-request"; the CPU
# time (user + system, from bash's `time`) is the generator's own cost, which
# the machine's other load disturbs far less than throughput.
TIMEFORMAT='%U %S'

cpu_per_request() {  # file written by `time`
  awk -v n="$REQUESTS" '{ printf "%.2f", ($1 + $2) / n * 1e6 }' "$1"
}

redis_run() {  # connections
  # --csv prints "test","rps",...; the second field is requests per second.
  { time redis-benchmark -h 127.0.0.1 -p "$port" -t ping_inline -c "$1" -n "$REQUESTS" --csv -q \
      >"$workdir/redis.csv" 2>/dev/null; } 2>"$workdir/time"
  echo "$(awk -F'","' '/PING_INLINE/ { print $2 + 0 }' "$workdir/redis.csv") $(cpu_per_request "$workdir/time")"
}

pizzeria_run() {  # connections threads
  local json="$workdir/load.json"
  { time "$PIZZERIA_BIN" load "127.0.0.1:$port" --request 'PING\r\n' --expect +PONG \
      --connections "$1" --threads "$2" --requests "$REQUESTS" --json "$json" >/dev/null; } \
    2>"$workdir/time"
  echo "$(python3 -c 'import json, sys; print(round(json.load(open(sys.argv[1]))["replies_per_second"]))' "$json") $(cpu_per_request "$workdir/time")"
}

# The best of several runs: the highest throughput and the lowest CPU cost.
best_rps() { printf '%s\n' "$@" | awk '{ print $1 }' | sort -g | tail -1; }
best_cpu() { printf '%s\n' "$@" | awk '{ print $2 }' | sort -g | head -1; }

echo "load_vs_redis: redis-server $(redis-server --version | grep -o 'v=[^ ]*') on 127.0.0.1:$port," \
  "$REQUESTS PING_INLINE requests per run, best of $ROUNDS, $(nproc) cores"
printf '%-12s %16s %22s %8s %22s %8s   %s\n' connections redis-benchmark "pizzeria load (-t 1)" ratio \
  "pizzeria load (-t 2)" ratio "CPU us/request: redis-benchmark, pizzeria -t 1"
for connections in $CONNECTIONS; do
  redis_runs=()
  load1_runs=()
  load2_runs=()
  for round in $(seq "$ROUNDS"); do
    if ((round % 2 == 1)); then
      redis_runs+=("$(redis_run "$connections")")
      load1_runs+=("$(pizzeria_run "$connections" 1)")
    else
      load1_runs+=("$(pizzeria_run "$connections" 1)")
      redis_runs+=("$(redis_run "$connections")")
    fi
    load2_runs+=("$(pizzeria_run "$connections" 2)")
  done
  awk -v c="$connections" -v r="$(best_rps "${redis_runs[@]}")" \
    -v a="$(best_rps "${load1_runs[@]}")" -v b="$(best_rps "${load2_runs[@]}")" \
    -v rc="$(best_cpu "${redis_runs[@]}")" -v ac="$(best_cpu "${load1_runs[@]}")" \
    'BEGIN { printf "%-12s %16.0f %22.0f %7.2fx %22.0f %7.2fx   %.2f, %.2f\n", c, r, a, a / r, b, b / r, rc, ac }'
done
