// Inspection: what a person or a script reads after a run. A clusters file
// (each group of repeats with its members and kept copy), a summary JSON
// (counts and bytes by kind, top boilerplate per site, time, throughput,
// memory) and a self-contained HTML report (boilerplate inventory per site,
// largest clusters with exemplars, documents with their spans highlighted
// and linked to the text they repeat).
//
//   newsdedup::Inspector inspector({}, spans);       // every reported span
//   for (each record, in input order) inspector.AddDocument(ordinal, doc);
//   std::string html = inspector.Html(stats, totals);
#ifndef NEWSDEDUP_INSPECT_H_
#define NEWSDEDUP_INSPECT_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/types/span.h"
#include "newsdedup/document.h"
#include "newsdedup/pipeline.h"
#include "newsdedup/report.h"

namespace newsdedup {

// Totals of a run that the scanner does not know.
struct RunTotals {
  uint64_t records = 0;        // records read
  uint64_t malformed = 0;      // malformed records (reported, passed through)
  uint64_t duplicate_ids = 0;  // records whose id an earlier record has
  uint64_t lost = 0;           // malformed records `clean` could not write back
                               // (an unreadable file, a line over the limit)
  uint64_t written = 0;        // records written by `clean`
  uint64_t emptied = 0;        // records whose text became (nearly) empty
  uint64_t dropped = 0;        // emptied records left out of the output
  uint64_t input_bytes = 0;    // decompressed input bytes
  uint64_t removed_bytes = 0;  // bytes removed by `clean`
  double seconds = 0;
  // Wall time of each phase of the run, in order ("read", "match",
  // "passages", "report", ...): where the seconds went.
  std::vector<std::pair<std::string, double>> phase_seconds;
  // CPU time (user and system, all threads) of each phase, named as in
  // phase_seconds: over a phase's wall time, how many cores it kept busy.
  std::vector<std::pair<std::string, double>> phase_cpu_seconds;
  double peak_rss_mb = 0;
  // The memory limit the run's sort buffers had (--memory-limit, or its
  // default), in MB.
  double memory_limit_mb = 0;
  int threads = 1;
  std::string simd;
  // Exact passages (empty names: passages were off): (name, value) pairs
  // of the passage stage's figures, in order, for the summary.
  std::vector<std::pair<std::string, uint64_t>> passage_figures;
};

struct InspectOptions {
  // Documents shown in full in the HTML report (the first ones with spans).
  // Default 200.
  size_t max_documents = 200;
  // Largest clusters listed. Default 30.
  size_t max_clusters = 30;
  // Boilerplate texts listed per site. Default 10.
  size_t top_boilerplate = 10;
  // Longest text excerpt shown, in bytes. Default 300.
  size_t excerpt_bytes = 300;
  // Name of the title field in the spans (other fields are the text).
  std::string title_field = "title";
};

class Inspector {
 public:
  // `spans`: every reported span, in report order; must outlive the
  // inspector.
  Inspector(const InspectOptions& options, absl::Span<const SpanRecord> spans);

  // Feeds the records in input order (ordinal = SpanRecord::doc_ordinal).
  // Keeps only excerpts and the documents the HTML report shows.
  void AddDocument(uint32_t ordinal, const Document& doc);

  // One JSON object per cluster, in cluster order: kind, count, the kept
  // copy and the reported members.
  std::string ClustersJsonl() const;
  // The run summary as one JSON object.
  std::string SummaryJson(const ScanStats& stats,
                          const RunTotals& totals) const;
  // The HTML report, one self-contained page (no external resources).
  std::string Html(const ScanStats& stats, const RunTotals& totals) const;

 private:
  // A location whose text excerpt is wanted (kept copies, exemplars).
  struct Wanted {
    bool title;
    uint32_t start;
    uint32_t end;
    std::string excerpt;
  };
  struct Boilerplate {
    std::string text;
    uint64_t count = 0;
  };
  struct Shown {
    uint32_t ordinal = 0;
    std::string id;
    std::string site;
    std::string html;  // the document's fields, spans marked
  };
  void Want(uint32_t ordinal, const Location& at);
  const std::string* ExcerptAt(uint32_t ordinal, const Location& at) const;
  std::string Cut(std::string_view text) const;
  std::vector<uint32_t> LargestClusters() const;
  std::string RenderDocument(const Document& doc, size_t begin,
                             size_t end) const;

  InspectOptions options_;
  absl::Span<const SpanRecord> spans_;
  // Spans per document ordinal: [begin, end) into spans_.
  absl::flat_hash_map<uint32_t, std::pair<size_t, size_t>> by_doc_;
  absl::flat_hash_map<uint32_t, std::vector<Wanted>> wanted_;
  // cluster -> indices into spans_
  std::map<uint32_t, std::vector<size_t>> clusters_;
  // site -> whitespace-squeezed boilerplate text -> count (capped in size)
  std::map<std::string, absl::flat_hash_map<std::string, Boilerplate>>
      boilerplate_;
  size_t boilerplate_entries_ = 0;
  std::vector<Shown> shown_;
  absl::flat_hash_map<uint32_t, size_t> shown_index_;  // ordinal -> shown_
};

}  // namespace newsdedup

#endif  // NEWSDEDUP_INSPECT_H_
