#include "newsdedup/shingle.h"

#include <algorithm>

#include "hwy/contrib/sort/vqsort.h"
#include "newsdedup/hash.h"

namespace newsdedup {
namespace {

// Sets up to this size are sorted by insertion (see SortedUnique).
constexpr size_t kInsertionSortMax = 24;

}  // namespace

void ShingleHashes(absl::Span<const Token> tokens, int size,
                   std::vector<uint64_t>* out) {
  if (size < 1 || tokens.size() < static_cast<size_t>(size)) return;
  const size_t count = tokens.size() - size + 1;
  const size_t old = out->size();
  out->resize(old + count);
  uint64_t* dst = out->data() + old;
  // The seed depends on the shingle size, so a 3-shingle never equals a
  // 4-shingle of other words by construction.
  const uint64_t seed = 0x2545F4914F6CDD1DULL * static_cast<uint64_t>(size);
  if (size == 3) {  // the default: unrolled, so shingles overlap in flight
    for (size_t i = 0; i < count; ++i) {
      const uint64_t h =
          CombineOrdered(CombineOrdered(CombineOrdered(seed, tokens[i].hash),
                                        tokens[i + 1].hash),
                         tokens[i + 2].hash);
      dst[i] = Finalize(h);
    }
    return;
  }
  for (size_t i = 0; i < count; ++i) {
    uint64_t h = seed;
    for (int k = 0; k < size; ++k) h = CombineOrdered(h, tokens[i + k].hash);
    dst[i] = Finalize(h);
  }
}

void SortedUnique(std::vector<uint64_t>* hashes) {
  std::sort(hashes->begin(), hashes->end());
  hashes->erase(std::unique(hashes->begin(), hashes->end()), hashes->end());
}

void SortedUnique(std::vector<uint32_t>* hashes) {
  uint32_t* keys = hashes->data();
  const size_t n = hashes->size();
  if (n <= kInsertionSortMax) {
    // The near matcher's candidate lists: a handful of keys. Highway's sort
    // would ask the kernel for a random seed on every call (a getrandom
    // system call, about 0.4 us: 30x this loop).
    for (size_t i = 1; i < n; ++i) {
      const uint32_t key = keys[i];
      size_t j = i;
      for (; j > 0 && keys[j - 1] > key; --j) keys[j] = keys[j - 1];
      keys[j] = key;
    }
  } else {
    // Highway's vectorized sort (sorting networks for a few hundred keys,
    // dispatched at run time): the fingerprint sets verified by the near
    // matcher are of this size, and std::sort mispredicts on every level.
    thread_local const hwy::Sorter sorter;
    sorter(keys, n, hwy::SortAscending());
  }
  hashes->erase(std::unique(hashes->begin(), hashes->end()), hashes->end());
}

uint64_t SequenceHash(absl::Span<const Token> tokens) {
  SequenceHasher h(tokens.size());
  for (const Token& t : tokens) h.Add(t.hash);
  return h.Finish();
}

namespace {

template <typename T>
double SortedSetJaccard(absl::Span<const T> a, absl::Span<const T> b) {
  if (a.empty() && b.empty()) return 1.0;
  size_t i = 0, j = 0, common = 0;
  while (i < a.size() && j < b.size()) {
    if (a[i] < b[j]) {
      ++i;
    } else if (b[j] < a[i]) {
      ++j;
    } else {
      ++common;
      ++i;
      ++j;
    }
  }
  return static_cast<double>(common) /
         static_cast<double>(a.size() + b.size() - common);
}

}  // namespace

double ExactJaccard(absl::Span<const uint64_t> a,
                    absl::Span<const uint64_t> b) {
  return SortedSetJaccard(a, b);
}

double ExactJaccard(absl::Span<const uint32_t> a,
                    absl::Span<const uint32_t> b) {
  return SortedSetJaccard(a, b);
}

}  // namespace newsdedup
