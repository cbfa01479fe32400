// The scan pipeline: documents in, repeated and boilerplate spans out.
//
//   newsdedup::ScanOptions options;               // defaults: see fields
//   auto scanner = newsdedup::Scanner::Create(options);
//   for (Document& doc : docs) (*scanner)->Add(std::move(doc));
//   (*scanner)->Finish();
//   (*scanner)->ForEachSpan([](const newsdedup::SpanRecord& s) { ... });
//
// Stages: segment -> carve out headline repeats, captions and rule-based
// boilerplate -> tokenize -> shingle -> MinHash -> LSH band keys; exact
// repeats are settled as documents come. At Finish, when every document has
// been seen: LSH candidates by sorting band keys -> exact Jaccard
// verification in input order -> clusters -> headline matching and learned
// boilerplate. Documents are sketched in batches on `threads` threads;
// band records, candidate pairs and shingle fingerprints spill to disk past
// `memory_limit`. The result is the same, byte for byte, for any thread
// count and memory limit.
//
// Clustering: every paragraph is compared with the *first* occurrence of each
// existing cluster (the earliest paragraph in input order, the one that is
// kept) among its LSH candidates: the earlier paragraphs sharing a band with
// it (the latest 64 per band), each standing for its cluster's first. It
// joins the earliest cluster whose first it matches: exactly (same
// normalized word sequence) or nearly (exact Jaccard of shingle sets at least
// `threshold`); otherwise it starts a cluster of its own. Star clusters
// around the kept copy cannot chain: every reported paragraph is similar to
// the text it is reported as repeating.
#ifndef NEWSDEDUP_PIPELINE_H_
#define NEWSDEDUP_PIPELINE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "newsdedup/document.h"
#include "newsdedup/report.h"
#include "newsdedup/segment.h"
#include "newsdedup/tokenize.h"

namespace newsdedup {

struct ScanOptions {
  // How text fields are cut into paragraphs.
  SegmentOptions segment;
  // Words per shingle. Default 3 (one changed word in a 24-word paragraph
  // keeps Jaccard 0.76 with 3-word shingles, 0.60 with 5). Range [1, 16].
  int shingle_size = 3;
  // MinHash signature length. Default 64 (bands 21x3): the signature only
  // finds candidates, which are verified by exact Jaccard; on the planted
  // harness (bench/README.md, "Accuracy") 64 finds as many near copies as
  // 128 (32x4) and more two-word edits, in less time and memory. A multiple
  // of 8 in [8, 1024].
  int num_perm = 64;
  // Minimum exact Jaccard similarity of shingle sets for a near duplicate.
  // Default 0.7; range (0, 1).
  double threshold = 0.7;
  // LSH layout. 0 and 0: chosen from `threshold` so that P(candidate) at the
  // threshold is at least 0.95. Otherwise both > 0 and bands * rows <=
  // num_perm.
  int bands = 0;
  int rows = 0;
  // Paragraphs with fewer words are matched exactly only (short lines make
  // shingle sets too small for Jaccard to mean much). Default 8; >= 1.
  int min_tokens = 8;
  // Paragraphs with fewer words are not reported at all. Default 3; >= 1
  // and <= min_tokens.
  int min_exact_tokens = 3;
  // A paragraph of 20+ words also repeats an earlier one nearly when the
  // two differ by at most this many edited words (replaced, inserted or
  // deleted: a symmetric difference of at most 2 * shingle_size *
  // max_edit_words shingles), whatever their Jaccard similarity: one or two
  // changed words in a 20-word paragraph leave a Jaccard of 0.5-0.7. Default 2;
  // 0 turns it off; range [0, 16]. With it on, LSH bands are chosen for a
  // threshold of at most 0.5.
  int max_edit_words = 2;
  // Sketching and sorting threads. Default 1; range [1, 256].
  int threads = 1;
  // Bytes of LSH band records and shingle fingerprints held in memory
  // before they spill to disk (and, at Finish, of candidate pairs). Default
  // 256 MiB; at least 1 MiB. The result does not depend on it.
  uint64_t memory_limit = uint64_t{256} << 20;
  // Folder for spilled files. Default "": $TMPDIR, else /tmp.
  std::string temp_dir;
  // Seed of the MinHash permutations. Default 1.
  uint64_t seed = 1;
  // Field names written in the report. Defaults "text" and "title".
  std::string text_field = "text";
  std::string title_field = "title";

  // News structure: repeated headlines, photo captions, boilerplate rules.
  // Default true; false reports repeated paragraphs only.
  bool news_structure = true;
  // Use the built-in boilerplate rules (English and German). Default true.
  bool builtin_rules = true;
  // Extra boilerplate rules (see boilerplate.h for the format); "" for none.
  std::string rules_file;
  // Learned boilerplate: a paragraph (or a teaser prefix such as "READ
  // MORE:") found in at least this many distinct documents of one site is
  // that site's boilerplate, and every copy there is flagged. Default 5;
  // 0 disables; otherwise >= 2.
  int boilerplate_min_docs = 5;
  // Headlines with fewer words (after removing decorations) are not matched
  // across documents. Default 3; >= 1.
  int headline_min_words = 3;
  // Headlines of at least this many words also match with one word
  // replaced, inserted or deleted. Default 6; >= 2.
  int headline_near_min_words = 6;

  absl::Status Validate() const;
};

struct ScanStats {
  // Spans and bytes reported, indexed by SpanKind.
  uint64_t spans_by_kind[5] = {0, 0, 0, 0, 0};
  uint64_t bytes_by_kind[5] = {0, 0, 0, 0, 0};
  uint64_t documents = 0;      // documents added
  uint64_t text_bytes = 0;     // bytes of text fields scanned
  uint64_t paragraphs = 0;     // paragraphs found
  uint64_t indexed = 0;        // paragraphs near-matched through LSH (not
                               // exact repeats, long enough)
  uint64_t unindexed = 0;      // left out: past 2^32 - 1 indexed paragraphs
  uint64_t candidates = 0;     // LSH candidates verified
  uint64_t flagged = 0;        // spans reported, all kinds
  uint64_t flagged_exact = 0;  //   of which exact repeats
  uint64_t flagged_bytes = 0;  // bytes in reported spans
  uint64_t clusters = 0;       // groups with two or more occurrences
  // Memory held per paragraph: the near matcher's tables (12-16 bytes per
  // indexed paragraph), the exact-text map, the unit table (32 bytes per
  // paragraph, headline, caption or rule span) and the headline words.
  uint64_t index_bytes = 0;
  // Sort buffers at their largest (band records, fingerprints, candidate
  // pairs), bounded by ScanOptions::memory_limit.
  uint64_t buffer_bytes = 0;
  double match_seconds = 0;    // wall time of near matching at Finish
  uint64_t spilled_bytes = 0;  // band records, pairs and fingerprints
                               // written to disk
};

class Scanner {
 public:
  // Errors: invalid options.
  static absl::StatusOr<std::unique_ptr<Scanner>> Create(
      const ScanOptions& options);
  ~Scanner();

  // Adds the next document in input order. Work happens in batches; call
  // Finish() after the last one. Not thread-safe (one caller).
  void Add(Document doc);
  // The same for *doc, which is left holding an earlier document whose
  // fields are empty but keep their memory (up to 64 KiB; otherwise a new
  // one): a reader that reads the next record into it allocates less.
  void Add(Document* doc);

  // Processes what is buffered (sketching, and the token sinks): after it
  // the sinks are not called again, so a stage fed by them can finish
  // while this scanner matches. Optional (Finish flushes); no Add after it.
  void Flush();

  // Processes what is buffered and matches. After it, ForEachSpan and
  // stats are final. Call once. Errors: a spilled file that cannot be
  // written or read back (the folder, and why).
  absl::Status Finish();

  // Calls fn for every reported span in input order (document, offset).
  void ForEachSpan(const std::function<void(const SpanRecord&)>& fn) const;

  // Every reported span in the same order, listed on `threads` threads.
  std::vector<SpanRecord> Spans() const;

  const ScanStats& stats() const;

  // Hands every document's tokens to `sink` as soon as the document is
  // sketched, on the thread that sketched it: `shard` in [0, threads) names
  // that thread (a shard is never called from two threads at once), and
  // documents come in any order. For stages whose result does not depend
  // on order, like PassageFinder::Add(shard, ...). Set before Add().
  using ShardedTokenSink = std::function<void(int shard, uint32_t ordinal,
                                              absl::Span<const Token> tokens)>;
  void SetShardedTokenSink(ShardedTokenSink sink);

  // Runs `task` on the sketching workers (threads > 1), before each
  // document they take and before they wait for one (they start with the
  // first batch: 128 documents or 6 MB of text): work for the cores that
  // would otherwise need a thread of its own, competing with the workers
  // and the caller (the CLI has its reader decompress ahead here,
  // Reader::Pump). An empty task clears it; either way this returns once
  // no call of the old task is running.
  void SetWorkerTask(std::function<void()> task);

  // The SIMD target the MinHash kernel runs on ("AVX3", "AVX2", ...).
  static const char* SimdTarget();

 private:
  class Impl;
  explicit Scanner(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace newsdedup

#endif  // NEWSDEDUP_PIPELINE_H_
