#!/usr/bin/env bash
# The accuracy harness in one command (README.md, "Evaluation"):
#   1. planted copies in BBC and Reuters-21578 (newsdedup_perturb), scored by
#      `newsdedup eval` at the default settings, passages included;
#   2. the labelled real duplicates of bench/labels/ (needs python3), scored
#      the same way;
#   3. the ablation table (newsdedup_ablation), as in bench/README.md.
#
#   bench/run_eval.sh            # from the repository root; about 2 minutes
#
# Data: $NEWSDEDUP_DATA or ../shared/data. Build folder: $BUILD or build.
# Generated corpora and labels go to a temporary folder and are removed.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${NEWSDEDUP_DATA:-../shared/data}
build=${BUILD:-build}
if [ ! -f "$build/build.ninja" ] && [ ! -f "$build/Makefile" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$build" --target newsdedup_cli newsdedup_perturb newsdedup_ablation \
  -j "$(nproc)" >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "## Planted copies, default settings (newsdedup eval)"
for corpus in bbc-2225 reuters21578; do
  echo
  echo "### $corpus"
  echo '```'
  "$build/newsdedup_perturb" "$data/$corpus.jsonl.zst" --prefix "planted-$corpus" \
    -o "$tmp/$corpus.planted.jsonl" -l "$tmp/$corpus.labels.jsonl"
  "$build/newsdedup" eval -q "$data/$corpus.jsonl.zst" "$tmp/$corpus.planted.jsonl" \
    -l "$tmp/$corpus.labels.jsonl"
  echo '```'
done

echo
echo "## Real duplicates (bench/labels/)"
if command -v python3 >/dev/null && [ -f bench/labels/make_real_labels.py ]; then
  python3 bench/labels/make_real_labels.py --data "$data" --out "$tmp/real" >&2
  for pair in bbc-real:bbc-2225 reuters-refiles:reuters-2006-2010; do
    labels=${pair%%:*}
    corpus=${pair##*:}
    echo
    echo "### $labels ($corpus)"
    echo '```'
    "$build/newsdedup" eval -q "$data/$corpus.jsonl.zst" -l "$tmp/real/$labels.jsonl"
    echo '```'
  done
else
  echo "(skipped: needs python3)"
fi

echo
echo "## Ablation (newsdedup_ablation)"
echo
"$build/newsdedup_ablation"
