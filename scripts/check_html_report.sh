#!/usr/bin/env bash
# Renders newsdedup's HTML report in headless Chromium and checks what a
# person would see: the page loads, the sections are there, flagged spans are
# highlighted, and a screenshot is written for a look.
#
#   scripts/check_html_report.sh [INPUT...]      (default: the bundled testdata)
#
# Needs Debian's chromium (apt-get install chromium). Writes
# build/report-check/report.html and build/report-check/report.png.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${NEWSDEDUP:-build/newsdedup}
out=build/report-check
mkdir -p "$out"
inputs=("$@")
[ ${#inputs[@]} -gt 0 ] || inputs=(testdata/news-sample.jsonl testdata/text)
command -v chromium >/dev/null || { echo "chromium is not installed (apt-get install chromium)" >&2; exit 2; }

"$bin" clean "${inputs[@]}" -o "$out/cleaned.jsonl" --html "$out/report.html" -q
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
  --disable-background-networking --disable-component-update --disable-sync
  --user-data-dir="$profile")
url="file://$PWD/$out/report.html"
timeout 120 chromium "${flags[@]}" --dump-dom "$url" 2>/dev/null >"$out/dom.html"
timeout 120 chromium "${flags[@]}" --window-size=1200,2000 \
  --screenshot="$PWD/$out/report.png" "$url" >/dev/null 2>&1

fail=0
for needle in 'newsdedup report' 'What was flagged' 'Boilerplate by site' \
  'Largest clusters' 'id="documents"' '<mark class="k-'; do
  if grep -q "$needle" "$out/dom.html"; then
    echo "ok   rendered page has: $needle"
  else
    echo "FAIL rendered page lacks: $needle"
    fail=1
  fi
done
marks=$(grep -o '<mark class="k-' "$out/dom.html" | wc -l)
size=$(stat -c %s "$out/report.png" 2>/dev/null || echo 0)
echo "marks rendered: $marks; screenshot: $out/report.png ($size bytes)"
[ "$size" -gt 10000 ] || { echo "FAIL screenshot missing or blank"; fail=1; }
exit $fail
