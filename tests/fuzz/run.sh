#!/usr/bin/env bash
# A bounded libFuzzer pass over tramp's text parsers (fuzz_parsers.cpp), built with clang and
# ASan+UBSan+libFuzzer. Starts from the corpus in tests/fuzz/corpus (kept in git) and writes
# what it finds to a scratch copy, so a run never changes the tree.
#
#   tests/fuzz/run.sh [SECONDS]          default 60; ./dev test runs it
#   FUZZ_DIR=/tmp/f tests/fuzz/run.sh 600
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_TO_RUN=${1:-60}
DIR=${FUZZ_DIR:-build-fuzz}
mkdir -p "$DIR/corpus" "$DIR/artifacts"
CXX=${FUZZ_CXX:-clang++}

echo "fuzz: building $DIR/fuzz_parsers with $CXX"
"$CXX" -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  -Iinclude -I. tests/fuzz/fuzz_parsers.cpp core/parse.cpp core/signature.cpp core/type.cpp \
  core/cdecl.cpp core/preprocessor.cpp core/values.cpp jit/fork_safety.cpp abi/call_plan.cpp abi/sysv_x64.cpp \
  abi/win64.cpp abi/aapcs64.cpp abi/abis.cpp \
  -o "$DIR/fuzz_parsers"

cp -n tests/fuzz/corpus/* "$DIR/corpus/" 2>/dev/null || true
echo "fuzz: running for ${SECONDS_TO_RUN}s"
"$DIR/fuzz_parsers" "$DIR/corpus" tests/fuzz/corpus -max_total_time="$SECONDS_TO_RUN" \
  -max_len=4096 -timeout=5 -rss_limit_mb=2048 -artifact_prefix="$DIR/artifacts/" -print_final_stats=1 \
  2>&1 | tail -n 25
echo "fuzz: no crash, leak, undefined behaviour or hang in ${SECONDS_TO_RUN}s"
