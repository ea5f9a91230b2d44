#!/usr/bin/env bash
# Builds and runs consumer.c with only what `pkg-config --cflags --libs tramp` says, against
# the tramp.pc under ROOT (an install prefix, or a tree unpacked from the .debs: ./dev test).
#   tests/consumers/pkgconfig_c/build.sh ROOT OUTDIR [CC]
set -euo pipefail
root=$1 out=$2 cc=${3:-cc}
pc=$(find "$root" -name tramp.pc -path '*/pkgconfig/*' | head -n 1)
[ -n "$pc" ] || { echo "pkgconfig_c: no tramp.pc under $root" >&2; exit 1; }
export PKG_CONFIG_PATH=$(dirname "$pc")
flags=$(pkg-config --cflags --libs tramp)
echo "pkgconfig_c: $cc consumer.c $flags"
mkdir -p "$out"
# shellcheck disable=SC2086
"$cc" -std=c99 -Wall -Wextra "$(dirname "$0")/consumer.c" $flags -o "$out/consumer_c"
LD_LIBRARY_PATH=$(pkg-config --variable=libdir tramp) "$out/consumer_c"
