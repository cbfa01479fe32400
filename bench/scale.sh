#!/usr/bin/env bash
# Scale test: makes synthetic corpora of the given numbers of paragraphs with
# newsdedup_scale_corpus (resampled from ../shared/data, see
# bench/make_scale_corpus.cc), scans each with `newsdedup scan --threads 2`,
# with and without exact passages, under /usr/bin/time -v, and prints one
# markdown table row per size and mode.
#
#   bench/scale.sh                          # 1M and 10M paragraphs
#   bench/scale.sh 1000000                  # one size
#   bench/scale.sh --dir /tmp/x --keep 1000000 10000000
#
# Options: --dir DIR (corpora, summaries and spilled runs; default
# /tmp/newsdedup-scale), --keep (keep the generated corpora), --build DIR
# (default build), --seed S (default 1), --limit-gib G (default 20).
# Sizes run one after another, smallest first. Before each scan its peak
# memory is estimated from the previous size (see the memory model below)
# and the scan is skipped, with the reason, when the estimate exceeds the
# limit (the corpus is not made when both modes are skipped). A watchdog
# also stops a scan whose resident memory passes the limit plus 1 GiB, and
# a failed scan stops the script (larger sizes could not be estimated).
# The generated text is derived from copyrighted corpora: keep --dir outside
# the repository.
set -uo pipefail
cd "$(dirname "$0")/.."

dir=/tmp/newsdedup-scale
keep=0
build=build
seed=1
limit_gib=20
sizes=()
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) dir=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --build) build=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --limit-gib) limit_gib=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "scale.sh: unknown option $1" >&2; exit 2 ;;
    *) sizes+=("$1"); shift ;;
  esac
done
[ ${#sizes[@]} -gt 0 ] || sizes=(1000000 10000000)
mapfile -t sizes < <(printf '%s\n' "${sizes[@]}" | sort -n)

gen=$build/newsdedup_scale_corpus
scan=$build/newsdedup
for tool in "$gen" "$scan"; do
  [ -x "$tool" ] || { echo "scale.sh: $tool not built (ninja -C $build newsdedup_cli newsdedup_scale_corpus)" >&2; exit 2; }
done
for tool in zstd /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "scale.sh: $tool not found" >&2; exit 2; }
done
mkdir -p "$dir"
failed=0
limit_kb=$((limit_gib * 1024 * 1024))
kill_kb=$(((limit_gib + 1) * 1024 * 1024))

# A number field of the one-line summary JSON.
field() { sed -n "s/.*\"$2\": \([0-9.]*\).*/\1/p" "$1"; }

# Runs `newsdedup scan` under /usr/bin/time -v and a memory watchdog.
# Sets peak_kb, wall_s, cpu_s; returns the scan's status.
run_scan() {
  local timelog=$1; shift
  /usr/bin/time -v "$scan" scan "$@" 2>"$timelog" &
  local tpid=$! child="" rss
  while kill -0 "$tpid" 2>/dev/null; do
    [ -n "$child" ] || child=$(ps -o pid= --ppid "$tpid" 2>/dev/null | head -1 | tr -d ' ')
    if [ -n "$child" ]; then
      rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$child/status" 2>/dev/null)
      if [ -n "$rss" ] && [ "$rss" -gt "$kill_kb" ]; then
        echo "scale.sh: scan resident memory ${rss} kB passed $((kill_kb / 1024)) MiB; stopping it" >&2
        kill "$child"
      fi
    fi
    sleep 1
  done
  wait "$tpid"
  local rc=$?
  peak_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$timelog")
  [ -n "$peak_kb" ] || peak_kb=0
  # Elapsed is h:mm:ss or m:ss.ss.
  wall_s=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$timelog" |
    awk -F: '{ s = 0; for (i = 1; i <= NF; ++i) s = s * 60 + $i; printf "%.2f", s }')
  cpu_s=$(awk -F': ' '/User time|System time/ { s += $2 } END { printf "%.1f", s }' "$timelog")
  return $rc
}

# Memory model for the estimates: the paragraph job (--no-passages) grows
# with the number of paragraphs, in steps, because its hash tables double
# (the 10M run peaked at 1.45x the linear projection from 1M), so its last
# peak is scaled by the paragraph ratio times 1.5; exact passages add about
# the passage record budget (--memory-limit, 512 MB), so the default mode
# adds the extra it took at the last size. Before the first size: 2,500
# bytes per paragraph, plus 600 MiB with passages.
echo "| paragraphs | mode | input MB | seconds | CPU s | MB/s | peak RSS MB | index MB | bytes/paragraph | flagged spans |"
echo "|---|---|---|---|---|---|---|---|---|---|"
prev_n=0
prev_np_kb=0      # peak of the paragraph job at prev_n
prev_extra_kb=0   # default minus --no-passages at the last size both ran
for n in "${sizes[@]}"; do
  if [ "$prev_n" -gt 0 ]; then
    est_np=$(awk -v p="$prev_np_kb" -v n="$n" -v q="$prev_n" 'BEGIN { printf "%d", p * n / q * 1.5 }')
    how="$((prev_np_kb / 1024)) MiB at $prev_n paragraphs, x $n/$prev_n x 1.5"
  else
    est_np=$(awk -v n="$n" 'BEGIN { printf "%d", n * 2500 / 1024 }')
    prev_extra_kb=$((600 * 1024))
    how="2,500 bytes per paragraph"
  fi
  est_def=$((est_np + prev_extra_kb))
  runnable=()
  for mode in no-passages default; do
    est=$est_np
    [ "$mode" = default ] && est=$est_def
    if [ "$est" -gt "$limit_kb" ]; then
      echo "scale.sh: skipping $n paragraphs ($mode): estimated peak $((est / 1024)) MiB ($how$([ "$mode" = default ] && echo ", + $((prev_extra_kb / 1024)) MiB for passages")) exceeds ${limit_gib} GiB" >&2
      echo "| $n | $mode: skipped, est. peak $((est * 1024 / 1000000)) MB | | | | | | | | |"
    else
      runnable+=("$mode")
    fi
  done
  [ ${#runnable[@]} -gt 0 ] || continue
  corpus=$dir/scale-$n.jsonl.zst
  t0=$(date +%s.%N)
  if ! "$gen" --paragraphs "$n" --seed "$seed" -o - 2>"$dir/gen-$n.log" |
      zstd -T2 -3 -q -f -o "$corpus"; then
    echo "scale.sh: generating $n paragraphs failed:" >&2
    cat "$dir/gen-$n.log" >&2
    exit 1
  fi
  t1=$(date +%s.%N)
  echo "scale.sh: generated $n paragraphs in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s," \
    "$(stat -c %s "$corpus" | awk '{ printf "%.1f", $1 / 1e6 }') MB compressed: $(tail -1 "$dir/gen-$n.log")" >&2
  np_kb=0
  for mode in "${runnable[@]}"; do
    flags=()
    [ "$mode" = no-passages ] && flags=(--no-passages)
    est=$est_np
    [ "$mode" = default ] && est=$est_def
    summary=$dir/summary-$n-$mode.json
    echo "scale.sh: scanning $n paragraphs ($mode), estimated peak $((est / 1024)) MiB" >&2
    if ! run_scan "$dir/time-$n-$mode.log" "$corpus" -o /dev/null -q --threads 2 \
        --temp-dir "$dir" --summary "$summary" "${flags[@]}"; then
      echo "scale.sh: scan of $n paragraphs ($mode) failed:" >&2
      tail -5 "$dir/time-$n-$mode.log" >&2
      echo "| $n | $mode: failed, peak $((peak_kb * 1024 / 1000000)) MB | | | | | | | | |"
      failed=1
      break
    fi
    if [ "$mode" = no-passages ]; then
      np_kb=$peak_kb
    elif [ "$np_kb" -gt 0 ] && [ "$peak_kb" -gt "$np_kb" ]; then
      prev_extra_kb=$((peak_kb - np_kb))
    fi
    input=$(field "$summary" input_bytes)
    paragraphs=$(field "$summary" paragraphs)
    index_mb=$(field "$summary" index_mb)
    spans=$(sed -n 's/.*"clusters": [0-9]*, "spans": \([0-9]*\).*/\1/p' "$summary")
    awk -v n="$n" -v mode="$mode" -v input="$input" -v s="$wall_s" -v cpu="$cpu_s" \
        -v kb="$peak_kb" -v idx="$index_mb" -v p="$paragraphs" -v spans="$spans" 'BEGIN {
      printf "| %d | %s | %.0f | %.1f | %.1f | %.1f | %.0f | %.1f | %.0f | %d |\n",
        n, mode, input / 1e6, s, cpu, input / 1e6 / s, kb * 1024 / 1e6, idx,
        idx * 1e6 / p, spans }'
  done
  [ "$keep" = 1 ] || rm -f "$corpus"
  if [ "$failed" = 1 ]; then
    echo "scale.sh: stopping: a scan of $n paragraphs failed, so larger sizes cannot be estimated" >&2
    exit 1
  fi
  if [ "$np_kb" -eq 0 ]; then
    echo "scale.sh: stopping: the paragraph job did not run at $n paragraphs" >&2
    exit 1
  fi
  prev_n=$n
  prev_np_kb=$np_kb
done
