// Shingles, the shingle kernel compiled once per SIMD target by Highway's
// foreach_target.h and dispatched at run time, sets and their Jaccard.
#include "newsdedup/shingle.h"

#include <algorithm>
#include <cstddef>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "shingle.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace newsdedup {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// The default shingle of three words for windows [0, count) of `tokens`
// (count + 2 tokens): dst[i] = Finalize(CombineOrdered(CombineOrdered(
// CombineOrdered(seed, h[i]), h[i + 1]), h[i + 2])). On AVX-512, eight
// windows at a time (vpmullq multiplies 64-bit lanes in one instruction;
// elsewhere the multiplication would be emulated, slower than scalar code).
void Shingle3Kernel(const Token* HWY_RESTRICT tokens, size_t count,
                    uint64_t seed, uint64_t* HWY_RESTRICT dst) {
  size_t i = 0;
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
  static_assert(sizeof(Token) == 16 && offsetof(Token, hash) == 8,
                "a token is two 64-bit lanes, the hash the odd one");
  const hn::ScalableTag<uint64_t> d;
  const size_t lanes = hn::Lanes(d);
  const auto* words = reinterpret_cast<const uint64_t*>(tokens);
  // The hashes of tokens j .. j + lanes - 1: the odd lanes of two vectors.
  const auto hashes_at = [&](size_t j) {
    return hn::ConcatOdd(d, hn::LoadU(d, words + 2 * j + lanes),
                         hn::LoadU(d, words + 2 * j));
  };
  const auto k1 = hn::Set(d, 0x9E3779B97F4A7C15ULL);
  const auto k2 = hn::Set(d, 0xD6E8FEB86659FD93ULL);
  // CombineOrdered, lane by lane.
  const auto combine = [&](decltype(k1) state, decltype(k1) value) {
    auto x = hn::Mul(hn::Xor(state, value), k1);
    x = hn::Xor(hn::Xor(x, hn::ShiftRight<32>(x)), hn::RotateRight<35>(state));
    return hn::Mul(x, k2);
  };
  const auto seeds = hn::Set(d, seed);
  const auto f1 = hn::Set(d, 0xFF51AFD7ED558CCDULL);
  const auto f2 = hn::Set(d, 0xC4CEB9FE1A85EC53ULL);
  for (; i + lanes <= count; i += lanes) {
    auto h = combine(combine(combine(seeds, hashes_at(i)), hashes_at(i + 1)),
                     hashes_at(i + 2));
    // Finalize.
    h = hn::Xor(h, hn::ShiftRight<33>(h));
    h = hn::Mul(h, f1);
    h = hn::Xor(h, hn::ShiftRight<33>(h));
    h = hn::Mul(h, f2);
    h = hn::Xor(h, hn::ShiftRight<33>(h));
    hn::StoreU(h, d, dst + i);
  }
#endif
  // Unrolled, so shingles overlap in flight.
  for (; i < count; ++i) {
    const uint64_t h =
        CombineOrdered(CombineOrdered(CombineOrdered(seed, tokens[i].hash),
                                      tokens[i + 1].hash),
                       tokens[i + 2].hash);
    dst[i] = Finalize(h);
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace newsdedup
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "hwy/contrib/sort/vqsort.h"

namespace newsdedup {

HWY_EXPORT(Shingle3Kernel);

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
  if (size == 3) {  // the default
    HWY_DYNAMIC_DISPATCH(Shingle3Kernel)(tokens.data(), count, seed, dst);
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
#endif  // HWY_ONCE
