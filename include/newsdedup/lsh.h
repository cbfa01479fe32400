// Locality-sensitive hashing over MinHash signatures: the signature is cut
// into `bands` bands of `rows` values; two sets become candidates when any
// band is equal, with probability P(s) = 1 - (1 - s^rows)^bands at Jaccard
// similarity s. Candidates are only candidates: the caller verifies them.
//
//   auto params = newsdedup::ChooseBands(128, /*threshold=*/0.7);  // 25 x 5
//   std::vector<uint64_t> keys(params->bands);
//   newsdedup::BandKeys(sig, *params, keys.data());
//   newsdedup::LshIndex index(*params);
//   index.ForEachCandidate(keys.data(), [&](uint32_t id) { ... });
//   index.Insert(keys.data(), my_id);
#ifndef NEWSDEDUP_LSH_H_
#define NEWSDEDUP_LSH_H_

#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"

namespace newsdedup {

struct LshParams {
  int bands = 0;  // number of bands
  int rows = 0;   // signature values per band; bands * rows <= num_perm
};

// P(candidate) at Jaccard similarity s: 1 - (1 - s^rows)^bands.
double CandidateProbability(double s, int bands, int rows);

// Recall-leaning band choice for `threshold` in (0, 1): among the layouts
// with bands * rows <= num_perm, the one with the most rows per band (fewest
// false candidates) whose P(candidate) at the threshold is at least
// `min_recall`. Errors: threshold or min_recall outside (0, 1), num_perm < 1,
// or no layout reaching min_recall.
absl::StatusOr<LshParams> ChooseBands(int num_perm, double threshold,
                                      double min_recall = 0.95);

// Writes params.bands keys: a hash of each band's values and of the band's
// index (equal values in different bands give different keys).
void BandKeys(const uint32_t* signature, const LshParams& params,
              uint64_t* keys);

// Band buckets in memory: maps each band key to the ids inserted with it
// (returned newest first), for callers that query as they insert. Memory:
// about 17 bytes per (id, band). The scanner does not use it: it sorts band
// records instead, which spill to disk (src/internal/near_matcher.h). Not
// thread-safe for writes.
class LshIndex {
 public:
  explicit LshIndex(const LshParams& params) : params_(params) {}

  // Records `id` under each of the params.bands `keys`. False, and nothing
  // recorded, when the index is full (2^32 - 1 entries: about 134 million
  // ids at 32 bands).
  bool Insert(const uint64_t* keys, uint32_t id);

  // Calls fn(id) for the ids that share at least one key with `keys`,
  // possibly more than once per id, in a deterministic order: in each band
  // the `max_per_band` most recently inserted ids. The cap keeps templated
  // text (thousands of near-identical lines in one bucket) from making
  // matching quadratic.
  template <typename Fn>
  void ForEachCandidate(const uint64_t* keys, Fn&& fn,
                        uint32_t max_per_band = 0xFFFFFFFFu) const {
    for (int band = 0; band < params_.bands; ++band) {
      auto it = heads_.find(static_cast<uint32_t>(keys[band]));
      if (it == heads_.end()) continue;
      uint32_t taken = 0;
      for (uint32_t e = it->second; e != kNone && taken < max_per_band;
           e = next_[e], ++taken) {
        fn(ids_[e]);
      }
    }
  }

  size_t entries() const { return ids_.size(); }
  size_t MemoryBytes() const;

 private:
  static constexpr uint32_t kNone = 0xFFFFFFFFu;
  LshParams params_;
  // Low 32 bits of the band key -> newest entry. Keys that agree there share
  // a bucket: a few more candidates, all verified, and 8-byte slots instead
  // of 16.
  absl::flat_hash_map<uint32_t, uint32_t> heads_;
  std::vector<uint32_t> ids_;   // entry -> id
  std::vector<uint32_t> next_;  // entry -> older entry
};

}  // namespace newsdedup

#endif  // NEWSDEDUP_LSH_H_
