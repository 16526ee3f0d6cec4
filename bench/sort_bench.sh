#!/usr/bin/env bash
# Benchmark: `pizzeria sort-server` against the seed's server written in
# Python (asyncio streams, sorting in a ProcessPoolExecutor with Python's
# sorted), requests per second with many concurrent clients (seed 002,
# sections 0.14-0.15). Both servers get 2 worker processes and the same load:
# CLIENTS concurrent connections in each of LOADERS client processes, each
# connection sending one list of COUNT numbers below 10,000 and reading the
# sorted reply, repeatedly, for SECONDS. Replies are checked.
#
# Usage: bench/sort_bench.sh [path/to/pizzeria]   (default: build/release/pizzeria)
set -euo pipefail

pizzeria=${1:-build/release/pizzeria}
clients=${CLIENTS:-50}
loaders=${LOADERS:-2}
count=${COUNT:-1000}
seconds=${SECONDS_PER_RUN:-5}
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
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

# requests_per_second PORT: runs the loaders against PORT, prints requests/s.
# LOAD_CLIENT=python uses the Python loader (then the loader, not the server,
# tends to be the limit); the default is `pizzeria sort-client --connections`.
requests_per_second() {
  local port=$1 total=0 outputs=()
  for ((i = 0; i < loaders; ++i)); do
    if [[ ${LOAD_CLIENT:-native} == python ]]; then
      python3 "$work/load.py" "$port" "$clients" "$count" "$seconds" >"$work/load.$i" &
    else
      "$pizzeria" sort-client --port "$port" --connections "$clients" --count "$count" \
        --duration "$seconds" >"$work/load.$i" &
    fi
    outputs+=($!)
  done
  for pid in "${outputs[@]}"; do wait "$pid"; done
  for ((i = 0; i < loaders; ++i)); do total=$((total + $(cat "$work/load.$i"))); done
  awk -v n="$total" -v s="$seconds" 'BEGIN { printf "%.0f", n / s }'
}

ours_port=$(free_port)
"$pizzeria" sort-server --port "$ours_port" --workers 2 >"$work/ours.out" 2>"$work/ours.err" &
pids+=($!)
python_port=$(free_port)
python3 "$work/server.py" "$python_port" >"$work/python.out" 2>"$work/python.err" &
pids+=($!)
for file in ours.out python.out; do
  for ((i = 0; i < 100; ++i)); do [[ -s $work/$file ]] && break; sleep 0.1; done
done

ours=$(requests_per_second "$ours_port")
python=$(requests_per_second "$python_port")
printf 'sort-server: %d %s loaders x %d connections, lists of %d numbers, %d s each\n' \
  "$loaders" "${LOAD_CLIENT:-native}" "$clients" "$count" "$seconds"
printf '  Python asyncio + ProcessPoolExecutor  %8d requests/s\n' "$python"
printf '  pizzeria sort-server                  %8d requests/s   %.1fx\n' "$ours" \
  "$(awk -v a="$ours" -v b="$python" 'BEGIN { print a / b }')"
