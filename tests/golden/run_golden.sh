#!/usr/bin/env bash
# Golden CLI tests: runs the newsdedup binary on the fixtures in testdata/ and
# compares its output byte for byte with tests/golden/*.expected.
#
#   tests/golden/run_golden.sh BINARY SOURCE_DIR            # check
#   tests/golden/run_golden.sh BINARY SOURCE_DIR --update   # regenerate
#
# Regenerate only after a deliberate change, and read the diff before
# committing it.
set -u
bin=$1
src=$2
update=${3:-}
golden="$src/tests/golden"
cd "$src" || exit 2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

# check NAME EXPECTED_FILE ACTUAL_FILE
check() {
  local name=$1 expected=$2 actual=$3
  if [ "$update" = "--update" ] && [ ! -e "$tmp/updated.$(basename "$expected")" ]; then
    cp "$actual" "$expected"
    touch "$tmp/updated.$(basename "$expected")"
    echo "updated $name"
    return
  fi
  if cmp -s "$expected" "$actual"; then
    echo "ok   $name"
  else
    echo "FAIL $name: output differs from $expected"
    diff "$expected" "$actual" | head -20
    failures=$((failures + 1))
  fi
}

# expect_exit NAME CODE COMMAND...
expect_exit() {
  local name=$1 code=$2
  shift 2
  "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  if [ "$rc" -eq "$code" ]; then
    echo "ok   $name (exit $rc)"
  else
    echo "FAIL $name: exit $rc, expected $code"
    head -5 "$tmp/err"
    failures=$((failures + 1))
  fi
}

"$bin" scan testdata/news-sample.jsonl -q >"$tmp/sample.jsonl"
check "scan news-sample.jsonl" "$golden/scan_sample.expected" "$tmp/sample.jsonl"

for variant in testdata/news-sample.jsonl.gz testdata/news-sample.jsonl.zst; do
  "$bin" scan "$variant" -q >"$tmp/variant.jsonl"
  # Document ids come from the records, so compressed input gives the same
  # report.
  check "scan $variant" "$golden/scan_sample.expected" "$tmp/variant.jsonl"
done

"$bin" scan - -q <testdata/news-sample.jsonl >"$tmp/stdin.jsonl"
check "scan from stdin" "$golden/scan_sample.expected" "$tmp/stdin.jsonl"
# Compressed stdin is JSONL inside (it was once taken for one text file).
for variant in testdata/news-sample.jsonl.gz testdata/news-sample.jsonl.zst; do
  "$bin" scan - -q <"$variant" >"$tmp/stdin-variant.jsonl"
  check "scan from stdin, $variant" "$golden/scan_sample.expected" "$tmp/stdin-variant.jsonl"
done

# More records than one read-ahead batch (64): the report must not depend
# on the thread count.
for i in $(seq 1 12); do
  sed "s/\"id\": \"/\"id\": \"copy$i\//" testdata/news-sample.jsonl
done >"$tmp/many.jsonl"
"$bin" scan "$tmp/many.jsonl" -q --threads 1 >"$tmp/many1.jsonl"
"$bin" scan "$tmp/many.jsonl" -q --threads 3 >"$tmp/many3.jsonl"
check "scan 120 records, 1 and 3 threads" "$tmp/many1.jsonl" "$tmp/many3.jsonl"
"$bin" scan "$tmp/many.jsonl" -q --threads 2 --memory-limit 2 >"$tmp/many-small.jsonl"
check "scan 120 records, --memory-limit 2" "$tmp/many1.jsonl" "$tmp/many-small.jsonl"

# Records whose passage records spill at --memory-limit 2 (1 MB for
# passages): 2,000 records leave few enough windows after filtering for a
# table in memory, counted in pass 2; 20,000 leave too many, and take the
# record pass (passages.h). On 1 and 2 threads, the report must be the
# in-memory one. Each record is one paragraph of four of 40 shared 14-word
# phrases, each followed by words of its own: exact passages inside
# paragraphs, and single windows the filters sort out.
make_phrases() {
  awk -v records="$1" 'BEGIN {
    srand(7)
    n = split("the a of to in and for on said by with at from as its was has " \
              "new over after year market bank company government minister " \
              "people police report state city week price oil talks deal vote", w, " ")
    for (p = 1; p <= 40; p++) {
      s = ""
      for (k = 0; k < 14; k++) s = s (k ? " " : "") w[int(rand() * n) + 1]
      phrase[p] = s
    }
    for (d = 1; d <= records; d++) {
      t = ""
      for (q = 0; q < 4; q++) {
        t = t (q ? " " : "") phrase[int(rand() * 40) + 1]
        for (k = 0; k < 8; k++) t = t " w" d "x" q "x" k
        t = t "."
      }
      printf "{\"id\": \"g%d\", \"title\": \"Story %d\", \"text\": \"%s\"}\n", d, d, t
    }
  }'
}
for records in 2000 20000; do
  make_phrases "$records" >"$tmp/big.jsonl"
  "$bin" scan "$tmp/big.jsonl" -q --threads 2 --summary "$tmp/big-memory.json" >"$tmp/big-memory.jsonl"
  want=0
  [ "$records" = 20000 ] && want=1
  for threads in 1 2; do
    "$bin" scan "$tmp/big.jsonl" -q --threads "$threads" --memory-limit 2 \
      --summary "$tmp/big-summary.json" >"$tmp/big-small.jsonl"
    check "scan $records records, spilled passage records, $threads threads" \
      "$tmp/big-memory.jsonl" "$tmp/big-small.jsonl"
    if ! grep -q "\"record_pass\": $want" "$tmp/big-summary.json" ||
       grep -q '"candidate_windows": 0,' "$tmp/big-summary.json" ||
       ! grep -q '"candidate_windows": 0,' "$tmp/big-memory.json" ||
       [ "$(grep -c '"kind": "span"' "$tmp/big-memory.jsonl")" -lt "$((records / 2))" ] ||
       [ "$(grep -o '"repeated_windows": [0-9]*' "$tmp/big-summary.json")" != \
         "$(grep -o '"repeated_windows": [0-9]*' "$tmp/big-memory.json")" ]; then
      echo "FAIL passages of $records records ($threads threads): not filtered at --memory-limit 2, record_pass not $want, too few passages, or other repeated windows"
      failures=$((failures + 1))
    else
      echo "ok   passages of $records records filtered, record pass $want, $threads threads"
    fi
  done
done

for threads in 2 4; do
  "$bin" scan testdata/news-sample.jsonl -q --threads "$threads" >"$tmp/threads.jsonl"
  check "scan with $threads threads" "$golden/scan_sample.expected" "$tmp/threads.jsonl"
done

"$bin" scan testdata/news-sample.jsonl --report "$tmp/report.jsonl" 2>"$tmp/summary.txt"
check "scan --report FILE" "$golden/scan_sample.expected" "$tmp/report.jsonl"
if ! grep -q "10 records (0 malformed" "$tmp/summary.txt" ||
   ! grep -Eq "phases: read [0-9.]+ s, match [0-9.]+ s, passages [0-9.]+ s, report [0-9.]+ s" "$tmp/summary.txt" ||
   ! grep -Eq "CPU time \(all threads\): read [0-9.]+ s, match [0-9.]+ s, passages [0-9.]+ s, report [0-9.]+ s" "$tmp/summary.txt"; then
  echo "FAIL summary: no record count, phase times or phase CPU times on stderr"
  cat "$tmp/summary.txt"
  failures=$((failures + 1))
else
  echo "ok   summary on stderr"
fi

"$bin" scan testdata/text -q >"$tmp/text.jsonl"
check "scan testdata/text" "$golden/scan_text.expected" "$tmp/text.jsonl"

"$bin" scan testdata/news-sample.jsonl -q --rules testdata/rules-example.txt >"$tmp/rules.jsonl"
check "scan --rules testdata/rules-example.txt" "$golden/scan_rules.expected" "$tmp/rules.jsonl"
# A rules file from a pipe is read once, for every sketching thread.
for k in $(seq 40); do sed "s/\"id\": \"/\"id\": \"copy$k-/" testdata/news-sample.jsonl; done >"$tmp/copies.jsonl"
"$bin" scan "$tmp/copies.jsonl" -q -j1 --rules testdata/rules-example.txt >"$tmp/copies-file.jsonl"
"$bin" scan "$tmp/copies.jsonl" -q -j3 --rules <(cat testdata/rules-example.txt) >"$tmp/copies-pipe.jsonl"
check "scan --rules from a pipe on three threads" "$tmp/copies-file.jsonl" "$tmp/copies-pipe.jsonl"

"$bin" scan testdata/news-sample.jsonl -q --no-structure >"$tmp/plain.jsonl"
check "scan --no-structure" "$golden/scan_no_structure.expected" "$tmp/plain.jsonl"

# eval against hand-made labels; the last line (time) varies and is cut.
# A stricter threshold must show up as missed near paragraphs.
"$bin" eval testdata/news-sample.jsonl -q -l testdata/news-sample.labels.jsonl \
  | sed '$d' >"$tmp/eval.txt"
"$bin" eval testdata/news-sample.jsonl -q -l testdata/news-sample.labels.jsonl \
  --threshold 0.9 --max-edit-words 0 | sed '$d' >>"$tmp/eval.txt"
# A report made earlier (here without news structure) scored with --spans.
"$bin" eval -l testdata/news-sample.labels.jsonl \
  --spans "$golden/scan_no_structure.expected" | sed '$d' >>"$tmp/eval.txt"
check "eval news-sample.labels.jsonl" "$golden/eval_sample.expected" "$tmp/eval.txt"
expect_exit "eval: inputs and --spans" 2 \
  "$bin" eval testdata/news-sample.jsonl -l testdata/news-sample.labels.jsonl \
  --spans "$golden/scan_sample.expected"
expect_exit "eval: malformed label file" 2 \
  "$bin" eval testdata/news-sample.jsonl -q -l testdata/news-sample.jsonl

"$bin" scan testdata/malformed.jsonl -q >"$tmp/malformed.out" 2>"$tmp/malformed.err"
cat "$tmp/malformed.out" "$tmp/malformed.err" >"$tmp/malformed.txt"
check "scan malformed.jsonl (report and diagnostics)" "$golden/scan_malformed.expected" "$tmp/malformed.txt"

# clean: the corpus written back with the flagged spans removed.
"$bin" clean testdata/news-sample.jsonl -o "$tmp/clean.jsonl" -q
check "clean news-sample.jsonl" "$golden/clean_sample.expected" "$tmp/clean.jsonl"
"$bin" clean testdata/news-sample.jsonl -o "$tmp/clean.jsonl.zst" -q
zstd -qdc "$tmp/clean.jsonl.zst" >"$tmp/clean-zst.jsonl"
check "clean to .zst" "$golden/clean_sample.expected" "$tmp/clean-zst.jsonl"
"$bin" clean testdata/news-sample.jsonl -o "$tmp/clean.jsonl.gz" -q
gzip -dc "$tmp/clean.jsonl.gz" >"$tmp/clean-gz.jsonl"
check "clean to .gz" "$golden/clean_sample.expected" "$tmp/clean-gz.jsonl"
"$bin" clean - -o "$tmp/clean-stdin.jsonl" -q <testdata/news-sample.jsonl
check "clean from stdin" "$golden/clean_sample.expected" "$tmp/clean-stdin.jsonl"
"$bin" clean testdata/news-sample.jsonl -o "$tmp/annotated.jsonl" --annotate -q
check "clean --annotate" "$golden/clean_annotate.expected" "$tmp/annotated.jsonl"
"$bin" clean testdata/text -o "$tmp/clean-text.jsonl" -q
check "clean testdata/text (the seed-shaped article)" "$golden/clean_text.expected" "$tmp/clean-text.jsonl"

# Nothing flagged: the output is the input, byte for byte, malformed
# records included (blank lines are not records and are not kept).
{ sed -n '3p;8p' testdata/news-sample.jsonl; grep -av -e '^$' -e 'ok/2' testdata/malformed.jsonl; } >"$tmp/unique.jsonl"
"$bin" clean "$tmp/unique.jsonl" -o "$tmp/unique.out" -q 2>/dev/null
if cmp -s "$tmp/unique.jsonl" "$tmp/unique.out"; then
  echo "ok   clean round trip with nothing flagged is byte-identical"
else
  echo "FAIL clean round trip with nothing flagged differs"
  failures=$((failures + 1))
fi

# --rejects: malformed records go there, in input order, unchanged.
"$bin" clean testdata/malformed.jsonl -o "$tmp/good.jsonl" --rejects "$tmp/rejects.jsonl" -q 2>/dev/null
if [ "$(wc -l <"$tmp/rejects.jsonl")" -eq 5 ] && ! grep -q '"ok/' "$tmp/rejects.jsonl" &&
   [ "$(grep -c '"ok/1"' "$tmp/good.jsonl")" -eq 1 ]; then
  echo "ok   clean --rejects"
else
  echo "FAIL clean --rejects"
  failures=$((failures + 1))
fi

# Inspection outputs.
"$bin" clean testdata/news-sample.jsonl testdata/text -o "$tmp/c.jsonl" -q \
  --clusters "$tmp/clusters.jsonl" --summary "$tmp/summary.json" --html "$tmp/report.html"
check "clean --clusters" "$golden/clusters_sample.expected" "$tmp/clusters.jsonl"
if grep -q '"by_kind"' "$tmp/summary.json" && grep -q '"top_boilerplate"' "$tmp/summary.json" &&
   grep -q 'class="k-headline"' "$tmp/report.html" && grep -q 'class="k-caption"' "$tmp/report.html" &&
   grep -q 'Boilerplate by site' "$tmp/report.html"; then
  echo "ok   clean --summary --html"
else
  echo "FAIL clean --summary --html: missing sections"
  failures=$((failures + 1))
fi
# Bad input: a clear message, a count, and nothing lost.
: >"$tmp/empty.jsonl"
"$bin" clean "$tmp/empty.jsonl" -o "$tmp/empty.out" -q
if [ -f "$tmp/empty.out" ] && [ ! -s "$tmp/empty.out" ]; then
  echo "ok   empty input file gives an empty output"
else
  echo "FAIL empty input file"
  failures=$((failures + 1))
fi
printf '%s\n' '{"id": "same", "text": "The first record with this id has enough words in it."}' \
  '{"id": "same", "text": "A different record reusing the id must be kept as well."}' >"$tmp/dup.jsonl"
"$bin" clean "$tmp/dup.jsonl" -o "$tmp/dup.out" -q --summary "$tmp/dup.json" 2>"$tmp/dup.err"
if cmp -s "$tmp/dup.jsonl" "$tmp/dup.out" && grep -q 'dup.jsonl:2: duplicate id "same" (first at .*dup.jsonl:1)' "$tmp/dup.err" &&
   grep -q '"duplicate_ids": 1' "$tmp/dup.json"; then
  echo "ok   duplicate ids are reported, counted and kept"
else
  echo "FAIL duplicate ids"
  failures=$((failures + 1))
fi
expect_exit "--strict stops at a duplicate id" 1 "$bin" scan "$tmp/dup.jsonl" --strict -q
mkdir -p "$tmp/folder"
cp testdata/news-sample.jsonl "$tmp/folder/a.jsonl"
ln -s "$tmp/no-such-target.jsonl" "$tmp/folder/b-unreadable.jsonl"
"$bin" scan "$tmp/folder" -q >"$tmp/folder.out" 2>"$tmp/folder.err"
if grep -q 'b-unreadable.jsonl: cannot open' "$tmp/folder.err" && [ -s "$tmp/folder.out" ]; then
  echo "ok   an unreadable file in a folder is reported and the rest is read"
else
  echo "FAIL unreadable file in a folder"
  failures=$((failures + 1))
fi
{ printf '{"id": "big", "text": "'; head -c 100000000 /dev/zero | tr '\0' 'a'; printf '"}\n'; } >"$tmp/big.jsonl"
cat testdata/news-sample.jsonl >>"$tmp/big.jsonl"
"$bin" clean "$tmp/big.jsonl" -o "$tmp/big.out" -q --no-passages
if [ "$(head -c 100000030 "$tmp/big.out" | md5sum)" = "$(head -c 100000030 "$tmp/big.jsonl" | md5sum)" ] &&
   [ "$(wc -l <"$tmp/big.out")" -eq 10 ]; then
  echo "ok   a 100 MB line passes through"
else
  echo "FAIL a 100 MB line"
  failures=$((failures + 1))
fi
rm -f "$tmp/big.jsonl" "$tmp/big.out"

expect_exit "clean needs --output" 2 "$bin" clean testdata/news-sample.jsonl

expect_exit "--strict stops at a malformed record" 1 "$bin" scan testdata/malformed.jsonl --strict -q
# Stopped with batches still being sketched on three threads: the exit
# waits for them (it must not end in a crash while they run).
awk 'function words(n,   s, k, w, j) {
       s = ""
       for (k = 0; k < n; ++k) {
         w = ""
         for (j = 0; j < 2 + int(rand() * 7); ++j) w = w sprintf("%c", 97 + int(rand() * 26))
         s = s (k ? " " : "") w
       }
       return s
     }
     BEGIN {
       srand(1)
       for (i = 0; i < 30000; ++i)
         printf "{\"id\": \"r%d\", \"title\": \"%s\", \"text\": \"%s\\n\\n%s\\n\\n%s\"}\n", i, words(9), words(30), words(30), words(30)
       print "{bad"
       for (i = 0; i < 5000; ++i) printf "{\"id\": \"s%d\", \"text\": \"%s\"}\n", i, words(30)
     }' >"$tmp/late-bad.jsonl"
for run in 1 2 3 4 5; do
  expect_exit "--strict stops with batches in flight ($run)" 1 "$bin" scan "$tmp/late-bad.jsonl" --strict -q -j3 --no-passages -o /dev/null
done
expect_exit "--help" 0 "$bin" --help
expect_exit "scan --help" 0 "$bin" scan --help
expect_exit "missing input file" 1 "$bin" scan testdata/no-such-file.jsonl -q
expect_exit "memory limit under 2 MB" 2 "$bin" scan testdata/news-sample.jsonl --memory-limit 1 -q
# A --temp-dir that cannot take files fails before the input is read, and
# says which folder and why.
expect_exit "--temp-dir missing" 2 "$bin" scan testdata/news-sample.jsonl --temp-dir "$tmp/no-such-dir" -q
if ! grep -q "temp-dir $tmp/no-such-dir: No such file or directory" "$tmp/err"; then
  echo "FAIL --temp-dir missing: the error does not name the folder and the reason"
  cat "$tmp/err"
  failures=$((failures + 1))
fi
# A limit beyond the memory available (the RAM, or a container's limit) is
# taken as that memory (its buffers could not be reserved), with a note: the
# same report.
expect_exit "--memory-limit beyond RAM" 0 "$bin" scan testdata/news-sample.jsonl --memory-limit 1e12 -q -o "$tmp/huge-limit.jsonl"
check "scan --memory-limit 1e12" "$golden/scan_sample.expected" "$tmp/huge-limit.jsonl"
if ! grep -q "is more than the [0-9]* MB of memory available here; using" "$tmp/err"; then
  echo "FAIL --memory-limit beyond RAM: no note on stderr"
  failures=$((failures + 1))
fi
# Without --threads, the threads follow the CPUs the process may run on:
# pinned to the first CPU it is allowed (a container's cpuset may leave out
# CPU 0).
first_cpu=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*\([0-9]*\).*/\1/p' /proc/self/status)
if command -v taskset >/dev/null && [ -n "$first_cpu" ] &&
   taskset -c "$first_cpu" true 2>/dev/null; then
  taskset -c "$first_cpu" "$bin" scan testdata/news-sample.jsonl -o "$tmp/one-cpu.jsonl" 2>"$tmp/one-cpu.txt"
  check "scan on one CPU (taskset), default threads" "$golden/scan_sample.expected" "$tmp/one-cpu.jsonl"
  if ! grep -q " 1 thread, " "$tmp/one-cpu.txt"; then
    echo "FAIL default threads on one CPU: not 1 thread"
    grep "time:" "$tmp/one-cpu.txt"
    failures=$((failures + 1))
  else
    echo "ok   default threads on one CPU: 1 thread"
  fi
fi
expect_exit "--temp-dir a file" 2 "$bin" scan testdata/news-sample.jsonl --temp-dir testdata/news-sample.jsonl -q
expect_exit "threshold out of range" 2 "$bin" scan testdata/news-sample.jsonl --threshold 1.5 -q
expect_exit "no subcommand" 2 "$bin"
expect_exit "unknown option" 2 "$bin" scan testdata/news-sample.jsonl --no-such-option

if [ "$failures" -gt 0 ]; then
  echo "$failures golden check(s) failed"
  exit 1
fi
echo "all golden checks passed"
