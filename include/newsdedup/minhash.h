// MinHash signatures of shingle sets, computed with SIMD chosen at run time
// (AVX-512, AVX2, SSE4 or portable code, through Highway's dispatch).
//
//   auto hasher = newsdedup::MinHasher::Create(128, /*seed=*/1);
//   std::vector<uint32_t> sig(hasher->num_perm());
//   hasher->Sketch(shingles, sig.data());
//   double j = newsdedup::EstimateJaccard(sig_a, sig_b);
//
// Family: h_i(x) = ((a_i * x + b_i) mod 2^64) >> 32 with a_i a random odd
// 64-bit multiplier, b_i a random 64-bit offset, and x the high 32 bits of
// the shingle hash (multiply-add-shift, Dietzfelbinger 1996: 2-independent
// for 32-bit keys). A 32-bit multiplier would make h_i monotone in x and
// every h_i pick the same minimum; the 64-bit multiplier is what makes the
// permutations independent. Since >> 32 is monotone, the minimum is taken
// over the full 64-bit values and shifted once at the end.
#ifndef NEWSDEDUP_MINHASH_H_
#define NEWSDEDUP_MINHASH_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace newsdedup {

class MinHasher {
 public:
  // `num_perm`: signature length, a multiple of 8 in [8, 1024].
  // `seed`: selects the permutation family; equal seeds give equal
  // signatures on every machine and SIMD target.
  static absl::StatusOr<MinHasher> Create(int num_perm, uint64_t seed);

  int num_perm() const { return num_perm_; }

  // Writes num_perm() values to `signature`. An empty set gives all
  // 0xFFFFFFFF. Thread-safe (const). Cost: about num_perm / lanes vector
  // multiply-add-min steps per shingle.
  void Sketch(absl::Span<const uint64_t> shingles, uint32_t* signature) const;

  // The same result computed one permutation at a time in plain C++; the
  // reference that the SIMD kernels are tested against.
  void SketchScalar(absl::Span<const uint64_t> shingles,
                    uint32_t* signature) const;

  // Name of the SIMD target Sketch() dispatches to on this machine.
  static const char* TargetName();

 private:
  MinHasher() = default;
  int num_perm_ = 0;
  // Multipliers whole (for targets with a 64-bit lane multiply) and split
  // into 32-bit halves, each in a 64-bit lane (for the others), and the
  // offsets; the layouts the SIMD kernels load directly.
  std::vector<uint64_t> a_, a_lo_, a_hi_, b_;
};

// Fraction of equal positions: an unbiased estimate of the Jaccard
// similarity with standard error sqrt(J(1-J)/num_perm). Signatures of
// different lengths come from different hashers and are not comparable:
// the result is 0.
double EstimateJaccard(absl::Span<const uint32_t> a,
                       absl::Span<const uint32_t> b);

}  // namespace newsdedup

#endif  // NEWSDEDUP_MINHASH_H_
