#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (address and undefined-behaviour
# sanitizers) and runs each for a bounded time, seeded with the JSONL
# fixtures in testdata/ (each line, and each whole file, as one input).
#
#   scripts/fuzz.sh                      # every fuzzer, 60 s each
#   FUZZ_SECONDS=600 scripts/fuzz.sh     # longer
#   scripts/fuzz.sh reader_fuzzer        # one fuzzer
#
# Environment: FUZZ_SECONDS (default 60), BUILD_DIR (default build-fuzz),
# FUZZ_MAX_LEN (default 65536). The corpus grows in $BUILD_DIR/fuzz-corpus/
# across runs; crashing inputs are saved in $BUILD_DIR/fuzz-artifacts/ and
# can be replayed with `$BUILD_DIR/NAME ARTIFACT`.
# Exit status: 0 when every fuzzer ran its time without a finding, 1 when
# any crashed (or leaked, or timed out on an input), 2 on a build error.
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
build=${BUILD_DIR:-build-fuzz}
max_len=${FUZZ_MAX_LEN:-65536}
fuzzers=("$@")
if [ ${#fuzzers[@]} -eq 0 ]; then
  fuzzers=(reader_fuzzer json_roundtrip_fuzzer)
fi

for tool in clang clang++; do
  command -v "$tool" >/dev/null || { echo "fuzz.sh: $tool not found" >&2; exit 2; }
done

echo "== building ${fuzzers[*]} in $build"
if ! CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja \
    -DNEWSDEDUP_BUILD_FUZZERS=ON -DNEWSDEDUP_BUILD_TESTS=OFF \
    -DNEWSDEDUP_BUILD_BENCHMARKS=OFF >/dev/null; then
  echo "fuzz.sh: cmake failed" >&2
  exit 2
fi
if ! cmake --build "$build" --target "${fuzzers[@]}"; then
  echo "fuzz.sh: build failed" >&2
  exit 2
fi

# Seeds: every fixture line as its own input, and whole fixture files
# (plain and compressed) for the reader.
seeds="$build/fuzz-seeds"
rm -rf "$seeds"
mkdir -p "$seeds/lines" "$seeds/files"
n=0
for f in testdata/*.jsonl; do
  while IFS= read -r line || [ -n "$line" ]; do
    printf '%s' "$line" >"$seeds/lines/$(basename "$f").$n"
    n=$((n + 1))
  done <"$f"
done
for f in testdata/*.jsonl testdata/*.jsonl.gz testdata/*.jsonl.zst testdata/text/*; do
  [ -f "$f" ] && cp "$f" "$seeds/files/"
done

mkdir -p "$build/fuzz-artifacts"
failed=()
for fuzzer in "${fuzzers[@]}"; do
  corpus="$build/fuzz-corpus/$fuzzer"
  mkdir -p "$corpus"
  seed_dirs=("$seeds/lines")
  [ "$fuzzer" = reader_fuzzer ] && seed_dirs+=("$seeds/files")
  echo "== $fuzzer: $seconds s, max_len $max_len"
  log="$build/fuzz-artifacts/$fuzzer.log"
  "$build/$fuzzer" -max_total_time="$seconds" -max_len="$max_len" \
    -timeout=30 -print_final_stats=1 \
    -artifact_prefix="$build/fuzz-artifacts/$fuzzer-" \
    "$corpus" "${seed_dirs[@]}" >"$log" 2>&1
  rc=$?
  grep -E '^(stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb)' "$log" |
    sed 's/^/   /'
  grep -E '^#[0-9]+.*(DONE|INITED)' "$log" | tail -1 | sed 's/^/   /'
  if [ "$rc" -ne 0 ]; then
    echo "FAIL $fuzzer (exit $rc); log: $log"
    grep -E 'ERROR|check failed|SUMMARY|Test unit written' "$log" | head -10 | sed 's/^/   /'
    failed+=("$fuzzer")
  else
    echo "ok   $fuzzer"
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: findings in ${failed[*]}" >&2
  exit 1
fi
