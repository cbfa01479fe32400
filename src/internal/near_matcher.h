// Near-duplicate paragraphs by sorting instead of a resident index: every
// sketched paragraph's LSH band keys and shingle fingerprints are written
// as it comes (phase 1); at the end, band records sorted by key give the
// candidate pairs (phase 2), and pairs sorted by paragraph are verified in
// input order (phase 3), joining each paragraph to the earliest cluster
// whose kept copy (its first) verifies. Band records, candidate pairs and
// fingerprints spill to disk past `memory_limit`; the result does not
// depend on the limit or on the thread count.
//
//   NearMatcher matcher(options);
//   for (each paragraph, in input order)
//     RETURN_IF_ERROR(matcher.Add(unit, keys, fingerprints, facts));
//   RETURN_IF_ERROR(matcher.Finish([](uint32_t unit, uint32_t first,
//                                     float similarity) { ... }));
//
// Candidates of a paragraph q: in each band, the `bucket_window` paragraphs
// added last before q with the same key (the window bounds the work when
// templated lines crowd a bucket), each replaced by the first of its
// cluster; they are verified in input order of those firsts. Resident
// memory: 12 bytes per added paragraph while adding (its unit and where its
// fingerprints are), 16 while matching.
#ifndef NEWSDEDUP_INTERNAL_NEAR_MATCHER_H_
#define NEWSDEDUP_INTERNAL_NEAR_MATCHER_H_

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "internal/sorted_runs.h"
#include "newsdedup/lsh.h"

namespace newsdedup {
namespace internal {

// One paragraph in one LSH bucket: the whole 64-bit band key (32 bits would
// make 1.9 billion records at 100M paragraphs share buckets by chance,
// about one false candidate per two records) and the paragraph number; 12
// bytes, sorted by (key, paragraph).
struct BandRecord {
  uint32_t key_high;
  uint32_t key_low;
  uint32_t paragraph;

  uint64_t key() const { return uint64_t{key_high} << 32 | key_low; }
  friend bool operator<(const BandRecord& a, const BandRecord& b) {
    return a.key_high != b.key_high ? a.key_high < b.key_high
           : a.key_low != b.key_low ? a.key_low < b.key_low
                                    : a.paragraph < b.paragraph;
  }
};
static_assert(sizeof(BandRecord) == 12, "band records are 12 bytes on disk");
inline uint64_t SortKey(const BandRecord& r) { return r.key(); }

struct NearMatchOptions {
  // Band layout of the keys passed to Add.
  LshParams params;
  // A candidate verifies when the exact Jaccard similarity of the
  // fingerprint sets is at least this, in (0, 1) ...
  double threshold = 0.7;
  // ... or when both sets have at least `min_edit_shingles` fingerprints,
  // their symmetric difference is at most `max_difference` (0: never) and
  // their facts are equal (the edited-words rule, see ScanOptions).
  uint32_t max_difference = 0;
  uint32_t min_edit_shingles = 18;
  // Paragraphs taken per band and paragraph, the latest first. >= 1.
  uint32_t bucket_window = 64;
  // Bytes of band records and fingerprints held in memory while adding,
  // and of candidate pairs while matching, before they spill to disk.
  uint64_t memory_limit = uint64_t{256} << 20;
  // Folder for spilled files. "": $TMPDIR, else /tmp.
  std::string temp_dir;
  // Threads for sorting and verifying. The result does not depend on it.
  int threads = 1;
  // Candidate pairs verified per parallel step (at least). >= 1.
  uint32_t chunk_pairs = 1 << 16;
};

struct NearMatchStats {
  uint64_t paragraphs = 0;     // added
  uint64_t unindexed = 0;      // not added: past 2^32 - 1 paragraphs
  uint64_t pairs = 0;          // candidate pairs from the buckets
  uint64_t candidates = 0;     // distinct (paragraph, first) pairs verified
  uint64_t matched = 0;        // paragraphs joined to an earlier cluster
  uint64_t runs_spilled = 0;   // sorted runs of band records and pairs
  uint64_t bytes_spilled = 0;  // runs and fingerprints written to disk
  // Memory at its largest: the sort buffers (band records and the
  // fingerprint buffer while adding, candidate pairs while matching; bounded
  // by memory_limit) and the per-paragraph tables (12 bytes per paragraph
  // while adding, 16 while matching, as vector capacity).
  uint64_t peak_buffer_bytes = 0;
  uint64_t peak_table_bytes = 0;
  double finish_seconds = 0;  // wall time of Finish: sorting, pairs, verifying
};

class NearMatcher {
 public:
  explicit NearMatcher(const NearMatchOptions& options);
  ~NearMatcher();
  NearMatcher(const NearMatcher&) = delete;
  NearMatcher& operator=(const NearMatcher&) = delete;

  // Adds the next paragraph in input order: its unit number (increasing),
  // params.bands band keys, its fingerprints (any order, repeats allowed:
  // the set is what counts) and the hash of its facts. Errors: a file that
  // cannot be written.
  absl::Status Add(uint32_t unit, const uint64_t* keys,
                   absl::Span<const uint32_t> fingerprints, uint64_t facts);

  // Calls on_match(unit, first_unit, similarity) for every paragraph that
  // joins an earlier cluster, in input order; the others are the firsts of
  // their clusters. Call once. Errors: a file that cannot be written or
  // read back.
  using MatchFn =
      std::function<void(uint32_t unit, uint32_t first_unit, float similarity)>;
  absl::Status Finish(const MatchFn& on_match);

  const NearMatchStats& stats() const { return stats_; }

 private:
  class FingerprintStore;

  // The sorted fingerprints of a paragraph read back for verifying, kept
  // for the next candidates: a cluster's first is checked against many
  // later paragraphs.
  struct CachedFingerprints {
    uint32_t record = UINT32_MAX;  // none
    uint64_t facts = 0;
    std::vector<uint32_t> set;
  };
  static constexpr size_t kCachedFingerprints = 256;  // per thread
  struct Scratch {
    std::vector<uint32_t> firsts, own;
    std::vector<CachedFingerprints> cache =
        std::vector<CachedFingerprints>(kCachedFingerprints);
  };
  absl::Status FinishPhases(const MatchFn& on_match);
  absl::Status Check(const std::vector<uint32_t>& own, uint64_t facts,
                     uint32_t c, Scratch* scratch, float* similarity,
                     bool* match) const;
  absl::Status GuessInParallel(
      size_t n, const std::function<absl::Status(size_t, Scratch*)>& fn);
  absl::Status MakePairs(SortedRuns<uint64_t>* pairs);
  absl::Status SortAndPairInPartitions(SortedRuns<uint64_t>* pairs);
  absl::Status Verify(SortedRuns<uint64_t>* pairs, const MatchFn& on_match);
  void NotePeak(uint64_t buffers, uint64_t tables);

  NearMatchOptions options_;
  std::unique_ptr<SortedRuns<BandRecord>> bands_;
  std::unique_ptr<FingerprintStore> store_;
  std::vector<uint32_t> unit_of_;  // paragraph -> unit
  NearMatchStats stats_;
};

}  // namespace internal
}  // namespace newsdedup

#endif  // NEWSDEDUP_INTERNAL_NEAR_MATCHER_H_
