#!/usr/bin/env bash
# Scale test: makes one synthetic corpus of the largest given number of
# paragraphs with newsdedup_scale_corpus (resampled from ../shared/data, see
# bench/make_scale_corpus.cc); the smaller sizes are its first documents
# (the generator streams, so a prefix is the smaller corpus). Scans each size
# with `newsdedup scan --threads 2`, with and without exact passages, under
# /usr/bin/time -v, and prints one markdown table row per size and mode.
#
#   bench/scale.sh                                  # 1M and 10M paragraphs
#   bench/scale.sh 1000000 10000000 100000000       # the scaling curve
#   bench/scale.sh --keep --memory-limit 4096 100000000
#
# Options: --dir DIR (corpora, summaries and spilled runs; default
# /tmp/newsdedup-scale), --keep (keep the corpora; an existing
# DIR/scale-N.jsonl.zst of the largest size is reused), --build DIR (default
# build), --seed S (default 1), --memory-limit MB (passed to scan; default:
# scan's own, a quarter of the memory available, read from a scan's summary
# `memory_limit_mb`), --limit-gib G (default 20).
# Sizes run smallest first. Before each scan its peak memory is projected
# from the previous size: the sort buffers (summary buffer_mb) scaled with
# the paragraphs up to the memory limit, the rest linearly times 1.3 (hash
# tables grow by doubling); the most disk it held is scaled likewise; a scan whose projection exceeds
# the memory limit, or whose disk exceeds the free space of DIR, is skipped
# with the reason. A watchdog stops a scan whose resident memory passes the
# limit plus 1 GiB, and a failed scan stops the script.
# The generated text is derived from copyrighted corpora: keep --dir outside
# the repository.
set -uo pipefail
cd "$(dirname "$0")/.."

dir=/tmp/newsdedup-scale
keep=0
build=build
seed=1
limit_gib=20
memory_flags=()
budget_kb=  # --memory-limit's, else scan's default (below)
sizes=()
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) dir=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --build) build=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --memory-limit) memory_flags=(--memory-limit "$2"); budget_kb=$(($2 * 1024)); shift 2 ;;
    --limit-gib) limit_gib=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "scale.sh: unknown option $1" >&2; exit 2 ;;
    *) sizes+=("$1"); shift ;;
  esac
done
[ ${#sizes[@]} -gt 0 ] || sizes=(1000000 10000000)
mapfile -t sizes < <(printf '%s\n' "${sizes[@]}" | sort -n)
per_doc=8
for n in "${sizes[@]}"; do
  [ $((n % per_doc)) -eq 0 ] || { echo "scale.sh: $n is not a multiple of $per_doc paragraphs per document" >&2; exit 2; }
done

gen=$build/newsdedup_scale_corpus
scan=$build/newsdedup
for tool in "$gen" "$scan"; do
  [ -x "$tool" ] || { echo "scale.sh: $tool not built (ninja -C $build newsdedup_cli newsdedup_scale_corpus)" >&2; exit 2; }
done
for tool in zstd /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "scale.sh: $tool not found" >&2; exit 2; }
done
mkdir -p "$dir"
limit_kb=$((limit_gib * 1024 * 1024))
kill_kb=$(((limit_gib + 1) * 1024 * 1024))

# A number field of the one-line summary JSON.
field() { sed -n "s/.*\"$2\": \([0-9.]*\).*/\1/p" "$1"; }
# scan's own default limit (the RAM, or a container's limit, over four).
if [ -z "$budget_kb" ]; then
  "$scan" scan testdata/news-sample.jsonl -q -o /dev/null --summary "$dir/default-limit.json" ||
    { echo "scale.sh: $scan failed on testdata/news-sample.jsonl" >&2; exit 1; }
  budget_kb=$(field "$dir/default-limit.json" memory_limit_mb | awk '{ printf "%d", $1 * 1024 }')
fi
free_kb() { df -Pk "$dir" | awk 'NR == 2 { print $4 }'; }
used_kb() { df -Pk "$dir" | awk 'NR == 2 { print $3 }'; }

# Runs `newsdedup scan` under /usr/bin/time -v and a memory watchdog.
# Sets peak_kb, wall_s, cpu_s and disk_kb (the most the temporary folder's
# file system held above its level at the start, sampled every second);
# returns the scan's status.
run_scan() {
  local timelog=$1; shift
  /usr/bin/time -v "$scan" scan "$@" 2>"$timelog" &
  local tpid=$! child="" rss used
  local base_used peak_used
  base_used=$(used_kb)
  peak_used=$base_used
  while kill -0 "$tpid" 2>/dev/null; do
    used=$(used_kb)
    [ "$used" -gt "$peak_used" ] && peak_used=$used
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
  disk_kb=$((peak_used - base_used))
  peak_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$timelog")
  [ -n "$peak_kb" ] || peak_kb=0
  # Elapsed is h:mm:ss or m:ss.ss.
  wall_s=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$timelog" |
    awk -F: '{ s = 0; for (i = 1; i <= NF; ++i) s = s * 60 + $i; printf "%.2f", s }')
  cpu_s=$(awk -F': ' '/User time|System time/ { s += $2 } END { printf "%.1f", s }' "$timelog")
  return $rc
}

# The largest corpus, made once.
max=${sizes[-1]}
big=$dir/scale-$max.jsonl.zst
if [ "$keep" = 1 ] && [ -s "$big" ] && [ -e "$dir/gen-$max.log" ]; then
  echo "scale.sh: reusing $big" >&2
else
  t0=$(date +%s.%N)
  if ! "$gen" --paragraphs "$max" --seed "$seed" --per-doc "$per_doc" -o - 2>"$dir/gen-$max.log" |
      zstd -T2 -3 -q -f -o "$big"; then
    echo "scale.sh: generating $max paragraphs failed:" >&2
    cat "$dir/gen-$max.log" >&2
    exit 1
  fi
  t1=$(date +%s.%N)
  echo "scale.sh: generated $max paragraphs in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s," \
    "$(stat -c %s "$big" | awk '{ printf "%.1f", $1 / 1e6 }') MB compressed: $(tail -1 "$dir/gen-$max.log")" >&2
fi

echo "| paragraphs | mode | input MB | seconds | CPU s | MB/s | peak RSS MB | index MB | indexed paragraphs | bytes/indexed paragraph | spilled MB | peak disk MB | flagged spans |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
declare -A prev_peak_kb prev_buffer_kb prev_disk_kb
prev_n=0
for n in "${sizes[@]}"; do
  corpus=$big
  if [ "$n" -ne "$max" ]; then
    corpus=$dir/prefix-$n.jsonl.zst
    zstd -dcq "$big" | head -n $((n / per_doc)) | zstd -T2 -3 -q -f -o "$corpus"
  fi
  for mode in no-passages default; do
    flags=()
    [ "$mode" = no-passages ] && flags=(--no-passages)
    if [ "$prev_n" -gt 0 ]; then
      est_kb=$(awk -v p="${prev_peak_kb[$mode]}" -v b="${prev_buffer_kb[$mode]}" -v cap="$budget_kb" \
        -v n="$n" -v q="$prev_n" 'BEGIN { buf = b * n / q; if (buf > cap) buf = cap
                                          printf "%d", (p - b) * n / q * 1.3 + buf }')
      est_mb=$(awk -v p="${prev_disk_kb[$mode]}" -v n="$n" -v q="$prev_n" 'BEGIN { printf "%d", p * 1024 / 1e6 * n / q * 1.1 }')
      if [ "$est_kb" -gt "$limit_kb" ]; then
        echo "scale.sh: skipping $n paragraphs ($mode): projected peak $((est_kb / 1024)) MiB exceeds ${limit_gib} GiB" >&2
        echo "| $n | $mode: skipped, projected peak $((est_kb * 1024 / 1000000)) MB | | | | | | | | | | | |"
        continue
      fi
      if [ $((est_mb * 1000)) -gt "$(free_kb)" ]; then
        echo "scale.sh: skipping $n paragraphs ($mode): projected disk $est_mb MB exceeds the free space of $dir" >&2
        echo "| $n | $mode: skipped, projected disk $est_mb MB > free disk | | | | | | | | | | | |"
        continue
      fi
    fi
    summary=$dir/summary-$n-$mode.json
    echo "scale.sh: scanning $n paragraphs ($mode)" >&2
    if ! run_scan "$dir/time-$n-$mode.log" "$corpus" -o /dev/null -q --threads 2 \
        --temp-dir "$dir" --summary "$summary" "${memory_flags[@]}" "${flags[@]}"; then
      echo "scale.sh: scan of $n paragraphs ($mode) failed:" >&2
      tail -5 "$dir/time-$n-$mode.log" >&2
      echo "| $n | $mode: failed, peak $((peak_kb * 1024 / 1000000)) MB | | | | | | | | | | | |"
      exit 1
    fi
    prev_peak_kb[$mode]=$peak_kb
    prev_disk_kb[$mode]=$disk_kb
    spilled_mb=$(field "$summary" spilled_mb)
    prev_buffer_kb[$mode]=$(awk -v m="$(field "$summary" buffer_mb)" 'BEGIN { printf "%d", m * 1e6 / 1024 }')
    input=$(field "$summary" input_bytes)
    indexed=$(field "$summary" indexed_paragraphs)
    index_mb=$(field "$summary" index_mb)
    spans=$(sed -n 's/.*"clusters": [0-9]*, "spans": \([0-9]*\).*/\1/p' "$summary")
    awk -v n="$n" -v mode="$mode" -v input="$input" -v s="$wall_s" -v cpu="$cpu_s" \
        -v kb="$peak_kb" -v idx="$index_mb" -v p="$indexed" -v spill="$spilled_mb" \
        -v disk="$disk_kb" -v spans="$spans" 'BEGIN {
      printf "| %d | %s | %.0f | %.1f | %.1f | %.1f | %.0f | %.1f | %d | %.0f | %.0f | %.0f | %d |\n",
        n, mode, input / 1e6, s, cpu, input / 1e6 / s, kb * 1024 / 1e6, idx, p,
        idx * 1e6 / p, spill, disk * 1024 / 1e6, spans }'
  done
  [ "$n" -ne "$max" ] && rm -f "$corpus"
  prev_n=$n
done
[ "$keep" = 1 ] || rm -f "$big"
