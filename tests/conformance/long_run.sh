#!/usr/bin/env bash
# The long conformance run: 100,000 generated signatures (or COUNT) per ABI, each called
# through the invoker, a bound stub, a callback thunk and (where it can) libffi. Uses its own
# build trees so the everyday build keeps its 2,000 cases, and prints how long each phase took.
#
#   tests/conformance/long_run.sh [COUNT [SEED]] [-- RUNNER_ARGS...]
#   BUILD_DIR=/tmp/long JOBS=8 tests/conformance/long_run.sh 20000 7
#   ABIS=aapcs64 tests/conformance/long_run.sh          # AArch64: cross-built, run under qemu
#   ABIS="sysv win64 aapcs64" tests/conformance/long_run.sh
#
# ABIS: sysv and win64 (the default on x86-64) share an x86-64 tree, BUILD_DIR (build-long);
# aapcs64 (the default on AArch64) has its own, A64_BUILD_DIR: on an x86-64 host a cross build
# (cmake/aarch64-linux-gnu.cmake, default BUILD_DIR-a64) whose generator and runner run under
# QEMU (default: the toolchain file's CMAKE_CROSSCOMPILING_EMULATOR, which ctest uses too); on
# an AArch64 host a native one.
set -euo pipefail
cd "$(dirname "$0")/../.."

COUNT=100000
SEED=20261124
if [ $# -gt 0 ] && [ "$1" != "--" ]; then COUNT=$1; shift; fi
if [ $# -gt 0 ] && [ "$1" != "--" ]; then SEED=$1; shift; fi
[ "${1:-}" = "--" ] && shift
JOBS=${JOBS:-$(nproc)}
HOST=$(uname -m)
if [ -z "${ABIS:-}" ]; then
  if [ "$HOST" = aarch64 ]; then ABIS=aapcs64; else ABIS="sysv win64"; fi
fi
if [ "$HOST" = aarch64 ]; then
  A64_BUILD_DIR=${A64_BUILD_DIR:-${BUILD_DIR:-build-long}}
else
  A64_BUILD_DIR=${A64_BUILD_DIR:-${BUILD_DIR:-build-long}-a64}
fi
BUILD_DIR=${BUILD_DIR:-build-long}

X64_ABIS=()
A64_ABIS=()
for abi in $ABIS; do
  case $abi in
    sysv | win64) X64_ABIS+=("$abi") ;;
    aapcs64) A64_ABIS+=("$abi") ;;
    *) echo "long run: unknown ABI '$abi' (sysv, win64, aapcs64)" >&2; exit 2 ;;
  esac
done
if [ ${#X64_ABIS[@]} -gt 0 ] && [ "$HOST" != x86_64 ]; then
  echo "long run: ${X64_ABIS[*]} need an x86-64 host" >&2
  exit 2
fi

now() { date +%s.%N; }
between() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

status=0
# tree DIR "ABI..." "EMULATOR" [CMAKE_ARGS...]: configure and build DIR, run the ABIs' cases.
tree() {
  local dir=$1 abis=$2 emulator=$3
  shift 3
  local start built_lib built ran abi lib gen
  start=$(now)
  cmake -S . -B "$dir" -G Ninja \
        -DTRAMP_CONFORMANCE_COUNT="$COUNT" -DTRAMP_CONFORMANCE_SEED="$SEED" \
        -DTRAMP_BUILD_BENCH=OFF -DTRAMP_BUILD_TOOLS=OFF "$@" >/dev/null
  # The library and runner first, so the generate+compile time below is the suite's own.
  cmake --build "$dir" -j "$JOBS" --target tramp conformance_gen
  built_lib=$(now)
  cmake --build "$dir" -j "$JOBS" --target conformance_run
  built=$(now)
  for abi in $abis; do
    lib=libconformance_cases.so gen=generated
    [ "$abi" = win64 ] && lib=libconformance_cases_win64.so gen=generated_win64
    echo "long run: $abi"
    # $emulator is empty or a command with its arguments: split on purpose.
    # shellcheck disable=SC2086
    $emulator "$dir"/tests/conformance/conformance_run \
      --lib "$dir/tests/conformance/$lib" \
      --manifest "$dir/tests/conformance/$gen/manifest.txt" "${RUNNER_ARGS[@]}" || status=$?
  done
  ran=$(now)
  echo "long run ($abis): $COUNT signatures, seed $SEED, $JOBS jobs:" \
       "tramp build $(between "$start" "$built_lib") s," \
       "generate+compile cases $(between "$built_lib" "$built") s," \
       "run $(between "$built" "$ran") s, total $(between "$start" "$ran") s"
}

RUNNER_ARGS=("$@")
if [ ${#X64_ABIS[@]} -gt 0 ]; then
  tree "$BUILD_DIR" "${X64_ABIS[*]}" ""
fi
if [ ${#A64_ABIS[@]} -gt 0 ]; then
  if [ "$HOST" = aarch64 ]; then
    tree "$A64_BUILD_DIR" "${A64_ABIS[*]}" ""
  else
    toolchain=$PWD/cmake/aarch64-linux-gnu.cmake
    emulator=$(sed -n 's/^set(CMAKE_CROSSCOMPILING_EMULATOR \(.*\))$/\1/p' "$toolchain")
    tree "$A64_BUILD_DIR" "${A64_ABIS[*]}" "${QEMU:-${emulator:-qemu-aarch64 -L /}}" \
         -DCMAKE_TOOLCHAIN_FILE="$toolchain"
  fi
fi
exit $status
