#include "newsdedup/lsh.h"

#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "newsdedup/hash.h"

namespace newsdedup {

double CandidateProbability(double s, int bands, int rows) {
  return 1.0 - std::pow(1.0 - std::pow(s, rows), bands);
}

absl::StatusOr<LshParams> ChooseBands(int num_perm, double threshold,
                                      double min_recall) {
  if (!(threshold > 0.0 && threshold < 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("threshold must be in (0, 1), got ", threshold));
  }
  if (!(min_recall > 0.0 && min_recall < 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("minimum recall must be in (0, 1), got ", min_recall));
  }
  if (num_perm < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("signature size must be positive, got ", num_perm));
  }
  // More rows per band make the S-curve steeper and cut false candidates;
  // take the largest row count that still reaches min_recall at the
  // threshold, with as many bands as fit.
  for (int rows = num_perm; rows >= 1; --rows) {
    const int bands = num_perm / rows;
    if (CandidateProbability(threshold, bands, rows) >= min_recall) {
      return LshParams{bands, rows};
    }
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "no band layout of a ", num_perm, "-value signature reaches recall ",
      min_recall, " at threshold ", threshold, "; use a larger signature"));
}

void BandKeys(const uint32_t* signature, const LshParams& params,
              uint64_t* keys) {
  for (int band = 0; band < params.bands; ++band) {
    const uint32_t* row = signature + band * params.rows;
    uint64_t h = 0x8CB92BA72F3D8DD7ULL + static_cast<uint64_t>(band);
    for (int r = 0; r < params.rows; ++r) h = CombineOrdered(h, row[r]);
    keys[band] = Finalize(h);
  }
}

bool LshIndex::Insert(const uint64_t* keys, uint32_t id) {
  // Entries are numbered with 32 bits (kNone excluded).
  if (ids_.size() + static_cast<size_t>(params_.bands) >= kNone) return false;
  for (int band = 0; band < params_.bands; ++band) {
    const uint32_t entry = static_cast<uint32_t>(ids_.size());
    auto [it, inserted] =
        heads_.try_emplace(static_cast<uint32_t>(keys[band]), entry);
    ids_.push_back(id);
    next_.push_back(inserted ? kNone : it->second);
    it->second = entry;
  }
  return true;
}

size_t LshIndex::MemoryBytes() const {
  return heads_.capacity() * (2 * sizeof(uint32_t) + 1) +
         ids_.capacity() * sizeof(uint32_t) +
         next_.capacity() * sizeof(uint32_t);
}

}  // namespace newsdedup
