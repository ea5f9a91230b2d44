#!/usr/bin/env bash
# The long conformance run: 100,000 generated signatures (or COUNT), as SysV and as ms_abi
# functions, each called through the invoker, a bound stub, a callback thunk and (where it
# can) libffi. Uses its own build tree so the everyday build keeps its 2,000 cases, and prints
# how long each phase took.
#
#   tests/conformance/long_run.sh [COUNT [SEED]] [-- RUNNER_ARGS...]
#   BUILD_DIR=/tmp/long JOBS=8 tests/conformance/long_run.sh 20000 7
set -euo pipefail
cd "$(dirname "$0")/../.."

COUNT=100000
SEED=20261124
if [ $# -gt 0 ] && [ "$1" != "--" ]; then COUNT=$1; shift; fi
if [ $# -gt 0 ] && [ "$1" != "--" ]; then SEED=$1; shift; fi
[ "${1:-}" = "--" ] && shift
BUILD_DIR=${BUILD_DIR:-build-long}
JOBS=${JOBS:-$(nproc)}

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

start=$(now)
cmake -S . -B "$BUILD_DIR" -G Ninja \
      -DTRAMP_CONFORMANCE_COUNT="$COUNT" -DTRAMP_CONFORMANCE_SEED="$SEED" \
      -DTRAMP_BUILD_BENCH=OFF -DTRAMP_BUILD_TOOLS=OFF >/dev/null
# The library and runner first, so the generate+compile time below is the suite's own.
cmake --build "$BUILD_DIR" -j "$JOBS" --target tramp conformance_gen
built_lib=$(now)
cmake --build "$BUILD_DIR" -j "$JOBS" --target conformance_run
built=$(now)

status=0
for abi in sysv win64; do
  lib=libconformance_cases.so dir=generated
  [ "$abi" = win64 ] && lib=libconformance_cases_win64.so dir=generated_win64
  echo "long run: $abi"
  "$BUILD_DIR"/tests/conformance/conformance_run \
    --lib "$BUILD_DIR/tests/conformance/$lib" \
    --manifest "$BUILD_DIR/tests/conformance/$dir/manifest.txt" "$@" || status=$?
done

echo "long run: $COUNT signatures, seed $SEED, $JOBS jobs:" \
     "tramp build $(awk -v a="$start" -v b="$built_lib" 'BEGIN { printf "%.1f", b - a }') s," \
     "generate+compile cases $(awk -v a="$built_lib" -v b="$built" 'BEGIN { printf "%.1f", b - a }') s," \
     "run $(since "$built") s, total $(since "$start") s"
exit $status
