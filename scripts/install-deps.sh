#!/usr/bin/env bash
# Installs the Debian 12 packages pizzeria needs to build and test, and
# nothing when they are all present already (so repeated runs cost nothing).
# Usage: scripts/install-deps.sh [extra-package ...]
set -euo pipefail

packages=(
  # toolchain
  g++ clang-14 clang libclang-rt-14-dev cmake ninja-build pkg-config ccache git
  # libraries
  libgtest-dev libgmock-dev googletest libbenchmark-dev libasio-dev libcli11-dev libfmt-dev
  nlohmann-json3-dev liburing-dev libtbb-dev libhiredis-dev libsystemd-dev
  # packaging: dpkg-shlibdeps for the .deb (scripts/check-install.sh), man pages
  dpkg-dev help2man
  # test peers: Python clients, dig for the DNS responder, GNU factor (coreutils),
  # Redis for the kitchen queue
  python3 bind9-dnsutils coreutils procps redis-server
  # headless browser for the HTML report tests
  chromium
  "$@"
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing packages: ${missing[*]}; run as root (or install them) first" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
