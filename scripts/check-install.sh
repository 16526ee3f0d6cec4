#!/usr/bin/env bash
# Checks pizzeria as a user gets it, from a built release tree:
#   1. `cmake --install` into a temporary prefix: the files a user needs are
#      there, and every header the installed headers include is installed;
#   2. the consumer of examples/consumer, copied outside the source tree, is
#      built against that prefix twice (find_package, then pkg-config) and
#      each build orders pizzas from the installed `pizzeria serve`;
#   3. find_package(pizzeria COMPONENTS coro) loads core and coro only,
#      without looking for the other layers' libraries;
#   4. `cpack -G DEB` builds pizzeria and libpizzeria-dev; their contents are
#      checked with dpkg-deb -c, then both are installed and removed with
#      dpkg in a throwaway root, which must hold no file afterwards.
#      PZ_CHECK_INSTALL_SYSTEM=1 also installs and removes them on this
#      machine (as root), checking the same.
# Usage: scripts/check-install.sh BUILD_DIR   (CTest runs it as install.package)
set -euo pipefail

if (($# != 1)); then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
source=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/pz-check-install-XXXXXX)
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "check-install: FAILED: $*" >&2
  exit 1
}
step() { echo "=== $*"; }

version=$(sed -n 's/^Version: //p' "$build/pkgconfig/pizzeria.pc")
[[ -n "$version" ]] || fail "no version in $build/pkgconfig/pizzeria.pc (configure the tree first)"

step "install into a temporary prefix"
prefix="$work/prefix"
cmake --install "$build" --prefix "$prefix" >"$work/install.log" ||
  fail "cmake --install: $(tail -5 "$work/install.log")"
for file in bin/pizzeria lib/cmake/pizzeria/pizzeriaConfig.cmake \
  lib/cmake/pizzeria/pizzeriaConfigVersion.cmake lib/pkgconfig/pizzeria.pc \
  lib/pkgconfig/pizzeria-core.pc lib/libpizzeria-core.a include/pizzeria/core/version.hpp \
  include/pizzeria/coro/task_group.hpp include/pizzeria/net/open_connection.hpp \
  share/doc/libpizzeria-dev/copyright share/doc/libpizzeria-dev/examples/consumer/CMakeLists.txt \
  share/doc/pizzeria/copyright; do
  [[ -e "$prefix/$file" ]] || fail "not installed: $file"
done
# Every "pizzeria/..." include of an installed header is installed too: a
# public header that reached into src/ would break every user.
while read -r header; do
  while read -r included; do
    [[ -e "$prefix/include/$included" ]] ||
      fail "${header#"$prefix/"} includes $included, which is not installed"
  done < <(sed -n 's/^#include "\(pizzeria\/[^"]*\)".*/\1/p' "$header")
  if grep -q '^#include "[^p]' "$header"; then
    fail "${header#"$prefix/"} includes a header outside pizzeria/: $(grep '^#include "[^p]' "$header")"
  fi
done < <(find "$prefix/include" -name '*.hpp')
shown=$("$prefix/bin/pizzeria" version)
[[ "$shown" == "pizzeria $version" ]] || fail "pizzeria version says '$shown', the package $version"

step "start the installed pizzeria serve on a free port"
"$prefix/bin/pizzeria" serve --port 0 >"$work/serve.log" 2>&1 &
server_pid=$!
port=""
for _ in $(seq 1 600); do
  port=$(sed -n 's/^Starting up at: 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$work/serve.log")
  [[ -n "$port" ]] && break
  kill -0 "$server_pid" 2>/dev/null || fail "pizzeria serve exited: $(cat "$work/serve.log")"
  sleep 0.1
done
[[ -n "$port" ]] || fail "pizzeria serve printed no port: $(cat "$work/serve.log")"

expected="Thank you for ordering 1 pizzas!
Thank you for ordering 12 pizzas!
Wrong number of pizzas, please try again
Thank you for ordering 3 pizzas!"
check_orders() {
  local program=$1 got
  got=$("$program" 127.0.0.1 "$port" 1 12 0 3) || fail "$program failed"
  [[ "$got" == "$expected" ]] || fail "$program printed:
$got
instead of:
$expected"
}

# The consumer is built from a copy, so nothing of the source tree is near.
cp -r "$source/examples/consumer" "$work/consumer"

step "consumer with find_package(pizzeria CONFIG REQUIRED)"
cmake -S "$work/consumer" -B "$work/consumer/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" >"$work/consumer-cmake.log" 2>&1 ||
  fail "consumer configure: $(cat "$work/consumer-cmake.log")"
if grep -qi "warning" "$work/consumer-cmake.log"; then
  fail "consumer configure warned: $(cat "$work/consumer-cmake.log")"
fi
cmake --build "$work/consumer/build" >"$work/consumer-build.log" 2>&1 ||
  fail "consumer build: $(cat "$work/consumer-build.log")"
check_orders "$work/consumer/build/order_pizzas"

step "consumer with pkg-config --cflags --libs pizzeria"
flags=$(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs pizzeria) ||
  fail "pkg-config found no pizzeria in $prefix/lib/pkgconfig"
# shellcheck disable=SC2086 # the flags are words
g++ -std=c++20 -O1 "$work/consumer/order_pizzas.cpp" -o "$work/order_pizzas_pc" $flags ||
  fail "consumer build with: $flags"
check_orders "$work/order_pizzas_pc"

kill -INT "$server_pid"
wait "$server_pid" || fail "pizzeria serve exited with $? after SIGINT: $(cat "$work/serve.log")"
server_pid=""
grep -q '^Server stopped\.$' "$work/serve.log" || fail "no 'Server stopped.': $(cat "$work/serve.log")"

step "find_package(pizzeria COMPONENTS coro) needs only core and coro"
mkdir "$work/coro-only"
cat >"$work/coro-only/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.16)
project(coro_only LANGUAGES CXX)
find_package(pizzeria CONFIG REQUIRED COMPONENTS coro)
foreach(target pizzeria::core pizzeria::coro)
  if(NOT TARGET ${target})
    message(FATAL_ERROR "missing ${target}")
  endif()
endforeach()
foreach(target pizzeria::net pizzeria::pizzeria PkgConfig::HIREDIS PkgConfig::LIBURING fmt::fmt)
  if(TARGET ${target})
    message(FATAL_ERROR "${target} was loaded for a coro-only user")
  endif()
endforeach()
EOF
cmake -S "$work/coro-only" -B "$work/coro-only/build" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" \
  >"$work/coro-only.log" 2>&1 || fail "coro-only configure: $(cat "$work/coro-only.log")"

step "add_subdirectory: libraries only, without warnings (configure)"
mkdir "$work/parent"
cat >"$work/parent/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.16)
project(parent LANGUAGES CXX)
add_subdirectory("${PIZZERIA_SOURCE}" pizzeria)
foreach(target pizzeria::core pizzeria::coro)
  if(NOT TARGET ${target})
    message(FATAL_ERROR "add_subdirectory gave no ${target}")
  endif()
endforeach()
set(unasked pizzeria pz_core_tests example_task_group)
if(PIZZERIA_LAYERS STREQUAL "core;coro")
  list(APPEND unasked pizzeria::net pizzeria::service)
endif()
foreach(target IN LISTS unasked)
  if(TARGET ${target})
    message(FATAL_ERROR "the subproject made ${target} unasked")
  endif()
endforeach()
EOF
for layers in "all" "core;coro"; do
  rm -rf "$work/parent/build"
  cmake -S "$work/parent" -B "$work/parent/build" -G Ninja -DPIZZERIA_SOURCE="$source" \
    -DPIZZERIA_LAYERS="$layers" >"$work/parent.log" 2>&1 ||
    fail "add_subdirectory (layers $layers): $(cat "$work/parent.log")"
  if grep -qi "warning" "$work/parent.log"; then
    fail "add_subdirectory (layers $layers) warned: $(cat "$work/parent.log")"
  fi
done
# The last run, core;coro, must not have looked for the other layers' libraries.
if grep -qiE "^(fmt|CLI11|nlohmann_json)_DIR|HIREDIS|LIBURING|LIBSYSTEMD" "$work/parent/build/CMakeCache.txt"; then
  fail "a core;coro subproject looked for other layers' libraries"
fi

step "cpack -G DEB"
(cd "$work" && cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/deb") \
  >"$work/cpack.log" 2>&1 || fail "cpack: $(tail -20 "$work/cpack.log")"
runtime_deb=$(ls "$work"/deb/pizzeria_"$version"_*.deb)
dev_deb=$(ls "$work"/deb/libpizzeria-dev_"$version"_*.deb)
dpkg-deb -c "$runtime_deb" >"$work/runtime.list"
dpkg-deb -c "$dev_deb" >"$work/dev.list"
for path in ./usr/bin/pizzeria ./usr/share/doc/pizzeria/copyright; do
  grep -q " $path\$" "$work/runtime.list" || fail "pizzeria.deb lacks $path"
done
for path in ./usr/include/pizzeria/coro/task_group.hpp ./usr/lib/libpizzeria-core.a \
  ./usr/lib/cmake/pizzeria/pizzeriaConfig.cmake ./usr/lib/pkgconfig/pizzeria.pc \
  ./usr/share/doc/libpizzeria-dev/copyright; do
  grep -q " $path\$" "$work/dev.list" || fail "libpizzeria-dev.deb lacks $path"
done
if grep -q "/include/\|\.a\$" "$work/runtime.list"; then
  fail "pizzeria.deb carries development files: $(grep "/include/\|\.a\$" "$work/runtime.list" | head -3)"
fi
dpkg-deb -f "$runtime_deb" Depends | grep -q "libc6" ||
  fail "pizzeria.deb has no shared library dependencies: $(dpkg-deb -f "$runtime_deb" Depends)"
dpkg-deb -f "$dev_deb" Depends | grep -q "libhiredis-dev" ||
  fail "libpizzeria-dev.deb does not depend on libhiredis-dev: $(dpkg-deb -f "$dev_deb" Depends)"

step "dpkg -i and dpkg -r in a throwaway root"
root="$work/root"
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
touch "$root/var/lib/dpkg/status"
dpkg_root=(--root="$root" --force-depends --force-script-chrootless --log=/dev/null)
dpkg "${dpkg_root[@]}" -i "$runtime_deb" "$dev_deb" >"$work/dpkg.log" 2>&1 ||
  fail "dpkg -i: $(cat "$work/dpkg.log")"
[[ -x "$root/usr/bin/pizzeria" ]] || fail "dpkg -i installed no /usr/bin/pizzeria"
shown=$("$root/usr/bin/pizzeria" version)
[[ "$shown" == "pizzeria $version" ]] || fail "installed pizzeria version says '$shown'"
dpkg "${dpkg_root[@]}" -r pizzeria libpizzeria-dev >>"$work/dpkg.log" 2>&1 ||
  fail "dpkg -r: $(cat "$work/dpkg.log")"
left=$(find "$root" -mindepth 1 -not -path "$root/var/lib/dpkg*" -not -type d)
[[ -z "$left" ]] || fail "dpkg -r left files behind: $left"

if [[ "${PZ_CHECK_INSTALL_SYSTEM:-0}" == 1 ]]; then
  step "dpkg -i and dpkg -r on this machine"
  listed=$( (dpkg-deb -c "$runtime_deb" && dpkg-deb -c "$dev_deb") | awk '$1 !~ /^d/ {print substr($6, 2)}')
  dpkg -i "$runtime_deb" "$dev_deb" >"$work/dpkg.log" 2>&1 || fail "dpkg -i: $(cat "$work/dpkg.log")"
  shown=$(/usr/bin/pizzeria version)
  [[ "$shown" == "pizzeria $version" ]] || fail "installed pizzeria version says '$shown'"
  dpkg -r pizzeria libpizzeria-dev >>"$work/dpkg.log" 2>&1 || fail "dpkg -r: $(cat "$work/dpkg.log")"
  while read -r path; do
    [[ ! -e "$path" && ! -L "$path" ]] || fail "dpkg -r left $path"
  done <<<"$listed"
fi

echo "check-install: OK (pizzeria $version)"
