#!/usr/bin/env bash
# Instructions per ctypes call, counted by callgrind, on Debian's libffi and on the face:
# bench/ctypes_bench.py's rows run alone (run --only ROW) under valgrind, twice (N1 and N2
# calls); (I2 - I1) / (N2 - N1) is one loop iteration with start-up, set-up and warm-up
# cancelled out. For the two calls it also shows how many of those instructions are inside
# libffi's ffi_prep_cif and ffi_call (callgrind's inclusive counts, differenced the same way).
# Needs valgrind.
#   bench/ctypes_callgrind.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
command -v valgrind >/dev/null || { echo "ctypes_callgrind.sh: needs valgrind (apt-get install valgrind)" >&2; exit 1; }
cmake --build "$BUILD" --target tramp_ffi ctypes_callee >/dev/null
N1=20000 N2=40000
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
debian=/usr/lib/$(gcc -print-multiarch)/libffi.so.8
face=$PWD/$BUILD/ffi

# run LIB ROW N: writes $out/LIB.ROW.N (callgrind's profile), prints the instructions.
run() {
  local lib=$1 row=$2 n=$3 env=(env -u LD_LIBRARY_PATH -u LD_PRELOAD) expect=$debian
  if [ "$lib" = face ]; then env+=(LD_LIBRARY_PATH="$face"); expect=$face/libffi.so.8; fi
  "${env[@]}" valgrind --tool=callgrind --callgrind-out-file="$out/$lib.$row.$n" \
    /usr/bin/python3 bench/ctypes_bench.py run --callee "$BUILD/bench/libctypes_callee.so" \
    --expect-libffi "$expect" -n "$n" --only "$row" 2>&1 >/dev/null |
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
# inclusive FILE FUNCTION: the instructions in FUNCTION and what it called.
inclusive() {
  callgrind_annotate --inclusive=yes --threshold=100 "$1" 2>/dev/null |
    sed -n "s/^ *\([0-9,]*\) .*:$2 \[.*/\1/p" | tr -d , | head -1
}
per_call() { echo $(( ($2 - $1) / (N2 - N1) )); }

echo "| row | Debian: instructions per call | in ffi_prep_cif | in ffi_call | face: instructions per call | in ffi_prep_cif | in ffi_call |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for row in loop ctypes_abs ctypes_six python_callee ctypes_callback; do
  line="| $row"
  for lib in debian face; do
    a=$(run "$lib" "$row" $N1)
    b=$(run "$lib" "$row" $N2)
    line+=" | $(per_call "$a" "$b")"
    case $row in
      ctypes_abs|ctypes_six)
        for fn in ffi_prep_cif ffi_call; do
          line+=" | $(per_call "$(inclusive "$out/$lib.$row.$N1" $fn)" "$(inclusive "$out/$lib.$row.$N2" $fn)")"
        done ;;
      *) line+=" | - | -" ;;
    esac
  done
  echo "$line |"
done
