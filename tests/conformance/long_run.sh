#!/usr/bin/env bash
# The long conformance run: 100,000 generated signatures (or $1), each through the invoker,
# a bound stub, a callback thunk and libffi. Builds in build-long/ and prints the time taken.
set -euo pipefail
cd "$(dirname "$0")/../.."
COUNT=${1:-100000}
SEED=${2:-20261124}
start=$(date +%s)
cmake -S . -B build-long -G Ninja -DTRAMP_CONFORMANCE_COUNT="$COUNT" -DTRAMP_CONFORMANCE_SEED="$SEED" \
      -DTRAMP_BUILD_BENCH=OFF -DTRAMP_BUILD_TOOLS=OFF >/dev/null
cmake --build build-long --target conformance_run conformance_cases
built=$(date +%s)
./build-long/tests/conformance/conformance_run \
  --lib build-long/tests/conformance/libconformance_cases.so \
  --manifest build-long/tests/conformance/generated/manifest.txt
done_at=$(date +%s)
echo "long run: $COUNT signatures, seed $SEED: generate+compile $((built - start)) s, run $((done_at - built)) s"
