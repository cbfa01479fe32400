#!/usr/bin/env bash
# One-step set-up for a fresh Debian 12 machine (run as root):
#   scripts/quickstart.sh demo   install what is missing, build, scan the bundled testdata
#   scripts/quickstart.sh test   install what is missing, build, run all tests
# Optional: BUILD_DIR (default build), JOBS (default: number of cores).
set -euo pipefail
mode=${1:-demo}
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
jobs=${JOBS:-$(nproc)}

packages=(build-essential cmake ninja-build pkg-config zstd gzip
  libxxhash-dev libabsl-dev libgtest-dev libgmock-dev libbenchmark-dev
  libsimdjson-dev libutf8proc-dev libzstd-dev zlib1g-dev libisal-dev libdeflate-dev libcli11-dev libhwy-dev libre2-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

echo "== building in $build"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$jobs"

case "$mode" in
  demo)
    echo "== newsdedup scan testdata/news-sample.jsonl testdata/text"
    "$build/newsdedup" scan testdata/news-sample.jsonl testdata/text
    mkdir -p "$build/demo"
    echo "== newsdedup clean testdata/news-sample.jsonl testdata/text -o $build/demo/cleaned.jsonl"
    "$build/newsdedup" clean testdata/news-sample.jsonl testdata/text \
      -o "$build/demo/cleaned.jsonl" --report "$build/demo/spans.jsonl" \
      --clusters "$build/demo/clusters.jsonl" --summary "$build/demo/summary.json" \
      --html "$build/demo/report.html"
    echo "== wrote $build/demo/: cleaned.jsonl spans.jsonl clusters.jsonl summary.json report.html"
    ;;
  test)
    ctest --test-dir "$build" --output-on-failure -j "$jobs"
    ;;
  *)
    echo "usage: scripts/quickstart.sh demo|test" >&2
    exit 2
    ;;
esac
