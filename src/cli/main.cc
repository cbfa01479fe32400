// newsdedup: the command-line face of the library. Flags, progress, the
// summary and exit codes; the work happens in the library.
//
//   newsdedup scan  INPUT... [--report spans.jsonl]
//   newsdedup clean INPUT... --output cleaned.jsonl.zst [--report ...]
//                   [--clusters ...] [--summary ...] [--html ...]
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/cleanup/cleanup.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/prefetch.h"
#include "cli/progress.h"
#include "internal/batch_pipeline.h"
#include "internal/byte_source.h"
#include "internal/parallel_for.h"
#include "internal/system_resources.h"
#include "newsdedup/clean.h"
#include "newsdedup/eval.h"
#include "newsdedup/inspect.h"
#include "newsdedup/output_file.h"
#include "newsdedup/passages.h"
#include "newsdedup/pipeline.h"
#include "newsdedup/reader.h"
#include "newsdedup/report.h"
#include "newsdedup/tokenize.h"

namespace {

using newsdedup::InputFormat;
using Clock = std::chrono::steady_clock;

// Flags shared by scan and clean.
struct Flags {
  std::vector<std::string> inputs;
  int threads = 0;          // --threads; 0: DefaultThreads()
  std::string memory_note;  // Resolve's, printed once the options are valid
  std::string report;       // scan: "-" by default
  std::string clusters;
  std::string summary;
  std::string html;
  std::string output;      // clean
  std::string rejects;     // clean
  std::string labels;      // eval
  std::string eval_json;   // eval
  std::string eval_spans;  // eval: score this report instead of scanning
  std::string format = "auto";
  bool strict = false;
  bool quiet = false;
  bool no_split_lines = false;
  bool no_split_double_space = false;
  bool no_structure = false;
  bool no_builtin_rules = false;
  bool annotate = false;
  bool no_passages = false;
  bool passages_enabled = true;     // resolved from no_passages
  double memory_limit_mb = -1;      // < 0: a quarter of the memory available
  uint64_t memory_limit_bytes = 0;  // what Resolve made of it
  newsdedup::PassageOptions passages;
  newsdedup::ReaderOptions reader;
  newsdedup::ScanOptions scan;
  newsdedup::CleanOptions clean;
};

void AddCommonOptions(CLI::App* cmd, Flags& f) {
  cmd->add_option("inputs", f.inputs,
                  "JSONL files, text files, folders, or - for stdin (.gz and "
                  ".zst are decompressed)")
      ->required();
  cmd->add_option("--format", f.format, "input format")
      ->check(CLI::IsMember({"auto", "jsonl", "text"}))
      ->capture_default_str();
  cmd->add_option("--id-field", f.reader.id_field,
                  "JSON field of the record id")
      ->capture_default_str();
  cmd->add_option("--title-field", f.reader.title_field,
                  "JSON field of the headline")
      ->capture_default_str();
  cmd->add_option("--text-field", f.reader.text_field,
                  "JSON field of the body text")
      ->capture_default_str();
  cmd->add_option("--site-field", f.reader.site_field,
                  "JSON field of the site (falls back to the host of the url)")
      ->capture_default_str();
  cmd->add_option("--url-field", f.reader.url_field, "JSON field of the URL")
      ->capture_default_str();
  cmd->add_option("--threshold,-t", f.scan.threshold,
                  "minimum Jaccard similarity of shingle sets, in (0, 1)")
      ->capture_default_str();
  cmd->add_option("--shingle", f.scan.shingle_size, "words per shingle, 1-16")
      ->capture_default_str();
  cmd->add_option("--num-perm", f.scan.num_perm,
                  "MinHash signature size, a multiple of 8 in 8-1024")
      ->capture_default_str();
  cmd->add_option("--bands", f.scan.bands,
                  "LSH bands (0: chosen from the threshold; needs --rows)")
      ->capture_default_str();
  cmd->add_option("--rows", f.scan.rows, "LSH rows per band (with --bands)")
      ->capture_default_str();
  cmd->add_option("--max-edit-words", f.scan.max_edit_words,
                  "paragraphs of 20+ words differing by at most this many "
                  "edited words also match (0: Jaccard only)")
      ->capture_default_str();
  cmd->add_option("--min-tokens", f.scan.min_tokens,
                  "shorter paragraphs (in words) are matched exactly only")
      ->capture_default_str();
  cmd->add_option("--min-exact-tokens", f.scan.min_exact_tokens,
                  "shorter paragraphs (in words) are not reported")
      ->capture_default_str();
  cmd->add_option("--threads,-j", f.threads,
                  "threads for every phase; 0: the cores available (the CPU "
                  "affinity, or a container's CPU quota where lower)")
      ->capture_default_str();
  cmd->add_option("--seed", f.scan.seed, "MinHash seed")->capture_default_str();
  cmd->add_flag("--no-split-lines", f.no_split_lines,
                "only blank lines end paragraphs");
  cmd->add_flag("--no-split-double-space", f.no_split_double_space,
                "two spaces after a sentence do not end a paragraph");
  cmd->add_flag("--no-structure", f.no_structure,
                "repeated paragraphs only (no headlines, captions or "
                "boilerplate)");
  cmd->add_option("--rules", f.scan.rules_file,
                  "extra boilerplate rules file (lines of `line|trailer NAME "
                  "REGEX`)");
  cmd->add_flag("--no-builtin-rules", f.no_builtin_rules,
                "do not use the built-in boilerplate rules");
  cmd->add_option("--boilerplate-docs", f.scan.boilerplate_min_docs,
                  "text under at least this many stories of one site is "
                  "boilerplate (0: off)")
      ->capture_default_str();
  cmd->add_option("--headline-min-words", f.scan.headline_min_words,
                  "shorter headlines are not matched across documents")
      ->capture_default_str();
  cmd->add_flag("--no-passages", f.no_passages,
                "do not look for exact repeated passages inside paragraphs");
  cmd->add_option("--passage-words", f.passages.min_tokens,
                  "shortest repeated passage reported, in words")
      ->capture_default_str();
  cmd->add_option("--memory-limit", f.memory_limit_mb,
                  "MB of sort buffers (passage records, LSH band records, "
                  "fingerprints, candidate pairs) held in memory before they "
                  "spill to disk (--temp-dir); the report does not depend on "
                  "it (default: a quarter of the RAM, or of a container's "
                  "memory limit where lower; at most that memory)");
  cmd->add_option("--temp-dir", f.passages.temp_dir,
                  "folder for spilled runs (default: $TMPDIR or /tmp)");
  cmd->add_option("--clusters", f.clusters,
                  "write each cluster with its members and kept copy (JSONL)");
  cmd->add_option("--summary", f.summary, "write the run summary (JSON)");
  cmd->add_option("--html", f.html,
                  "write a self-contained HTML report to open in a browser");
  cmd->add_flag("--strict", f.strict,
                "stop with an error at the first malformed record");
  cmd->add_flag("--quiet,-q", f.quiet, "no progress and no summary on stderr");
}

// Threads without --threads: the cores available (the affinity mask, or a
// container's CPU quota where lower), at most 16 (each thread holds a few MB
// of patterns and batches outside --memory-limit, and more than 16 have not
// been measured), and one per 64 MB of memory available.
int DefaultThreads(uint64_t available_memory) {
  int threads = std::min(newsdedup::internal::AvailableCores(), 16);
  if (available_memory > 0) {
    const uint64_t by_memory = available_memory / (uint64_t{64} << 20);
    threads = static_cast<int>(
        std::min<uint64_t>(static_cast<uint64_t>(threads), by_memory));
  }
  return std::max(threads, 1);
}

void Resolve(Flags& f) {
  if (f.format == "jsonl") {
    f.reader.format = InputFormat::kJsonl;
  } else if (f.format == "text") {
    f.reader.format = InputFormat::kText;
  }
  f.reader.strict = f.strict;
  // The RAM, or a container's (control group's) limit where lower.
  const uint64_t available = newsdedup::internal::AvailableMemoryBytes();
  // Negative counts stay, for ScanOptions::Validate to refuse.
  f.scan.threads = f.threads != 0 ? f.threads : DefaultThreads(available);
  // With a core to spare, decompression overlaps the rest (every pass).
  f.reader.read_ahead = f.scan.threads > 1;
  f.scan.segment.split_lines = !f.no_split_lines;
  f.scan.segment.split_double_space = !f.no_split_double_space;
  f.scan.text_field = f.reader.text_field;
  f.scan.title_field = f.reader.title_field;
  f.scan.news_structure = !f.no_structure;
  f.scan.builtin_rules = !f.no_builtin_rules;
  f.passages_enabled = !f.no_passages;
  f.passages.threads = f.scan.threads;
  f.scan.temp_dir = f.passages.temp_dir;
  // The budget: half for the passage records, half for matching (all of it
  // without passages). Both buffers fill during the read.
  uint64_t budget = 0;
  if (f.memory_limit_mb < 0) {
    budget = available > 0 ? available / 4 : uint64_t{1} << 30;
  } else if (f.memory_limit_mb > 0) {
    // The buffers reserve their share of the budget up front (backed only
    // as written): more than the memory available would not be granted,
    // and filled it could only swap or be killed. Such a limit is taken as
    // three quarters of what is available (the rest for the index, the
    // tables and the threads).
    const double bytes = std::min(f.memory_limit_mb * (1 << 20), 0x1p62);
    if (available > 0 && bytes > static_cast<double>(available)) {
      budget = available / 4 * 3;
      f.memory_note = absl::StrFormat(
          "--memory-limit %g MB is more than the %d MB of memory available "
          "here; using %d MB",
          f.memory_limit_mb, available >> 20, budget >> 20);
    } else {
      budget = static_cast<uint64_t>(bytes);
    }
  }
  f.memory_limit_bytes = budget;
  f.passages.memory_limit = f.passages_enabled ? budget / 2 : 0;
  f.scan.memory_limit = budget - f.passages.memory_limit;
}

int Fail(std::string_view message) {
  std::cerr << "newsdedup: " << message << "\n";
  return 1;
}

int Fail(const absl::Status& status) {
  return Fail(
      std::string_view(status.message().data(), status.message().size()));
}

double PeakRssMb() {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;  // kilobytes on Linux
}

// Writes `bytes` to `path` atomically.
absl::Status WriteWhole(const std::string& path, std::string_view bytes) {
  auto out = newsdedup::OutputFile::Open(path);
  if (!out.ok()) return out.status();
  absl::Status s = (*out)->Write(bytes);
  if (!s.ok()) return s;
  return (*out)->Commit();
}

// User and system time of every thread of the process so far.
double ProcessCpuSeconds() {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) /
             1e6;
}

// Pass 1, shared by scan and clean: read everything, match, collect spans.
struct ScanRun {
  std::unique_ptr<newsdedup::PassageFinder> passages;  // null: --no-passages
  std::vector<newsdedup::SpanRecord> spans;
  newsdedup::ScanStats stats;  // the scanner's, plus passage spans
  newsdedup::RunTotals totals;
  // Per record (by ordinal), for passage provenance: ids and sites.
  std::vector<std::string> doc_ids;
  std::vector<uint32_t> doc_sites;
  absl::flat_hash_map<std::string, uint32_t> site_ids;
  // The first error of the passage finder's Add, from any sketching thread.
  std::mutex sink_mu;
  absl::Status sink_status;
  std::atomic<bool> sink_failed{false};
  absl::Status SinkStatus() {
    std::lock_guard<std::mutex> lock(sink_mu);
    return sink_status;
  }
  // Ends the phase `name` of totals.phase_seconds and phase_cpu_seconds:
  // its wall time and the process's CPU time since the previous one ended
  // (or the run began).
  Clock::time_point phase_start = Clock::now();
  double phase_start_cpu = ProcessCpuSeconds();
  void EndPhase(const char* name) {
    const Clock::time_point now = Clock::now();
    const double cpu = ProcessCpuSeconds();
    totals.phase_seconds.emplace_back(
        name, std::chrono::duration<double>(now - phase_start).count());
    totals.phase_cpu_seconds.emplace_back(name, cpu - phase_start_cpu);
    phase_start = now;
    phase_start_cpu = cpu;
  }
  // Last, so it is destroyed first: its destructor waits for sketching
  // threads that may still call into the members above.
  std::unique_ptr<newsdedup::Scanner> scanner;
};

// A command that succeeded leaves its run to the process exit, which comes
// right after: freeing the run's tables piece by piece (strings and table
// entries by the million) cost 20-30 ms of a one-second scan, on one
// thread, for memory nobody else would use. Its scanner's workers are idle
// by then. (A command that fails destroys its run as usual: the scanner
// may still be sketching, and its destructor waits for that.) Reached from
// a static, so leak checkers do not count it.
void KeepToExit(std::unique_ptr<ScanRun> run) {
  static std::vector<ScanRun*>* const kept = new std::vector<ScanRun*>();
  kept->push_back(run.release());
}

// Between the passes when the passage records spilled: every record once
// more through PassageFinder::RecordBatch (see passages.h).
absl::Status RunRecordPass(const Flags& f, ScanRun* run) {
  newsdedup::ReaderOptions options = f.reader;
  options.strict = false;
  auto reader = newsdedup::Reader::Open(f.inputs, options, nullptr);
  if (!reader.ok()) return reader.status();
  // The reading thread only reads: the lookups are light, so the texts are
  // tokenized on all threads instead.
  newsdedup::cli::Prefetcher prefetch(reader->get(), f.scan.threads > 1);
  newsdedup::cli::Progress progress("passage records", !f.quiet);
  constexpr size_t kBatchDocuments = 512;
  std::vector<newsdedup::cli::Prefetcher::Item> batch(kBatchDocuments);
  std::vector<std::vector<newsdedup::Token>> tokens(kBatchDocuments);
  std::vector<absl::Span<const newsdedup::Token>> batch_tokens;
  uint32_t ordinal = 0;
  bool more = true;
  while (more) {
    size_t n = 0;
    while (n < kBatchDocuments) {
      auto next = prefetch.Next(&batch[n]);
      if (!next.ok()) {
        progress.Done();
        return next.status();
      }
      if (!*next) {
        more = false;
        break;
      }
      ++n;
    }
    newsdedup::internal::ParallelFor(n, f.scan.threads, [&](size_t k) {
      tokens[k].clear();
      newsdedup::Tokenize(batch[k].doc.text, 0, &tokens[k]);
    });
    batch_tokens.assign(tokens.begin(), tokens.begin() + n);
    absl::Status s = run->passages->RecordBatch(ordinal, batch_tokens);
    if (!s.ok()) {
      progress.Done();
      return s;
    }
    ordinal += static_cast<uint32_t>(n);
    if (n > 0) progress.Update(ordinal, batch[n - 1].bytes_read);
  }
  progress.Done();
  return run->passages->FinishRecordPass();
}

absl::Status RunPassOne(const Flags& f, ScanRun* run) {
  // The sketching workers decompress ahead between documents: a thread of
  // its own would compete with them and this one for the cores.
  newsdedup::ReaderOptions reader_options = f.reader;
  reader_options.pumped = f.scan.threads > 1;
  auto reader = newsdedup::Reader::Open(
      f.inputs, reader_options,
      [](const newsdedup::Malformed& m) { std::cerr << m.ToString() << "\n"; });
  if (!reader.ok()) return reader.status();
  auto scanner = newsdedup::Scanner::Create(f.scan);
  if (!scanner.ok()) return scanner.status();
  run->scanner = std::move(*scanner);
  if (reader_options.pumped) {
    run->scanner->SetWorkerTask([r = reader->get()] { r->Pump(); });
  }
  // Cleared before the reader goes: no worker may pump it after that.
  absl::Cleanup stop_pumping = [run] { run->scanner->SetWorkerTask(nullptr); };
  if (f.passages_enabled) {
    auto finder = newsdedup::PassageFinder::Create(f.passages);
    if (!finder.ok()) return finder.status();
    run->passages = std::move(*finder);
    // The scanner tokenizes every text once; the passage finder reuses it,
    // on the sketching threads (its records do not depend on order).
    run->scanner->SetShardedTokenSink(
        [run](int shard, uint32_t ordinal,
              absl::Span<const newsdedup::Token> tokens) {
          if (run->sink_failed.load()) return;
          absl::Status s = run->passages->Add(shard, ordinal, tokens);
          if (!s.ok()) {
            std::lock_guard<std::mutex> lock(run->sink_mu);
            if (run->sink_status.ok()) run->sink_status = s;
            run->sink_failed.store(true);
          }
        });
  }
  newsdedup::cli::Progress progress("reading", !f.quiet);
  // id -> where it was first seen: an index into `sources` and a line (not
  // a "file:line" string: 12.5M records would spend 1 GB on those).
  std::vector<std::string> sources;
  absl::flat_hash_map<std::string, std::pair<uint32_t, uint64_t>> first_seen;
  newsdedup::Document doc;
  while (true) {
    auto more = (*reader)->Next(&doc);
    if (!more.ok()) {
      progress.Done();
      // The record itself was reported through the callback.
      return absl::DataLossError(
          "stopped at the first malformed record (--strict)");
    }
    if (!*more) break;
    if (run->sink_failed.load()) return run->SinkStatus();
    // A duplicate id is reported and counted; the record is still used
    // (and written back by clean), so nothing is lost.
    if (sources.empty() || sources.back() != doc.source) {
      sources.push_back(doc.source);
    }
    auto [seen, fresh] = first_seen.try_emplace(
        doc.id, static_cast<uint32_t>(sources.size() - 1), doc.line);
    if (!fresh) {
      ++run->totals.duplicate_ids;
      std::cerr << doc.source << ":" << doc.line << ": duplicate id \""
                << doc.id << "\" (first at " << sources[seen->second.first]
                << ":" << seen->second.second << ")\n";
      if (f.strict) {
        progress.Done();
        return absl::DataLossError(
            "stopped at the first duplicate id (--strict)");
      }
    }
    run->doc_ids.push_back(doc.id);
    auto site = run->site_ids.try_emplace(
        doc.site, static_cast<uint32_t>(run->site_ids.size() + 1));
    run->doc_sites.push_back(doc.site.empty() ? 0 : site.first->second);
    run->scanner->Add(&doc);
    progress.Update((*reader)->records(), (*reader)->bytes());
  }
  progress.Done();
  run->scanner->Flush();  // the last passage records
  run->EndPhase("read");
  run->totals.records = (*reader)->records() + (*reader)->malformed();
  run->totals.malformed = (*reader)->malformed();
  run->totals.input_bytes = (*reader)->bytes();
  // With threads to spare, what only the reading needed (the ids seen, the
  // reader and its buffers) is freed beside the matching: 9-12 ms of
  // frees on Reuters 2006-2010.
  std::thread release;
  absl::Cleanup join_release = [&release] {
    if (release.joinable()) release.join();
  };
  if (f.scan.threads > 1) {
    run->scanner->SetWorkerTask(nullptr);
    release = std::thread(
        [ids = std::move(first_seen), r = std::move(*reader)]() mutable {
          ids = {};
          r.reset();
        });
  }
  if (run->sink_failed.load()) return run->SinkStatus();
  // With threads to spare, the passage table is built while the scanner
  // matches: they share nothing, and each has serial steps the other can
  // fill. (A record pass, where the passage records spilled, waits for the
  // matching: the matcher's runs are then on disk too.)
  absl::Status passages_status;
  std::thread passages_finish;
  if (run->passages && f.scan.threads > 1) {
    passages_finish =
        std::thread([&]() { passages_status = run->passages->Finish(); });
  }
  absl::Status scanner_status = run->scanner->Finish();
  if (passages_finish.joinable()) {
    passages_finish.join();
  } else if (run->passages && scanner_status.ok()) {
    passages_status = run->passages->Finish();
  }
  run->EndPhase("match");
  if (!scanner_status.ok()) return scanner_status;
  if (!passages_status.ok()) return passages_status;
  run->spans = run->scanner->Spans();
  run->stats = run->scanner->stats();
  if (run->passages) {
    run->stats.spilled_bytes += run->passages->stats().bytes_spilled;
    run->stats.buffer_bytes += run->passages->stats().peak_record_bytes;
  }
  run->totals.threads = f.scan.threads;
  run->totals.memory_limit_mb =
      static_cast<double>(f.memory_limit_bytes) / (1 << 20);
  run->totals.simd = newsdedup::Scanner::SimdTarget();
  return absl::OkStatus();
}

// Pass 2: the exact repeated passages of every record, minus what the
// scanner already reported, merged into the spans in report order.
absl::Status RunPassagePass(const Flags& f, ScanRun* run) {
  if (!run->passages) return absl::OkStatus();
  newsdedup::ReaderOptions options = f.reader;
  options.strict = false;
  const uint64_t spilled_before = run->passages->stats().bytes_spilled;
  const uint64_t peak_before = run->passages->stats().peak_record_bytes;
  if (run->passages->NeedsRecordPass()) {
    absl::Status s = RunRecordPass(f, run);
    if (!s.ok()) return s;
  }
  // With threads to spare, the threads of the pass decompress ahead when
  // they have nothing else to do, instead of a thread of its own.
  const int threads = f.scan.threads;
  options.pumped = threads > 1;
  auto reader = newsdedup::Reader::Open(f.inputs, options, nullptr);
  if (!reader.ok()) return reader.status();
  std::vector<newsdedup::SpanRecord> merged;
  merged.reserve(run->spans.size());
  // Passage spans whose counts pass 2 settles: their index in merged and
  // their window's table entry.
  const bool counts_later = run->passages->CountsInPass2();
  std::vector<uint64_t> later_spans;
  std::vector<uint32_t> later_entries;
  absl::flat_hash_map<uint64_t, uint32_t> clusters;  // first location -> id
  uint32_t next_cluster = static_cast<uint32_t>(run->stats.clusters) + 1;
  size_t next = 0;
  uint32_t ordinal = 0;
  std::vector<newsdedup::ByteRange> covered;
  // Boilerplate ranges per record, for passages whose first copy is one.
  absl::flat_hash_map<uint32_t, std::vector<newsdedup::ByteRange>> boilerplate;
  newsdedup::cli::Progress progress("passages", !f.quiet);
  // Records go through the pass in batches, on all threads: read, then
  // tokenized and looked up in the passage table (any thread), settled in
  // order (where each window first occurs), assembled into passages (any
  // thread), and merged with the spans in order.
  struct Batch {
    size_t n = 0;  // records in it; the vectors may be longer
    uint32_t first_ordinal = 0;
    std::vector<newsdedup::Document> docs;
    std::vector<uint64_t> bytes_read;  // input bytes read up to each record
    std::vector<std::vector<newsdedup::Token>> tokens;
    std::vector<absl::Span<const newsdedup::Token>> spans;  // of tokens
    newsdedup::PassageBatch hits;
    std::vector<std::vector<newsdedup::Passage>> found;
  };
  constexpr size_t kBatchDocuments = 64;
  constexpr size_t kBatchBytes = size_t{1} << 20;
  newsdedup::internal::PipelineOptions pipeline;
  pipeline.threads = threads;
  // Two batches a thread: more under way made the pass slower (colder
  // text) for the same work.
  pipeline.slots = threads > 1 ? 2 * static_cast<size_t>(threads) : 1;
  if (options.pumped) pipeline.idle = [r = reader->get()] { return r->Pump(); };
  std::vector<Batch> batches(pipeline.slots);
  uint32_t read_ordinal = 0;
  auto read = [&](size_t slot) -> absl::StatusOr<bool> {
    Batch& batch = batches[slot];
    batch.n = 0;
    batch.first_ordinal = read_ordinal;
    size_t bytes = 0;
    while (batch.n < kBatchDocuments && bytes < kBatchBytes) {
      if (batch.docs.size() == batch.n) {
        batch.docs.emplace_back();
        batch.bytes_read.push_back(0);
        batch.tokens.emplace_back();
      }
      // A record of more text than a batch holds does not keep its memory
      // in the slot for the rest of the pass.
      newsdedup::Document& doc = batch.docs[batch.n];
      std::vector<newsdedup::Token>& tokens = batch.tokens[batch.n];
      if (doc.text.capacity() > kBatchBytes) doc = newsdedup::Document();
      if (tokens.capacity() > kBatchBytes / sizeof(newsdedup::Token)) {
        std::vector<newsdedup::Token>().swap(tokens);
      }
      auto more = (*reader)->Next(&doc);
      if (!more.ok()) return more.status();
      if (!*more) break;
      bytes += doc.text.size();
      batch.bytes_read[batch.n] = (*reader)->bytes();
      ++batch.n;
    }
    read_ordinal += static_cast<uint32_t>(batch.n);
    return batch.n > 0;
  };
  auto look_up = [&](size_t slot) {
    Batch& batch = batches[slot];
    batch.spans.clear();
    for (size_t k = 0; k < batch.n; ++k) {
      batch.tokens[k].clear();
      newsdedup::Tokenize(batch.docs[k].text, 0, &batch.tokens[k]);
      batch.spans.push_back(batch.tokens[k]);
    }
    run->passages->LookUp(batch.spans, &batch.hits);
  };
  auto settle = [&](size_t slot) {
    Batch& batch = batches[slot];
    run->passages->Settle(batch.first_ordinal, batch.spans, &batch.hits);
  };
  auto assemble = [&](size_t slot) {
    Batch& batch = batches[slot];
    run->passages->Assemble(batch.first_ordinal, batch.spans, batch.hits,
                            &batch.found);
  };
  auto merge = [&](size_t slot) {
    const Batch& batch = batches[slot];
    for (size_t b = 0; b < batch.n; ++b) {
      const newsdedup::Document& doc = batch.docs[b];
      const std::vector<newsdedup::Token>& tokens = batch.tokens[b];
      covered.clear();
      const size_t begin = next;
      while (next < run->spans.size() &&
             run->spans[next].doc_ordinal == ordinal) {
        const newsdedup::SpanRecord& s = run->spans[next];
        const bool in_text =
            s.at.field != f.reader.title_field || doc.title_offset >= 0;
        if (in_text) covered.push_back({s.at.start, s.at.end});
        ++next;
      }
      std::sort(
          covered.begin(), covered.end(),
          [](const newsdedup::ByteRange& a, const newsdedup::ByteRange& b) {
            return a.begin < b.begin;
          });
      // Boilerplate of this record: passages repeating it later are not
      // repeats of a kept copy (every copy of boilerplate goes).
      for (size_t k = begin; k < next; ++k) {
        const newsdedup::SpanRecord& sp = run->spans[k];
        if (sp.kind == newsdedup::SpanKind::kBoilerplate &&
            (sp.at.field != f.reader.title_field || doc.title_offset >= 0)) {
          boilerplate[ordinal].push_back({sp.at.start, sp.at.end});
        }
      }
      std::vector<newsdedup::Passage> found = newsdedup::SubtractCovered(
          batch.found[b], covered, tokens, f.passages.min_tokens);
      found.erase(std::remove_if(
                      found.begin(), found.end(),
                      [&](const newsdedup::Passage& p) {
                        auto it = boilerplate.find(p.first_doc);
                        if (it == boilerplate.end()) return false;
                        for (const newsdedup::ByteRange& r : it->second) {
                          if (r.begin < p.first.end && p.first.begin < r.end) {
                            return true;
                          }
                        }
                        return false;
                      }),
                  found.end());
      // Interleave the record's spans and its passages by (field, offset);
      // the title field sorts first.
      size_t k = begin;
      auto title_first = [&](const newsdedup::SpanRecord& s) {
        return s.at.field == f.reader.title_field && doc.title_offset < 0;
      };
      for (const newsdedup::Passage& p : found) {
        while (k < next && (title_first(run->spans[k]) ||
                            run->spans[k].at.start < p.range.begin)) {
          merged.push_back(run->spans[k++]);
        }
        newsdedup::SpanRecord s;
        s.at = {run->doc_ids[ordinal], f.reader.text_field, p.range.begin,
                p.range.end};
        s.doc_ordinal = ordinal;
        s.kind = newsdedup::SpanKind::kSpan;
        s.match = newsdedup::MatchType::kExact;
        s.similarity = 1.0;
        s.first = {run->doc_ids[p.first_doc], f.reader.text_field,
                   p.first.begin, p.first.end};
        s.first_ordinal = p.first_doc;
        s.has_first = true;
        s.scope = p.first_doc == ordinal ? newsdedup::Scope::kSameDocument
                  : (run->doc_sites[ordinal] != 0 &&
                     run->doc_sites[ordinal] == run->doc_sites[p.first_doc])
                      ? newsdedup::Scope::kSameSite
                      : newsdedup::Scope::kCrossSite;
        const uint64_t key = (uint64_t{p.first_doc} << 32) | p.first.begin;
        auto [it, fresh] = clusters.try_emplace(key, next_cluster);
        if (fresh) ++next_cluster;
        s.cluster = it->second;
        s.count = p.count;
        if (counts_later) {
          later_spans.push_back(merged.size());
          later_entries.push_back(p.entry);
        }
        merged.push_back(s);
        ++run->stats.flagged;
        ++run->stats.flagged_exact;
        run->stats.flagged_bytes += p.range.end - p.range.begin;
        ++run->stats
              .spans_by_kind[static_cast<int>(newsdedup::SpanKind::kSpan)];
        run->stats
            .bytes_by_kind[static_cast<int>(newsdedup::SpanKind::kSpan)] +=
            p.range.end - p.range.begin;
      }
      while (k < next) merged.push_back(run->spans[k++]);
      ++ordinal;
      progress.Update(ordinal, batch.bytes_read[b]);
    }
  };
  const newsdedup::internal::PipelineStage stages[] = {
      {false, look_up}, {true, settle}, {false, assemble}, {true, merge}};
  if (absl::Status s = newsdedup::internal::RunPipeline(pipeline, read, stages);
      !s.ok()) {
    progress.Done();
    return s;
  }
  progress.Done();
  // Counts settled by pass 2 itself (see PassageFinder::CountsInPass2).
  if (absl::Status s = run->passages->EndPass2(); !s.ok()) return s;
  newsdedup::Passage p;  // what FinalCount reads: the entry
  for (size_t k = 0; k < later_spans.size(); ++k) {
    p.entry = later_entries[k];
    merged[later_spans[k]].count = run->passages->FinalCount(p);
  }
  run->stats.clusters = next_cluster - 1;
  run->spans = std::move(merged);
  const newsdedup::PassageStats& ps = run->passages->stats();
  run->stats.spilled_bytes += ps.bytes_spilled - spilled_before;
  run->stats.buffer_bytes += ps.peak_record_bytes - peak_before;
  run->totals.passage_figures = {
      {"windows", ps.windows},
      {"repeated_windows", ps.repeated_windows},
      {"record_pass", ps.record_pass ? 1 : 0},
      {"candidate_windows", ps.candidate_windows},
      {"recorded_occurrences", ps.recorded_occurrences},
      {"table_bytes", ps.table_bytes},
      {"spilled_bytes", ps.bytes_spilled}};
  return absl::OkStatus();
}

absl::Status WriteReport(const std::string& path,
                         const std::vector<newsdedup::SpanRecord>& spans,
                         int threads) {
  auto out = newsdedup::OutputFile::Open(path, threads);
  if (!out.ok()) return out.status();
  // Chunks of spans are formatted on all threads, a group at a time, and
  // written in order. Small chunks, whose buffers are used again group
  // after group: fresh memory for the whole report cost more in page
  // faults than the formatting on a second thread saved.
  constexpr size_t kChunk = 1024;
  const size_t chunks = (spans.size() + kChunk - 1) / kChunk;
  const size_t group = static_cast<size_t>(std::max(1, threads)) * 2;
  // A cache line each: the threads append to them side by side.
  struct alignas(64) Text {
    std::string text;
  };
  std::vector<Text> text(std::min(group, std::max<size_t>(chunks, 1)));
  for (size_t first = 0; first < chunks; first += group) {
    const size_t n = std::min(group, chunks - first);
    newsdedup::internal::ParallelFor(n, threads, [&](size_t k) {
      std::string& buffer = text[k].text;
      buffer.clear();
      const size_t begin = (first + k) * kChunk;
      const size_t end = std::min(spans.size(), begin + kChunk);
      for (size_t i = begin; i < end; ++i) {
        newsdedup::AppendSpanJson(spans[i], &buffer);
      }
    });
    for (size_t k = 0; k < n; ++k) {
      absl::Status st = (*out)->Write(text[k].text);
      if (!st.ok()) return st;
    }
  }
  return (*out)->Commit();
}

void PrintSummary(const newsdedup::ScanStats& s, const newsdedup::RunTotals& t,
                  bool clean) {
  std::string kinds;
  for (int k = 0; k < 5; ++k) {
    if (s.spans_by_kind[k] == 0) continue;
    absl::StrAppend(&kinds, kinds.empty() ? "" : ", ", s.spans_by_kind[k], " ",
                    std::string(newsdedup::SpanKindName(
                        static_cast<newsdedup::SpanKind>(k))),
                    " (", s.bytes_by_kind[k], " bytes)");
  }
  std::cerr << absl::StrFormat(
      "newsdedup %s: %d records (%d malformed, %d duplicate ids), %d "
      "paragraphs\n"
      "  flagged: %d spans (%d exact repeats) in %d clusters, %d bytes "
      "(%.1f%% of text)\n"
      "  by kind: %s\n",
      clean ? "clean" : "scan", t.records, t.malformed, t.duplicate_ids,
      s.paragraphs, s.flagged, s.flagged_exact, s.clusters, s.flagged_bytes,
      s.text_bytes ? 100.0 * s.flagged_bytes / s.text_bytes : 0.0,
      kinds.empty() ? "nothing" : kinds);
  if (clean) {
    std::cerr << absl::StrFormat(
        "  cleaned: %d records written, %d bytes removed, %d emptied (%d "
        "dropped), %d malformed passed through, %d could not be written back "
        "(unreadable file or line over the limit; see the messages above)\n",
        t.written, t.removed_bytes, t.emptied, t.dropped, t.malformed - t.lost,
        t.lost);
  }
  std::cerr << absl::StrFormat(
      "  time: %.2f s, %.1f MB/s of input (%d bytes), %d thread%s, %s, "
      "index %.1f MB, sort buffers %.1f MB, spilled %.1f MB, peak memory "
      "%.0f MB\n",
      t.seconds, t.seconds > 0 ? t.input_bytes / t.seconds / 1e6 : 0.0,
      t.input_bytes, t.threads, t.threads == 1 ? "" : "s", t.simd,
      s.index_bytes / 1e6, s.buffer_bytes / 1e6, s.spilled_bytes / 1e6,
      t.peak_rss_mb);
  // "  label: read 1.00 s, match 0.50 s, ..." (nothing without phases).
  const auto print_phases =
      [](const char* label,
         const std::vector<std::pair<std::string, double>>& phases) {
        if (phases.empty()) return;
        std::string line;
        for (const auto& [name, seconds] : phases) {
          absl::StrAppend(&line, line.empty() ? "" : ", ", name, " ",
                          absl::StrFormat("%.2f", seconds), " s");
        }
        std::cerr << "  " << label << ": " << line << "\n";
      };
  print_phases("phases", t.phase_seconds);
  print_phases("CPU time (all threads)", t.phase_cpu_seconds);
  if (s.unindexed > 0) {
    std::cerr << absl::StrFormat(
        "  warning: the near-duplicate index is full (2^32 entries); %d "
        "paragraphs were matched as exact repeats only\n",
        s.unindexed);
  }
}

// The inspection outputs (--clusters, --summary, --html) of a finished run.
absl::Status WriteInspection(const Flags& f, const ScanRun& run,
                             const newsdedup::Inspector& inspector) {
  const newsdedup::ScanStats& stats = run.stats;
  if (!f.clusters.empty()) {
    absl::Status s = WriteWhole(f.clusters, inspector.ClustersJsonl());
    if (!s.ok()) return s;
  }
  if (!f.summary.empty()) {
    absl::Status s =
        WriteWhole(f.summary, inspector.SummaryJson(stats, run.totals));
    if (!s.ok()) return s;
  }
  if (!f.html.empty()) {
    absl::Status s = WriteWhole(f.html, inspector.Html(stats, run.totals));
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

newsdedup::InspectOptions InspectOptionsFor(const Flags& f) {
  newsdedup::InspectOptions options;
  options.title_field = f.reader.title_field;
  return options;
}

// Feeds every record to the inspector (scan needs a second read only for
// --summary and --html, which show text).
absl::Status FeedInspector(const Flags& f, newsdedup::Inspector* inspector) {
  newsdedup::ReaderOptions options = f.reader;
  options.strict = false;
  auto reader = newsdedup::Reader::Open(f.inputs, options, nullptr);
  if (!reader.ok()) return reader.status();
  newsdedup::Document doc;
  uint32_t ordinal = 0;
  while (true) {
    auto more = (*reader)->Next(&doc);
    if (!more.ok()) return more.status();
    if (!*more) break;
    inspector->AddDocument(ordinal++, doc);
  }
  return absl::OkStatus();
}

// stdin can be read once; the passage pass, clean and the report pages read
// their input again, so stdin is first copied to a temporary file (in
// $TMPDIR or --temp-dir). Diagnostics and ids still name it "-". With
// --format auto it is JSONL when its first non-blank byte is '{', else one
// text document.
absl::Status SpoolStdinInto(Flags& f, std::string* spooled) {
  for (std::string& input : f.inputs) {
    if (input != "-") continue;
    if (spooled->empty()) {
      std::string dir = f.passages.temp_dir;
      if (dir.empty()) {
        const char* tmp = std::getenv("TMPDIR");
        dir = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
      }
      std::string path = dir + "/newsdedup-stdin-XXXXXX";
      const int fd = mkstemp(path.data());
      if (fd < 0) {
        return absl::InternalError(
            absl::StrCat(dir, ": cannot create a temporary file for stdin: ",
                         std::strerror(errno)));
      }
      *spooled = path;
      char buffer[1 << 16];
      char first = 0;
      std::string head;  // the first 4 bytes: gzip's or zstd's magic?
      while (true) {
        const ssize_t got = read(STDIN_FILENO, buffer, sizeof(buffer));
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
          const int err = errno;
          close(fd);
          return absl::DataLossError(
              absl::StrCat("-: read failed: ", std::strerror(err)));
        }
        if (got == 0) break;
        head.append(buffer, static_cast<size_t>(
                                std::min<ssize_t>(got, 4 - head.size())));
        for (ssize_t k = 0; k < got && first == 0; ++k) {
          if (buffer[k] != ' ' && buffer[k] != '\n' && buffer[k] != '\r' &&
              buffer[k] != '\t') {
            first = buffer[k];
          }
        }
        for (ssize_t done = 0; done < got;) {
          const ssize_t put = write(fd, buffer + done, got - done);
          if (put < 0 && errno == EINTR) continue;
          if (put <= 0) {
            // A write that takes nothing without an error: no room.
            const int err = put < 0 ? errno : ENOSPC;
            close(fd);
            return absl::DataLossError(absl::StrCat(
                path, ": cannot spool stdin: ", std::strerror(err)));
          }
          done += put;
        }
      }
      close(fd);
      // The name tells --format auto what the content is: JSONL, as stdin
      // is by default, unless it is plain text that does not start like a
      // JSON object. (A gzip or zstd stream is JSONL inside.)
      const bool compressed = newsdedup::internal::DetectCompression(head) !=
                              newsdedup::internal::Compression::kNone;
      const std::string named =
          path + (compressed || first == '{' || first == 0 ? ".jsonl" : ".txt");
      if (std::rename(path.c_str(), named.c_str()) != 0) {
        return absl::InternalError(
            absl::StrCat(named, ": cannot name the stdin copy"));
      }
      *spooled = named;
      f.reader.stdin_spool = named;
    }
    input = *spooled;
  }
  return absl::OkStatus();
}

// SpoolStdinInto, leaving no temporary file behind when it fails.
absl::Status SpoolStdin(Flags& f, std::string* spooled) {
  absl::Status s = SpoolStdinInto(f, spooled);
  if (!s.ok() && !spooled->empty()) {
    std::remove(spooled->c_str());
    spooled->clear();
  }
  return s;
}

// A --temp-dir given must be a folder this process can create files in:
// checked before the input is read, not first when a buffer spills (which
// may be minutes into a large corpus).
absl::Status CheckTempDir(const std::string& dir) {
  struct stat st;
  if (stat(dir.c_str(), &st) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--temp-dir ", dir, ": ", std::strerror(errno)));
  }
  if (!S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--temp-dir ", dir, ": not a folder"));
  }
  // A file made and removed at once: permissions alone do not tell (root
  // passes every check, and /proc takes no files).
  std::string probe = dir + "/newsdedup-probe-XXXXXX";
  const int fd = mkstemp(probe.data());
  if (fd < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--temp-dir ", dir,
                     ": cannot create files in it: ", std::strerror(errno)));
  }
  close(fd);
  std::remove(probe.c_str());
  return absl::OkStatus();
}

// Option values are checked before any input is read: a bad value is a
// usage error (exit status 2).
int CheckOptions(const Flags& f) {
  absl::Status s = f.reader.Validate();
  if (s.ok() && !f.passages.temp_dir.empty()) {
    s = CheckTempDir(f.passages.temp_dir);
  }
  if (s.ok() && f.memory_limit_mb != -1 && !(f.memory_limit_mb >= 2)) {
    s = absl::InvalidArgumentError(absl::StrCat(
        "--memory-limit must be at least 2 (MB), got ", f.memory_limit_mb));
  }
  if (s.ok()) s = f.scan.Validate();
  if (s.ok() && f.passages_enabled) s = f.passages.Validate();
  if (s.ok()) {
    if (!f.memory_note.empty()) {
      std::cerr << "newsdedup: " << f.memory_note << "\n";
    }
    return 0;
  }
  Fail(s);
  return 2;
}

int RunScan(Flags& f) {
  const auto start = Clock::now();
  Resolve(f);
  if (int rc = CheckOptions(f); rc != 0) return rc;
  std::string spooled;
  const bool inspect = !f.summary.empty() || !f.html.empty();
  if (inspect || f.passages_enabled) {
    if (absl::Status s = SpoolStdin(f, &spooled); !s.ok()) return Fail(s);
  }
  auto owned = std::make_unique<ScanRun>();
  ScanRun& run = *owned;
  absl::Status s = RunPassOne(f, &run);
  if (s.ok() && run.passages) {
    s = RunPassagePass(f, &run);
    run.EndPhase("passages");
  }
  if (s.ok()) {
    s = WriteReport(f.report.empty() ? "-" : f.report, run.spans,
                    f.scan.threads);
    run.EndPhase("report");
  }
  // The inspector indexes every span: made only when something needs it.
  std::optional<newsdedup::Inspector> inspector;
  if (inspect || !f.clusters.empty()) {
    inspector.emplace(InspectOptionsFor(f), run.spans);
  }
  if (s.ok() && inspect) {
    s = FeedInspector(f, &*inspector);
    run.EndPhase("inspect");
  }
  run.totals.seconds =
      std::chrono::duration<double>(Clock::now() - start).count();
  run.totals.peak_rss_mb = PeakRssMb();
  if (s.ok() && inspector) s = WriteInspection(f, run, *inspector);
  if (!spooled.empty()) std::remove(spooled.c_str());
  if (!s.ok()) return Fail(s);
  if (!f.quiet) PrintSummary(run.stats, run.totals, false);
  KeepToExit(std::move(owned));
  return 0;
}

// Scans like `scan`, then scores the spans against a label file.
int RunEval(Flags& f) {
  const auto start = Clock::now();
  Resolve(f);
  if (int rc = CheckOptions(f); rc != 0) return rc;
  if (f.inputs.empty() == f.eval_spans.empty()) {
    Fail("eval needs either inputs to scan or --spans REPORT, not both");
    return 2;
  }
  auto labels = newsdedup::ReadLabels(f.labels);
  if (!labels.ok()) {
    Fail(labels.status());
    return 2;
  }
  // The spans to score: from a report made earlier (or by another tool
  // writing the same format: its lines parse as labels), or from a scan.
  absl::StatusOr<newsdedup::LabelSet> report;  // owns the report's strings
  auto owned = std::make_unique<ScanRun>();
  ScanRun& run = *owned;
  std::vector<std::string> scanned_ids;  // empty: no scan
  std::string footer;
  std::string json_extra;
  if (!f.eval_spans.empty()) {
    report = newsdedup::ReadLabels(f.eval_spans);
    if (!report.ok()) {
      Fail(report.status());
      return 2;
    }
    for (const newsdedup::Label& l : report->labels) {
      newsdedup::SpanRecord span;
      span.at = {l.doc, l.field, l.start, l.end};
      span.kind = l.kind;
      span.has_first = !l.first_doc.empty();
      span.first.doc = l.first_doc;
      run.spans.push_back(span);
    }
    footer = absl::StrCat("report: ", f.eval_spans, ", ", run.spans.size(),
                          " spans\n");
  } else {
    std::string spooled;
    if (f.passages_enabled) {
      if (absl::Status s = SpoolStdin(f, &spooled); !s.ok()) return Fail(s);
    }
    absl::Status s = RunPassOne(f, &run);
    if (s.ok()) s = RunPassagePass(f, &run);
    if (!spooled.empty()) std::remove(spooled.c_str());
    if (s.ok() && !f.report.empty()) {
      s = WriteReport(f.report, run.spans, f.scan.threads);
    }
    if (!s.ok()) return Fail(s);
    const double seconds =
        std::chrono::duration<double>(Clock::now() - start).count();
    footer = absl::StrFormat(
        "scan: %d records, %.1f MB in %.2f s (%.1f MB/s, %d thread%s)\n",
        run.totals.records, run.totals.input_bytes / 1e6, seconds,
        run.totals.input_bytes / 1e6 / std::max(seconds, 1e-9), f.scan.threads,
        f.scan.threads == 1 ? "" : "s");
    json_extra = absl::StrCat(", \"seconds\": ", absl::SixDigits(seconds),
                              ", \"input_bytes\": ", run.totals.input_bytes);
    scanned_ids = std::move(run.doc_ids);
  }
  const newsdedup::EvalResult result =
      newsdedup::Evaluate(*labels, run.spans, scanned_ids);
  const std::string text =
      absl::StrCat(newsdedup::FormatEval(result), "\n", footer);
  std::fputs(text.c_str(), stdout);
  if (!f.eval_json.empty()) {
    std::string json = newsdedup::EvalJson(result);
    json.insert(json.size() - 1, json_extra);
    json.push_back('\n');
    std::ofstream out(f.eval_json, std::ios::binary);
    out << json;
    out.close();
    if (!out) return Fail(absl::StrCat(f.eval_json, ": cannot write"));
  }
  if (result.missing_docs > 0) {
    std::cerr << "newsdedup eval: " << result.missing_docs
              << " judged documents of " << f.labels
              << " are not in the input\n";
  }
  KeepToExit(std::move(owned));
  return 0;
}

// Spans of one record, by field, that the cleaning policy removes.
struct Removal {
  std::vector<newsdedup::ByteRange> title;
  std::vector<newsdedup::ByteRange> text;
};

int RunClean(Flags& f) {
  const auto start = Clock::now();
  Resolve(f);
  if (int rc = CheckOptions(f); rc != 0) return rc;
  std::string spooled;
  if (absl::Status s = SpoolStdin(f, &spooled); !s.ok()) return Fail(s);
  struct Cleanup {
    std::string path;
    ~Cleanup() {
      if (!path.empty()) std::remove(path.c_str());
    }
  } cleanup{spooled};

  auto owned = std::make_unique<ScanRun>();
  ScanRun& run = *owned;
  if (absl::Status s = RunPassOne(f, &run); !s.ok()) return Fail(s);
  if (absl::Status s = RunPassagePass(f, &run); !s.ok()) return Fail(s);
  if (run.passages) run.EndPhase("passages");
  if (!f.report.empty()) {
    if (absl::Status s = WriteReport(f.report, run.spans, f.scan.threads);
        !s.ok()) {
      return Fail(s);
    }
    run.EndPhase("report");
  }
  newsdedup::Inspector inspector(InspectOptionsFor(f), run.spans);

  auto out = newsdedup::OutputFile::Open(f.output, f.scan.threads);
  if (!out.ok()) return Fail(out.status());
  std::unique_ptr<newsdedup::OutputFile> rejects;
  if (!f.rejects.empty()) {
    auto r = newsdedup::OutputFile::Open(f.rejects);
    if (!r.ok()) return Fail(r.status());
    rejects = std::move(*r);
  }
  absl::Status write_status;
  auto write = [&](newsdedup::OutputFile* file, std::string_view line) {
    if (!write_status.ok()) return;
    write_status = file->Write(line);
    if (write_status.ok()) write_status = file->Write("\n");
  };
  // Malformed records go through unchanged: to --rejects, or in place.
  newsdedup::ReaderOptions options = f.reader;
  options.keep_raw = true;
  options.strict = false;
  auto reader = newsdedup::Reader::Open(
      f.inputs, options, [&](const newsdedup::Malformed& m) {
        if (m.raw.empty()) {
          // Not line-based or too long to hold: it cannot be written back.
          ++run.totals.lost;
          return;
        }
        write(rejects ? rejects.get() : out->get(), m.raw);
      });
  if (!reader.ok()) return Fail(reader.status());

  newsdedup::cli::Progress progress("cleaning", !f.quiet);
  newsdedup::Document doc;
  uint32_t ordinal = 0;
  size_t next_span = 0;
  std::string annotation;
  while (write_status.ok()) {
    auto more = (*reader)->Next(&doc);
    if (!more.ok()) return Fail(more.status());
    if (!*more) break;
    inspector.AddDocument(ordinal, doc);
    // This record's spans: the report is in record order.
    Removal removal;
    annotation.clear();
    for (; next_span < run.spans.size() &&
           run.spans[next_span].doc_ordinal == ordinal;
         ++next_span) {
      const newsdedup::SpanRecord& s = run.spans[next_span];
      if (f.annotate) {
        std::string line;
        newsdedup::AppendSpanJson(s, &line);
        line.pop_back();  // newline
        absl::StrAppend(&annotation, annotation.empty() ? "[" : ", ", line);
        continue;
      }
      if (!newsdedup::ShouldRemove(s, f.clean, f.reader.title_field)) continue;
      const bool title =
          s.at.field == f.reader.title_field && doc.title_offset < 0;
      (title ? removal.title : removal.text).push_back({s.at.start, s.at.end});
    }
    ++ordinal;
    progress.Update(ordinal, (*reader)->bytes());
    const bool is_jsonl = !doc.raw.empty();
    if (f.annotate) {
      if (annotation.empty()) {
        if (is_jsonl) {
          write(out->get(), doc.raw);
        } else {
          std::string line = "{\"id\": ";
          newsdedup::AppendJsonString(doc.id, &line);
          line.append(", \"text\": ");
          newsdedup::AppendJsonString(doc.text, &line);
          line.append("}");
          write(out->get(), line);
        }
        ++run.totals.written;
        continue;
      }
      annotation.append("]");
      std::string base = doc.raw;
      if (!is_jsonl) {
        base = "{\"id\": ";
        newsdedup::AppendJsonString(doc.id, &base);
        base.append(", \"text\": ");
        newsdedup::AppendJsonString(doc.text, &base);
        base.append("}");
      }
      auto line = newsdedup::AddJsonField(base, "newsdedup_spans", annotation);
      if (!line.ok())
        return Fail(absl::StrCat(doc.id, ": ", line.status().message()));
      write(out->get(), *line);
      ++run.totals.written;
      continue;
    }
    if (removal.title.empty() && removal.text.empty() && is_jsonl) {
      write(out->get(), doc.raw);  // untouched, byte for byte
      ++run.totals.written;
      continue;
    }
    const std::string text = newsdedup::RemoveSpans(doc.text, removal.text);
    const std::string title = newsdedup::RemoveSpans(doc.title, removal.title);
    run.totals.removed_bytes +=
        (doc.text.size() - text.size()) + (doc.title.size() - title.size());
    if (newsdedup::CountWords(text) <
        static_cast<size_t>(std::max(0, f.clean.min_words))) {
      ++run.totals.emptied;
      if (!f.clean.keep_empty) {
        ++run.totals.dropped;
        continue;
      }
    }
    std::string line;
    if (is_jsonl) {
      std::vector<newsdedup::FieldEdit> edits = {{f.reader.text_field, text}};
      if (!removal.title.empty())
        edits.push_back({f.reader.title_field, title});
      auto rewritten = newsdedup::ReplaceJsonStringFields(doc.raw, edits);
      if (!rewritten.ok()) {
        return Fail(absl::StrCat(doc.source, ":", doc.line, ": ",
                                 rewritten.status().message()));
      }
      line = std::move(*rewritten);
    } else {
      line = "{\"id\": ";
      newsdedup::AppendJsonString(doc.id, &line);
      line.append(", \"text\": ");
      newsdedup::AppendJsonString(text, &line);
      line.append("}");
    }
    write(out->get(), line);
    ++run.totals.written;
  }
  progress.Done();
  if (!write_status.ok()) return Fail(write_status);
  if (absl::Status s = (*out)->Commit(); !s.ok()) return Fail(s);
  if (rejects) {
    if (absl::Status s = rejects->Commit(); !s.ok()) return Fail(s);
  }
  run.EndPhase("clean");
  run.totals.seconds =
      std::chrono::duration<double>(Clock::now() - start).count();
  run.totals.peak_rss_mb = PeakRssMb();
  if (absl::Status s = WriteInspection(f, run, inspector); !s.ok()) {
    return Fail(s);
  }
  if (!f.quiet) PrintSummary(run.stats, run.totals, true);
  KeepToExit(std::move(owned));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "newsdedup: find duplicated and boilerplate text in scraped news and "
      "report it as exact byte spans."};
  app.require_subcommand(1);
  Flags scan_flags, clean_flags, eval_flags;

  CLI::App* scan = app.add_subcommand(
      "scan",
      "Report repeated headlines, captions, repeated paragraphs and "
      "boilerplate as a JSONL span report.");
  AddCommonOptions(scan, scan_flags);
  scan->add_option("--report,-o", scan_flags.report,
                   "where to write the span report (- or nothing: stdout)");

  CLI::App* clean = app.add_subcommand(
      "clean",
      "Write every record back, in input order, with the flagged spans "
      "removed (or annotated) and every other byte unchanged.");
  AddCommonOptions(clean, clean_flags);
  clean
      ->add_option("--output,-o", clean_flags.output,
                   "the cleaned JSONL (.gz/.zst compressed by name; - for "
                   "stdout)")
      ->required();
  clean->add_option("--report", clean_flags.report,
                    "also write the span report (JSONL)");
  clean->add_option("--rejects", clean_flags.rejects,
                    "write malformed records here instead of passing them "
                    "through in place");
  clean->add_flag("--annotate", clean_flags.annotate,
                  "keep the text; add the spans to each record as "
                  "\"newsdedup_spans\"");
  clean->add_flag("--keep-captions", clean_flags.clean.keep_captions,
                  "keep photo captions found by pattern only");
  clean->add_flag("--remove-repeated-titles",
                  clean_flags.clean.remove_repeated_titles,
                  "also remove title fields that repeat an earlier headline");
  clean->add_flag("--keep-empty", clean_flags.clean.keep_empty,
                  "keep records whose text becomes (nearly) empty");
  clean
      ->add_option("--min-words", clean_flags.clean.min_words,
                   "records left with fewer words are emptied")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);

  CLI::App* eval = app.add_subcommand(
      "eval",
      "Scan like `scan`, then score the report against labels: precision, "
      "recall and F1 per kind, by findings and by bytes (label format: "
      "README.md, Evaluation).");
  AddCommonOptions(eval, eval_flags);
  eval->get_option("inputs")->required(false);
  eval->add_option("--labels,-l", eval_flags.labels, "the label file (JSONL)")
      ->required();
  eval->add_option("--spans", eval_flags.eval_spans,
                   "score this span report (JSONL, made earlier or by another "
                   "tool) instead of scanning inputs");
  eval->add_option("--json", eval_flags.eval_json,
                   "also write the scores as one JSON object");
  eval->add_option("--report,-o", eval_flags.report,
                   "also write the span report (JSONL)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; every usage error exits 2.
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (scan->parsed()) return RunScan(scan_flags);
  if (eval->parsed()) return RunEval(eval_flags);
  if (clean->parsed()) return RunClean(clean_flags);
  return 2;
}
