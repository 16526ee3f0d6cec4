#!/usr/bin/env bash
# Builds pizzeria and the Boost.Asio peer (release) and runs the server
# benchmark: every model side by side with asio under `pizzeria load`.
# Arguments go to bench/server_bench.py (try --help; --quick for a short run).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target pizzeria asio_pizza_server
exec python3 bench/server_bench.py --build-dir build/release "$@"
