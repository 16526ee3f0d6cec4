#!/usr/bin/env bash
# Installs what is missing, builds pizzeria (release) and runs the pizza
# service. Arguments go to `pizzeria serve` (try --help). Ctrl-C stops it
# gracefully.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}" CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"
cmake --preset release >/dev/null
cmake --build --preset release --target pizzeria
exec build/release/pizzeria serve "$@"
