#!/usr/bin/env bash
# Builds tramp.so and the two benchmark modules in build/ and runs bench.lua in lua5.4.
#   bindings/lua/bench/bench.sh [N [REPS]]
# BUILD=dir picks another build tree (configured with -G Ninja as build/ is); JOBS=N as ./dev.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
build=${BUILD:-$root/build}
[ -f "$build/CMakeCache.txt" ] || cmake -S "$root" -B "$build" -G Ninja >/dev/null
cmake --build "$build" -j "${JOBS:-2}" --target tramp_lua luabench_direct luabench_ffi
cd "$build/bindings/lua"
LUA_CPATH="$PWD/?.so;$PWD/bench/?.so" exec lua5.4 "$here/bench.lua" "$@"
