#!/usr/bin/env bash
# What the kitchen costs: `pizzeria serve` with and without --kitchen, and
# the kitchen's Redis on its own, in one run.
#
#   plain     pizzeria serve (coro, 1 shard) under pizzeria load -c 50 -p 16
#   kitchen   the same with --kitchen: every valid order is an XADD that Redis
#             confirms before the reply
#   peer      redis-benchmark -c 50 -P 16 driving the same XADD straight at
#             that Redis: the engine's own ceiling for this command
#
# for Redis with no persistence and with appendonly yes + appendfsync always
# (each confirmed order on disk before its reply). Reported: requests per
# second, medians of ROUNDS rounds (alternating the three), and the ratios
# kitchen/plain and kitchen/peer. On 2 cores, server, Redis and load
# generator share the machine, so the ratios say more than the rates.
#
# Usage: bench/kitchen_bench.sh [path/to/pizzeria]    ROUNDS=3 SECONDS_PER_RUN=4
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh redis-server redis-tools >/dev/null

pizzeria=${1:-build/release/pizzeria}
rounds=${ROUNDS:-3}
seconds=${SECONDS_PER_RUN:-4}
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# wait_for_line FILE TEXT: up to 10 s.
wait_for_line() {
  for ((i = 0; i < 100; ++i)); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "kitchen_bench: '$2' never appeared in $1" >&2
  exit 1
}

# load PORT: pizzeria load's replies per second (every reply must thank).
load() {
  "$pizzeria" load "127.0.0.1:$1" -c 50 -p 16 -d "${seconds}s" --warmup 1s --expect Thank \
    --json "$work/load.json" >/dev/null
  python3 -c 'import json, sys; print(round(json.load(open(sys.argv[1]))["replies_per_second"]))' \
    "$work/load.json"
}

# peer REDIS_PORT: redis-benchmark's XADD requests per second.
peer() {
  redis-benchmark -p "$1" -c 50 -P 16 -n $((200000 * seconds)) -q --csv \
    XADD bench:orders '*' pizzas 3 | tail -1 | cut -d, -f2 | tr -d '"' | cut -d. -f1
}

for persistence in none always; do
  redis_port=$(free_port)
  mkdir -p "$work/$persistence"
  if [[ $persistence == always ]]; then
    durability=(--appendonly yes --appendfsync always)
  else
    durability=(--appendonly no)
  fi
  redis-server --bind 127.0.0.1 --port "$redis_port" --save '' "${durability[@]}" \
    --dir "$work/$persistence" --daemonize no >"$work/redis-$persistence.log" 2>&1 &
  pids+=($!)
  wait_for_line "$work/redis-$persistence.log" "Ready to accept connections"
  plain_port=$(free_port)
  "$pizzeria" serve --port "$plain_port" --workers 1 >"$work/plain.log" 2>&1 &
  pids+=($!)
  kitchen_port=$(free_port)
  "$pizzeria" serve --port "$kitchen_port" --workers 1 --kitchen "$redis_port" \
    >"$work/kitchen.log" 2>&1 &
  pids+=($!)
  wait_for_line "$work/plain.log" "listening"
  wait_for_line "$work/kitchen.log" "kitchen at"
  : >"$work/plain.r"; : >"$work/kitchen.r"; : >"$work/peer.r"
  printf 'Redis persistence: %s\n  %-6s %12s %12s %12s\n' "$persistence" round plain kitchen peer
  for ((round = 1; round <= rounds; ++round)); do
    a=$(load "$plain_port"); echo "$a" >>"$work/plain.r"
    b=$(load "$kitchen_port"); echo "$b" >>"$work/kitchen.r"
    c=$(peer "$redis_port"); echo "$c" >>"$work/peer.r"
    redis-cli -p "$redis_port" DEL bench:orders pizzeria:orders >/dev/null
    printf '  %-6d %12d %12d %12d\n' "$round" "$a" "$b" "$c"
  done
  plain=$(median <"$work/plain.r"); kitchen=$(median <"$work/kitchen.r"); peer_rate=$(median <"$work/peer.r")
  printf '  median %12.0f %12.0f %12.0f   kitchen/plain %.2fx, kitchen/peer %.2fx\n' \
    "$plain" "$kitchen" "$peer_rate" \
    "$(awk -v a="$kitchen" -v b="$plain" 'BEGIN { print a / b }')" \
    "$(awk -v a="$kitchen" -v b="$peer_rate" 'BEGIN { print a / b }')"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  pids=()
done
