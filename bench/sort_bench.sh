#!/usr/bin/env bash
# Benchmark: `pizzeria sort-server` against the seed's server written in
# Python (asyncio streams, sorting in a ProcessPoolExecutor with Python's
# sorted), requests per second with many concurrent clients (seed 002,
# sections 0.14-0.15). Both servers get 2 worker processes and the same load:
# CLIENTS concurrent connections in each of LOADERS client processes, each
# connection sending one list of COUNT numbers below 10,000 and reading the
# sorted reply, repeatedly, for SECONDS_PER_RUN. Replies are checked.
# COUNT defaults to the seed client's 10,000 numbers (`remote_sort` sends
# `[random.randrange(10000) for r in range(10000)]`); COUNT=1000 makes each
# request mostly connection set-up, which the loader's core then limits.
#
# The servers alternate for ROUNDS rounds (the machine is shared, so one
# round says little) and the medians are reported. Besides requests/s, the
# CPU time each side used per request is reported (server = its process and
# its worker processes, from /proc; loader = the load processes): on a small
# machine the loader shares the cores with the server, so requests/s alone
# understates the difference between the servers, and the CPU per request
# shows what each server costs.
#
# ISOLATE=1 pins each server (with its worker processes, which inherit the
# affinity) to CPU 0 and the loaders to CPU 1, so that the loader cannot take
# CPU from the server: each server then has one core, and its requests/s is
# its capacity on that core as long as the loader's core keeps up.
#
# Usage: bench/sort_bench.sh [path/to/pizzeria]   (default: build/release/pizzeria)
set -euo pipefail

pizzeria=${1:-build/release/pizzeria}
clients=${CLIENTS:-50}
loaders=${LOADERS:-2}
count=${COUNT:-10000}
seconds=${SECONDS_PER_RUN:-4}
rounds=${ROUNDS:-3}
server_cpu=()
loader_cpu=()
if [[ ${ISOLATE:-0} == 1 ]]; then
  server_cpu=(taskset -c 0)
  loader_cpu=(taskset -c 1)
fi
work=$(mktemp -d)
pids=()
cleanup() {
  # The servers' workers first: ProcessPoolExecutor's workers outlive a
  # killed parent.
  for pid in "${pids[@]}"; do
    kill $(pgrep -P "$pid") "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

cat >"$work/server.py" <<'PY'
import asyncio, json, sys
from concurrent.futures import ProcessPoolExecutor

def sort_list(data):
    return json.dumps(sorted(json.loads(data))).encode()

async def handle(reader, writer, pool):
    try:
        size = int.from_bytes(await reader.readexactly(8), "big")
        data = await reader.readexactly(size)
        reply = await asyncio.get_running_loop().run_in_executor(pool, sort_list, data)
        writer.write(reply)
        await writer.drain()
    finally:
        writer.close()

async def main(port):
    with ProcessPoolExecutor(2) as pool:
        server = await asyncio.start_server(lambda r, w: handle(r, w, pool), "127.0.0.1", port)
        print("listening", flush=True)
        async with server:
            await server.serve_forever()

asyncio.run(main(int(sys.argv[1])))
PY

cat >"$work/load.py" <<'PY'
import asyncio, json, random, sys, time

async def one(port, data, expected, deadline, done):
    while time.monotonic() < deadline:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(len(data).to_bytes(8, "big") + data)
        reply = await reader.readexactly(len(data))
        assert reply == expected
        writer.close()
        done[0] += 1

async def main(port, clients, count, seconds):
    numbers = [random.randrange(10000) for _ in range(count)]
    data = json.dumps(numbers).encode()
    expected = json.dumps(sorted(numbers)).encode()
    done = [0]
    deadline = time.monotonic() + seconds
    await asyncio.gather(*(one(port, data, expected, deadline, done) for _ in range(clients)))
    print(done[0])

asyncio.run(main(*map(int, sys.argv[1:])))
PY

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# cpu_ticks PID...: user+system clock ticks used so far by these processes.
cpu_ticks() {
  local total=0 pid fields
  for pid in "$@"; do
    if fields=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null); then
      set -- $fields
      total=$((total + ${12} + ${13}))
    fi
  done
  echo "$total"
}

# measure SERVER_PID PORT: runs the loaders against PORT; prints
# "requests/s server-us/request loader-us/request".
# LOAD_CLIENT=python uses the Python loader (then the loader, not the server,
# tends to be the limit); the default is `pizzeria sort-client --connections`.
measure() {
  local server=$1 port=$2 total=0 outputs=() workers before after loader_us
  workers=$(pgrep -P "$server" | tr '\n' ' ' || true)
  before=$(cpu_ticks "$server" $workers)
  for ((i = 0; i < loaders; ++i)); do
    if [[ ${LOAD_CLIENT:-native} == python ]]; then
      /usr/bin/time -f "%U %S" -o "$work/time.$i" \
        "${loader_cpu[@]}" python3 "$work/load.py" "$port" "$clients" "$count" "$seconds" \
        >"$work/load.$i" &
    else
      /usr/bin/time -f "%U %S" -o "$work/time.$i" \
        "${loader_cpu[@]}" "$pizzeria" sort-client --port "$port" --connections "$clients" \
        --count "$count" \
        --duration "$seconds" >"$work/load.$i" &
    fi
    outputs+=($!)
  done
  for pid in "${outputs[@]}"; do wait "$pid"; done
  after=$(cpu_ticks "$server" $workers)
  for ((i = 0; i < loaders; ++i)); do total=$((total + $(cat "$work/load.$i"))); done
  loader_us=$(cat "$work"/time.* | awk '{ s += $1 + $2 } END { print s * 1e6 }')
  awk -v n="$total" -v s="$seconds" -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" \
    -v l="$loader_us" 'BEGIN { printf "%.0f %.1f %.1f\n", n / s, t * 1e6 / hz / n, l / n }'
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

ours_port=$(free_port)
"${server_cpu[@]}" "$pizzeria" sort-server --port "$ours_port" --workers 2 \
  >"$work/ours.out" 2>"$work/ours.err" &
ours_pid=$!
pids+=($ours_pid)
python_port=$(free_port)
"${server_cpu[@]}" python3 "$work/server.py" "$python_port" \
  >"$work/python.out" 2>"$work/python.err" &
python_pid=$!
pids+=($python_pid)
for file in ours.out python.out; do
  for ((i = 0; i < 100; ++i)); do [[ -s $work/$file ]] && break; sleep 0.1; done
done
# One request each first: Python's ProcessPoolExecutor starts its workers on
# the first task, and their start-up is not what is measured.
"$pizzeria" sort-client --port "$ours_port" --count 10 >/dev/null
"$pizzeria" sort-client --port "$python_port" --count 10 >/dev/null

printf 'sort-server: %d %s loaders x %d connections, lists of %d numbers, %d s per run, %d rounds%s\n' \
  "$loaders" "${LOAD_CLIENT:-native}" "$clients" "$count" "$seconds" "$rounds" \
  "$([[ ${ISOLATE:-0} == 1 ]] && echo ', servers on CPU 0, loaders on CPU 1')"
printf '  %-7s %-8s %12s %16s %16s\n' round server requests/s server-us/req loader-us/req
: >"$work/python.results"
: >"$work/ours.results"
for ((round = 1; round <= rounds; ++round)); do
  read -r rate cpu load < <(measure "$python_pid" "$python_port")
  echo "$rate $cpu $load" >>"$work/python.results"
  printf '  %-7d %-8s %12d %16.1f %16.1f\n' "$round" python "$rate" "$cpu" "$load"
  read -r rate cpu load < <(measure "$ours_pid" "$ours_port")
  echo "$rate $cpu $load" >>"$work/ours.results"
  printf '  %-7d %-8s %12d %16.1f %16.1f\n' "$round" pizzeria "$rate" "$cpu" "$load"
done
python_rate=$(cut -d' ' -f1 "$work/python.results" | median)
ours_rate=$(cut -d' ' -f1 "$work/ours.results" | median)
python_cpu=$(cut -d' ' -f2 "$work/python.results" | median)
ours_cpu=$(cut -d' ' -f2 "$work/ours.results" | median)
printf 'medians:\n'
printf '  Python asyncio + ProcessPoolExecutor  %8.0f requests/s  %7.1f server CPU us/request\n' \
  "$python_rate" "$python_cpu"
printf '  pizzeria sort-server                  %8.0f requests/s  %7.1f server CPU us/request\n' \
  "$ours_rate" "$ours_cpu"
printf '  ratio: %.1fx requests/s, %.1fx less server CPU per request\n' \
  "$(awk -v a="$ours_rate" -v b="$python_rate" 'BEGIN { print a / b }')" \
  "$(awk -v a="$python_cpu" -v b="$ours_cpu" 'BEGIN { print a / b }')"
