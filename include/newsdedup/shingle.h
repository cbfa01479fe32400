// Shingles: the hashes of all runs of `size` consecutive words, combined
// order-sensitively from the per-word hashes the tokenizer computed (each
// word is hashed once, however many shingles it is part of).
//
//   std::vector<uint64_t> shingles;
//   newsdedup::ShingleHashes(tokens, 3, &shingles);   // tokens.size()-2 hashes
//   newsdedup::SortedUnique(&shingles);                // the shingle *set*
//
// A text of fewer than `size` words has no shingles; such texts are matched
// exactly (by their whole-text hash) only.
#ifndef NEWSDEDUP_SHINGLE_H_
#define NEWSDEDUP_SHINGLE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "newsdedup/hash.h"
#include "newsdedup/tokenize.h"

namespace newsdedup {

// Appends one hash per window of `size` consecutive tokens (size >= 1), in
// order. The hash depends on the order of the words and on `size`. Pure.
void ShingleHashes(absl::Span<const Token> tokens, int size,
                   std::vector<uint64_t>* out);

// Sorts `*hashes` and removes repeats, turning a shingle sequence into a set.
void SortedUnique(std::vector<uint64_t>* hashes);
void SortedUnique(std::vector<uint32_t>* hashes);

// Hash of the whole token sequence (normalized text): equal for texts that
// differ only in case, Unicode normalization, punctuation or spacing.
uint64_t SequenceHash(absl::Span<const Token> tokens);

// SequenceHash a word at a time, for a loop that does other work per word
// (its chain of multiplications then overlaps that work):
//   SequenceHasher h(tokens.size());
//   for (const Token& t : tokens) h.Add(t.hash);
//   h.Finish() == SequenceHash(tokens)
class SequenceHasher {
 public:
  explicit SequenceHasher(size_t count)
      : state_(0x9AE16A3B2F90404FULL ^ count) {}
  void Add(uint64_t word_hash) { state_ = CombineOrdered(state_, word_hash); }
  uint64_t Finish() const { return Finalize(state_); }

 private:
  uint64_t state_;
};

// |A ∩ B| / |A ∪ B| of two sorted, duplicate-free sets; 1.0 when both are
// empty. Linear merge.
double ExactJaccard(absl::Span<const uint64_t> a, absl::Span<const uint64_t> b);
// The same for 32-bit shingle fingerprints.
double ExactJaccard(absl::Span<const uint32_t> a, absl::Span<const uint32_t> b);

}  // namespace newsdedup

#endif  // NEWSDEDUP_SHINGLE_H_
