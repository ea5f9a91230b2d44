#!/usr/bin/env bash
# Instructions per call, counted by callgrind: direct call vs tramp invoke/bound/direct<R>()
# vs libffi's ffi_call and the libffi face for int(int,int), and a C caller calling a C
# function directly vs through a tramp thunk vs a libffi closure (bench/rows.hpp's rows, the
# callee and caller in the program), and what making a call stub for a new signature costs.
# Each kind runs twice (N1 and N2 calls); (I2 - I1) / (N2 - N1) is the
# cost of one loop iteration, start-up and set-up cancelled out. Needs valgrind.
#   bench/callgrind.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
command -v valgrind >/dev/null || { echo "callgrind.sh: needs valgrind (apt-get install valgrind)" >&2; exit 1; }
cmake --build "$BUILD" --target count_instructions >/dev/null
N1=100000 N2=200000
count() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$BUILD/bench/count_instructions" "$1" "$2" 2>&1 >/dev/null |
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
echo "| kind | instructions per call |"
echo "|---|---:|"
for kind in direct invoke invoke_direct bound libffi face cbdirect thunk closure; do
  a=$(count "$kind" $N1)
  b=$(count "$kind" $N2)
  echo "| $kind | $(( (b - a) / (N2 - N1) )) |"
done
# Making code: a call stub for a new signature of four scalar arguments (count_instructions.cpp).
a=$(count new_stub 555)
b=$(count new_stub 1555)
echo "| new call stub (per stub, not per call) | $(( (b - a) / 1000 )) |"
