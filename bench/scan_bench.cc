// End-to-end scan benchmarks: Reader + Scanner + span report, as the
// `newsdedup scan` command runs them (without the file write).
//
//   ./build/newsdedup_bench --benchmark_filter=Scan
//
// BM_Scan_Reuters reads ../shared/data/reuters-2006-2010.jsonl.zst (182 MB
// decompressed) once per thread count; BM_Reader_Reuters times the reading
// alone (the serial part that threads do not speed up), of the .zst and of
// a gzip and a plain copy. The data folder is, in
// order: $NEWSDEDUP_DATA, the compile definition NEWSDEDUP_BENCH_DATA_DIR,
// "../shared/data" relative to the working directory; the benchmark fails with
// a message when the file is not there. BM_Scan_Synthetic scans an in-memory
// corpus with planted exact and near repeats, so a scan figure exists without
// the data.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "bench_util.h"
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "internal/byte_source.h"
#include "newsdedup/boilerplate.h"
#include "newsdedup/caption.h"
#include "newsdedup/document.h"
#include "newsdedup/output_file.h"
#include "newsdedup/passages.h"
#include "newsdedup/pipeline.h"
#include "newsdedup/reader.h"
#include "newsdedup/report.h"
#include "newsdedup/segment.h"
#include "newsdedup/tokenize.h"

namespace newsdedup {
namespace bench {

namespace {

std::string DataDir() {
  if (const char* env = std::getenv("NEWSDEDUP_DATA"); env && *env) return env;
#ifdef NEWSDEDUP_BENCH_DATA_DIR
  return NEWSDEDUP_BENCH_DATA_DIR;
#else
  return "../shared/data";
#endif
}

struct ScanResult {
  ScanStats stats;
  uint64_t spans = 0;
  uint64_t report_bytes = 0;
};

// Runs the scanner over `docs` (consumed) and formats the report in memory.
ScanResult FinishScan(Scanner& scanner) {
  if (absl::Status s = scanner.Finish(); !s.ok()) {
    std::fprintf(stderr, "scan failed: %s\n", std::string(s.message()).c_str());
    std::abort();
  }
  ScanResult result;
  std::string line;
  scanner.ForEachSpan([&](const SpanRecord& span) {
    line.clear();
    AppendSpanJson(span, &line);
    ++result.spans;
    result.report_bytes += line.size();
  });
  result.stats = scanner.stats();
  return result;
}

// The Reuters file, or "" after failing the benchmark when it is missing.
std::string ReutersPath(benchmark::State& state) {
  const std::string path = DataDir() + "/reuters-2006-2010.jsonl.zst";
  if (!std::ifstream(path).good()) {
    state.SkipWithError((path + ": not found; set NEWSDEDUP_DATA to the folder "
                                "that holds it")
                            .c_str());
    return "";
  }
  return path;
}

// The Reuters file decoded into the temporary folder, as it is or gzipped
// (by OutputFile: level 6, members of 1 MiB), made once per run from the
// .zst and removed at exit; "" after failing the benchmark.
std::string ReutersCopy(benchmark::State& state, const std::string& ext) {
  static std::map<std::string, std::string> made;
  static struct Remove {
    ~Remove() {
      for (const auto& [ext, path] : made) std::remove(path.c_str());
    }
  } remove;
  if (auto it = made.find(ext); it != made.end()) return it->second;
  const std::string from = ReutersPath(state);
  if (from.empty()) return "";
  const std::string path =
      (std::filesystem::temp_directory_path() /
       ("newsdedup_bench_reuters_" + std::to_string(getpid()) + ".jsonl" + ext))
          .string();
  auto fail = [&](const absl::Status& s) {
    state.SkipWithError((path + ": " + s.ToString()).c_str());
    return std::string();
  };
  auto in = internal::ByteSource::Open(from);
  if (!in.ok()) return fail(in.status());
  auto out = OutputFile::Open(path);
  if (!out.ok()) return fail(out.status());
  std::string buf(size_t{1} << 20, '\0');
  while (true) {
    absl::StatusOr<size_t> got = (*in)->Read(buf.data(), buf.size());
    if (!got.ok()) return fail(got.status());
    if (*got == 0) break;
    if (absl::Status s = (*out)->Write(std::string_view(buf.data(), *got));
        !s.ok()) {
      return fail(s);
    }
  }
  if (absl::Status s = (*out)->Commit(); !s.ok()) return fail(s);
  made[ext] = path;
  return path;
}

// The serial input stage alone: decompression, line splitting, JSON
// parsing. Argument: the encoding, 0 the .zst, 1 gzip, 2 none (copies made
// by ReutersCopy, outside the timing).
void BM_Reader_Reuters(benchmark::State& state) {
  static const char* const kExt[] = {".zst", ".gz", ""};
  const std::string ext = kExt[state.range(0)];
  const std::string path =
      ext == ".zst" ? ReutersPath(state) : ReutersCopy(state, ext);
  if (path.empty()) return;
  state.SetLabel(ext.empty() ? "plain" : ext.substr(1));
  uint64_t input_bytes = 0, records = 0, malformed = 0, text_bytes = 0;
  for (auto _ : state) {
    auto reader =
        Reader::Open({path}, ReaderOptions(), [](const Malformed&) {});
    if (!reader.ok()) {
      state.SkipWithError(reader.status().ToString().c_str());
      return;
    }
    Document doc;
    text_bytes = 0;
    while (true) {
      absl::StatusOr<bool> more = (*reader)->Next(&doc);
      if (!more.ok()) {
        state.SkipWithError(more.status().ToString().c_str());
        return;
      }
      if (!*more) break;
      text_bytes += doc.text.size();
    }
    input_bytes = (*reader)->bytes();
    records = (*reader)->records();
    malformed = (*reader)->malformed();
  }
  if (malformed != 0 || records < 50000 || text_bytes == 0) {
    state.SkipWithError(("unexpected result: " + std::to_string(records) +
                         " records, " + std::to_string(malformed) +
                         " malformed")
                            .c_str());
    return;
  }
  state.SetBytesProcessed(static_cast<int64_t>(input_bytes) *
                          static_cast<int64_t>(state.iterations()));
  state.counters["records"] = static_cast<double>(records);
}
BENCHMARK(BM_Reader_Reuters)
    ->DenseRange(0, 2)
    ->Iterations(1)
    ->Unit(benchmark::kSecond);

// The Reuters text fields, read once and kept for the stage benchmarks.
const std::vector<std::string>* ReutersTexts(benchmark::State& state) {
  static const std::vector<std::string>* texts = nullptr;
  if (texts != nullptr) return texts;
  const std::string path = ReutersPath(state);
  if (path.empty()) return nullptr;
  auto reader = Reader::Open({path}, ReaderOptions(), nullptr);
  if (!reader.ok()) {
    state.SkipWithError(reader.status().ToString().c_str());
    return nullptr;
  }
  auto* out = new std::vector<std::string>();
  Document doc;
  while (true) {
    absl::StatusOr<bool> more = (*reader)->Next(&doc);
    if (!more.ok() || !*more) break;
    out->push_back(std::move(doc.text));
  }
  texts = out;
  return texts;
}

// One stage of the scan's per-paragraph work over the Reuters text, in
// memory (no reading): 0 segmenting into paragraphs, 1 tokenizing and
// hashing words, 2 the boilerplate rules, 3 the caption patterns. Bytes
// are text bytes; the counter "found" keeps each stage honest.
void BM_Stage_Reuters(benchmark::State& state) {
  const std::vector<std::string>* texts = ReutersTexts(state);
  if (texts == nullptr) return;
  auto rules = BoilerplateRules::BuiltIn();
  auto captions = CaptionFinder::Create();
  if (!rules.ok() || !captions.ok()) {
    state.SkipWithError("cannot build the rules or captions");
    return;
  }
  std::vector<std::vector<ByteRange>> paragraphs;
  for (const std::string& t : *texts) {
    paragraphs.push_back(SegmentParagraphs(t, {}));
  }
  uint64_t bytes = 0, found = 0;
  std::vector<Token> tokens;
  for (auto _ : state) {
    bytes = found = 0;
    for (size_t d = 0; d < texts->size(); ++d) {
      const std::string_view text((*texts)[d]);
      bytes += text.size();
      switch (state.range(0)) {
        case 0:
          found += SegmentParagraphs(text, {}).size();
          break;
        case 1:
          tokens.clear();
          Tokenize(text, 0, &tokens);
          found += tokens.size();
          break;
        default:
          for (const ByteRange& p : paragraphs[d]) {
            const std::string_view para = text.substr(p.begin, p.end - p.begin);
            found += state.range(0) == 2 ? rules->MatchAll(para).size()
                                         : captions->Find(para).size();
          }
      }
    }
    benchmark::DoNotOptimize(found);
  }
  static const char* const kNames[] = {"segment", "tokenize", "rules",
                                       "captions"};
  state.SetLabel(kNames[state.range(0)]);
  state.SetBytesProcessed(static_cast<int64_t>(bytes) *
                          static_cast<int64_t>(state.iterations()));
  state.counters["found"] = static_cast<double>(found);
}
BENCHMARK(BM_Stage_Reuters)
    ->ArgName("stage")
    ->DenseRange(0, 3)
    ->Unit(benchmark::kMillisecond);

// Exact repeated passages (issue 4) over Reuters, as `newsdedup scan` runs
// them: pass 1 reads, tokenizes and records every 10-word window; pass 2
// reads again and finds the passages. Arg: the memory limit in MiB (512: no
// spill; 32: sorted runs on disk and a record pass, a third read). Both must
// find the same passages (a checksum over every passage and its first
// occurrence is compared).
void BM_Passages_Reuters(benchmark::State& state) {
  const std::string path = ReutersPath(state);
  if (path.empty()) return;
  static uint64_t reference_checksum = 0;
  PassageOptions options;
  options.memory_limit = static_cast<uint64_t>(state.range(0)) << 20;
  uint64_t checksum = 0, passages = 0, passage_bytes = 0, input_bytes = 0;
  PassageStats stats;
  for (auto _ : state) {
    auto finder = PassageFinder::Create(options);
    if (!finder.ok()) {
      state.SkipWithError(finder.status().ToString().c_str());
      return;
    }
    std::vector<Token> tokens;
    // 0: records, 1: the record pass where the records spilled, 2: lookups.
    for (int pass = 0; pass < 3; ++pass) {
      if (pass == 1 && !(*finder)->NeedsRecordPass()) continue;
      auto reader = Reader::Open({path}, ReaderOptions(), nullptr);
      if (!reader.ok()) {
        state.SkipWithError(reader.status().ToString().c_str());
        return;
      }
      Document doc;
      uint32_t ordinal = 0;
      while (true) {
        absl::StatusOr<bool> more = (*reader)->Next(&doc);
        if (!more.ok() || !*more) break;
        tokens.clear();
        Tokenize(doc.text, 0, &tokens);
        if (pass == 0) {
          if (absl::Status st = (*finder)->Add(ordinal, tokens); !st.ok()) {
            state.SkipWithError(st.ToString().c_str());
            return;
          }
        } else if (pass == 1) {
          const absl::Span<const Token> docs[] = {tokens};
          if (absl::Status st = (*finder)->RecordBatch(ordinal, docs);
              !st.ok()) {
            state.SkipWithError(st.ToString().c_str());
            return;
          }
        } else {
          uint32_t last_end = 0;
          for (const Passage& p : (*finder)->Find(ordinal, tokens)) {
            if (p.tokens < 10 || p.range.begin < last_end ||
                p.range.end > doc.text.size()) {
              state.SkipWithError("passage out of bounds or overlapping");
              return;
            }
            last_end = p.range.end;
            ++passages;
            passage_bytes += p.range.end - p.range.begin;
            checksum = checksum * 1000003 + (uint64_t{ordinal} << 32) +
                       p.range.begin + p.first.begin * 7 + p.first_doc * 13;
          }
        }
        ++ordinal;
      }
      input_bytes = (*reader)->bytes();
      absl::Status st;
      if (pass == 0) st = (*finder)->Finish();
      if (pass == 1) st = (*finder)->FinishRecordPass();
      if (!st.ok()) {
        state.SkipWithError(st.ToString().c_str());
        return;
      }
    }
    stats = (*finder)->stats();
  }
  if (reference_checksum == 0) reference_checksum = checksum;
  if (checksum != reference_checksum) {
    state.SkipWithError("the memory limit changed the passages found");
    return;
  }
  state.SetBytesProcessed(static_cast<int64_t>(input_bytes) *
                          static_cast<int64_t>(state.iterations()));
  state.counters["passages"] = static_cast<double>(passages);
  state.counters["passage_MB"] = passage_bytes / 1e6;
  state.counters["runs_spilled"] = static_cast<double>(stats.runs_spilled);
  state.counters["record_bytes_per_word"] =
      stats.windows ? static_cast<double>(stats.peak_record_bytes) /
                          static_cast<double>(stats.windows)
                    : 0.0;
  state.counters["table_bytes_per_word"] =
      stats.windows ? static_cast<double>(stats.table_bytes) /
                          static_cast<double>(stats.windows)
                    : 0.0;
  state.counters["repeated_windows"] =
      static_cast<double>(stats.repeated_windows);
}
BENCHMARK(BM_Passages_Reuters)
    ->Arg(512)
    ->Arg(32)
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();

void BM_Scan_Reuters(benchmark::State& state) {
  const std::string path = ReutersPath(state);
  if (path.empty()) return;
#ifdef __GLIBC__
  // Start from a trimmed heap, as a fresh `newsdedup scan` process does: the
  // ~400 MB a previous run freed otherwise slows the next run by up to 40%
  // (glibc keeps it in fragmented arenas).
  malloc_trim(0);
#endif
  ScanOptions options;
  options.threads = static_cast<int>(state.range(0));
  ScanResult result;
  uint64_t input_bytes = 0, records = 0, malformed = 0;
  for (auto _ : state) {
    auto reader =
        Reader::Open({path}, ReaderOptions(), [](const Malformed&) {});
    auto scanner = Scanner::Create(options);
    if (!reader.ok() || !scanner.ok()) {
      state.SkipWithError(!reader.ok() ? reader.status().ToString().c_str()
                                       : scanner.status().ToString().c_str());
      return;
    }
    Document doc;
    while (true) {
      absl::StatusOr<bool> more = (*reader)->Next(&doc);
      if (!more.ok()) {
        state.SkipWithError(more.status().ToString().c_str());
        return;
      }
      if (!*more) break;
      (*scanner)->Add(std::move(doc));
      doc = Document();
    }
    result = FinishScan(**scanner);
    input_bytes = (*reader)->bytes();
    records = (*reader)->records();
    malformed = (*reader)->malformed();
  }
  // The answer is checked after the run (a separate checking run would double
  // a 4-second benchmark): every record read, something flagged, one span per
  // flagged item, and the same result at every thread count (compared with
  // the first run in this process).
  static ScanStats first_run;
  static bool have_first_run = false;
  if (malformed != 0 || records < 50000 || result.stats.flagged == 0 ||
      result.spans != result.stats.flagged) {
    state.SkipWithError(("unexpected result: " + std::to_string(records) +
                         " records, " + std::to_string(malformed) +
                         " malformed, " + std::to_string(result.stats.flagged) +
                         " flagged")
                            .c_str());
    return;
  }
  if (have_first_run &&
      (first_run.flagged != result.stats.flagged ||
       first_run.clusters != result.stats.clusters ||
       first_run.flagged_bytes != result.stats.flagged_bytes)) {
    state.SkipWithError("result differs between thread counts");
    return;
  }
  first_run = result.stats;
  have_first_run = true;

  state.SetBytesProcessed(static_cast<int64_t>(input_bytes) *
                          static_cast<int64_t>(state.iterations()));
  state.counters["records"] = static_cast<double>(records);
  state.counters["paragraphs"] = static_cast<double>(result.stats.paragraphs);
  state.counters["flagged"] = static_cast<double>(result.stats.flagged);
  state.counters["index_MB"] =
      static_cast<double>(result.stats.index_bytes) / 1e6;
  // DESIGN.md's scan figures are in MB/s of article text (text fields only).
  state.counters["text_bytes_per_second"] =
      benchmark::Counter(static_cast<double>(result.stats.text_bytes),
                         benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(Scanner::SimdTarget());
}
BENCHMARK(BM_Scan_Reuters)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();

// 2000 documents of 4-10 paragraphs (15-80 words). Of the paragraphs after
// the first 100 documents, 15% are exact copies and 10% near copies (one
// word replaced; only of paragraphs of 30+ words, Jaccard >= 0.8) of
// earlier original paragraphs, the rest new text.
struct SyntheticCorpus {
  std::vector<Document> docs;
  uint64_t text_bytes = 0;
  uint64_t planted_exact = 0;
  uint64_t planted_near = 0;
};

const SyntheticCorpus& GetSyntheticCorpus() {
  static const SyntheticCorpus* corpus = [] {
    auto* c = new SyntheticCorpus;
    Rng rng(0x5CA11ED);
    std::vector<std::string> originals;
    struct Original {
      std::string text;
      std::vector<std::pair<uint32_t, uint32_t>> words;
    };
    std::vector<Original> long_originals;
    uint32_t edit = 0;
    for (int d = 0; d < 2000; ++d) {
      Document doc;
      doc.id = "synthetic/" + std::to_string(d);
      doc.site = "site" + std::to_string(rng.Below(20)) + ".example";
      const int paragraphs = 4 + static_cast<int>(rng.Below(7));
      for (int k = 0; k < paragraphs; ++k) {
        if (k > 0) doc.text += "\n\n";
        const uint32_t roll = rng.Below(100);
        if (d >= 100 && roll < 15) {
          doc.text += originals[rng.Below(originals.size())];
          ++c->planted_exact;
        } else if (d >= 100 && roll < 25) {
          // Replace one word with a token no generated text contains.
          const Original& src =
              long_originals[rng.Below(long_originals.size())];
          const auto [begin, end] = src.words[rng.Below(src.words.size())];
          doc.text += src.text.substr(0, begin) + "zq" +
                      std::to_string(edit++) + src.text.substr(end);
          ++c->planted_near;
        } else {
          Original p;
          p.text = SyntheticParagraph(rng.Next(), 15 + rng.Below(66), &p.words);
          doc.text += p.text;
          originals.push_back(p.text);
          if (p.words.size() >= 30) long_originals.push_back(std::move(p));
        }
      }
      c->text_bytes += doc.text.size();
      c->docs.push_back(std::move(doc));
    }
    return c;
  }();
  return *corpus;
}

void BM_Scan_Synthetic(benchmark::State& state) {
  const SyntheticCorpus& corpus = GetSyntheticCorpus();
  ScanOptions options;
  options.threads = static_cast<int>(state.range(0));
  ScanResult result;
  std::vector<Document> docs;
  for (auto _ : state) {
    state.PauseTiming();
    docs = corpus.docs;  // Add() consumes its documents
    state.ResumeTiming();
    auto scanner = Scanner::Create(options);
    if (!scanner.ok()) {
      state.SkipWithError(scanner.status().ToString().c_str());
      return;
    }
    for (Document& doc : docs) (*scanner)->Add(std::move(doc));
    result = FinishScan(**scanner);
  }
  // Every exact copy is found; near copies (Jaccard >= 0.8 > threshold 0.7)
  // are found with LSH recall >= 0.95 at the threshold, so at least 90%
  // here; and nothing beyond what was planted.
  const ScanStats& s = result.stats;
  const uint64_t planted = corpus.planted_exact + corpus.planted_near;
  if (s.flagged_exact < corpus.planted_exact ||
      s.flagged < corpus.planted_exact + corpus.planted_near * 9 / 10 ||
      s.flagged > planted || result.spans != s.flagged) {
    state.SkipWithError(("flagged " + std::to_string(s.flagged) + " (" +
                         std::to_string(s.flagged_exact) + " exact), planted " +
                         std::to_string(corpus.planted_exact) + " exact + " +
                         std::to_string(corpus.planted_near) + " near")
                            .c_str());
    return;
  }
  state.SetBytesProcessed(static_cast<int64_t>(corpus.text_bytes) *
                          static_cast<int64_t>(state.iterations()));
  state.counters["paragraphs"] = static_cast<double>(s.paragraphs);
  state.counters["flagged"] = static_cast<double>(s.flagged);
  state.counters["planted"] = static_cast<double>(planted);
  state.counters["index_MB"] = static_cast<double>(s.index_bytes) / 1e6;
  state.SetLabel(Scanner::SimdTarget());
}
BENCHMARK(BM_Scan_Synthetic)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace bench
}  // namespace newsdedup
