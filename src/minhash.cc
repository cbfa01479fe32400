// MinHash kernels, compiled once per SIMD target by Highway's
// foreach_target.h and dispatched at run time.
#include "newsdedup/minhash.h"

#include <algorithm>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "minhash.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace newsdedup {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// For each permutation i: sig[i] = min over x of a_i * x + b_i (mod 2^64).
// a_i * x = a_lo * x + (a_hi * x) << 32 (mod 2^64), two 32x32->64 multiplies
// per lane (MulEven). Four vectors of permutations are processed per pass
// over the shingles so the running minima stay in registers.
void SketchKernel(const uint64_t* HWY_RESTRICT shingles, size_t count,
                  const uint64_t* HWY_RESTRICT a,
                  const uint64_t* HWY_RESTRICT a_lo,
                  const uint64_t* HWY_RESTRICT a_hi,
                  const uint64_t* HWY_RESTRICT b, size_t num_perm,
                  uint32_t* HWY_RESTRICT signature) {
#if HWY_TARGET == HWY_SCALAR
  // One-lane target: 64-bit lanes cannot be split into 32-bit halves, so
  // multiply directly.
  (void)a_lo;
  (void)a_hi;
  for (size_t i = 0; i < num_perm; ++i) {
    uint64_t m = ~uint64_t{0};
    for (size_t s = 0; s < count; ++s) {
      const uint64_t h = a[i] * (shingles[s] >> 32) + b[i];
      m = h < m ? h : m;
    }
    signature[i] = static_cast<uint32_t>(m >> 32);
  }
#elif HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
  // AVX-512DQ multiplies 64-bit lanes in one instruction (vpmullq): a * x
  // directly, instead of two 32x32 multiplies, a shift and an add.
  (void)a_lo;
  (void)a_hi;
  const hn::ScalableTag<uint64_t> d64;
  const size_t lanes = hn::Lanes(d64);
  HWY_ALIGN uint64_t minima[1024];
  size_t p = 0;
  for (; p + 4 * lanes <= num_perm; p += 4 * lanes) {
    const auto a0 = hn::LoadU(d64, a + p);
    const auto a1 = hn::LoadU(d64, a + p + lanes);
    const auto a2 = hn::LoadU(d64, a + p + 2 * lanes);
    const auto a3 = hn::LoadU(d64, a + p + 3 * lanes);
    const auto b0 = hn::LoadU(d64, b + p);
    const auto b1 = hn::LoadU(d64, b + p + lanes);
    const auto b2 = hn::LoadU(d64, b + p + 2 * lanes);
    const auto b3 = hn::LoadU(d64, b + p + 3 * lanes);
    auto m0 = hn::Set(d64, ~uint64_t{0});
    auto m1 = m0, m2 = m0, m3 = m0;
    for (size_t s = 0; s < count; ++s) {
      const auto x = hn::Set(d64, shingles[s] >> 32);
      m0 = hn::Min(m0, hn::Add(hn::Mul(a0, x), b0));
      m1 = hn::Min(m1, hn::Add(hn::Mul(a1, x), b1));
      m2 = hn::Min(m2, hn::Add(hn::Mul(a2, x), b2));
      m3 = hn::Min(m3, hn::Add(hn::Mul(a3, x), b3));
    }
    hn::Store(m0, d64, minima + p);
    hn::Store(m1, d64, minima + p + lanes);
    hn::Store(m2, d64, minima + p + 2 * lanes);
    hn::Store(m3, d64, minima + p + 3 * lanes);
  }
  for (; p < num_perm; p += lanes) {
    const auto av = hn::LoadU(d64, a + p);
    const auto bv = hn::LoadU(d64, b + p);
    auto m = hn::Set(d64, ~uint64_t{0});
    for (size_t s = 0; s < count; ++s) {
      m = hn::Min(m, hn::Add(hn::Mul(av, hn::Set(d64, shingles[s] >> 32)), bv));
    }
    hn::Store(m, d64, minima + p);
  }
  for (size_t i = 0; i < num_perm; ++i) {
    signature[i] = static_cast<uint32_t>(minima[i] >> 32);
  }
#else
  (void)a;
  const hn::ScalableTag<uint64_t> d64;
  const hn::Repartition<uint32_t, decltype(d64)> d32;
  const size_t lanes = hn::Lanes(d64);
  HWY_ALIGN uint64_t minima[1024];
  size_t p = 0;
  for (; p + 4 * lanes <= num_perm; p += 4 * lanes) {
    auto alo0 = hn::BitCast(d32, hn::LoadU(d64, a_lo + p));
    auto alo1 = hn::BitCast(d32, hn::LoadU(d64, a_lo + p + lanes));
    auto alo2 = hn::BitCast(d32, hn::LoadU(d64, a_lo + p + 2 * lanes));
    auto alo3 = hn::BitCast(d32, hn::LoadU(d64, a_lo + p + 3 * lanes));
    auto ahi0 = hn::BitCast(d32, hn::LoadU(d64, a_hi + p));
    auto ahi1 = hn::BitCast(d32, hn::LoadU(d64, a_hi + p + lanes));
    auto ahi2 = hn::BitCast(d32, hn::LoadU(d64, a_hi + p + 2 * lanes));
    auto ahi3 = hn::BitCast(d32, hn::LoadU(d64, a_hi + p + 3 * lanes));
    const auto b0 = hn::LoadU(d64, b + p);
    const auto b1 = hn::LoadU(d64, b + p + lanes);
    const auto b2 = hn::LoadU(d64, b + p + 2 * lanes);
    const auto b3 = hn::LoadU(d64, b + p + 3 * lanes);
    auto m0 = hn::Set(d64, ~uint64_t{0});
    auto m1 = m0, m2 = m0, m3 = m0;
    for (size_t s = 0; s < count; ++s) {
      const auto x = hn::BitCast(d32, hn::Set(d64, shingles[s] >> 32));
      m0 = hn::Min(m0, hn::Add(hn::Add(hn::MulEven(alo0, x), b0),
                               hn::ShiftLeft<32>(hn::MulEven(ahi0, x))));
      m1 = hn::Min(m1, hn::Add(hn::Add(hn::MulEven(alo1, x), b1),
                               hn::ShiftLeft<32>(hn::MulEven(ahi1, x))));
      m2 = hn::Min(m2, hn::Add(hn::Add(hn::MulEven(alo2, x), b2),
                               hn::ShiftLeft<32>(hn::MulEven(ahi2, x))));
      m3 = hn::Min(m3, hn::Add(hn::Add(hn::MulEven(alo3, x), b3),
                               hn::ShiftLeft<32>(hn::MulEven(ahi3, x))));
    }
    hn::Store(m0, d64, minima + p);
    hn::Store(m1, d64, minima + p + lanes);
    hn::Store(m2, d64, minima + p + 2 * lanes);
    hn::Store(m3, d64, minima + p + 3 * lanes);
  }
  for (; p < num_perm; p += lanes) {
    const auto alo = hn::BitCast(d32, hn::LoadU(d64, a_lo + p));
    const auto ahi = hn::BitCast(d32, hn::LoadU(d64, a_hi + p));
    const auto bb = hn::LoadU(d64, b + p);
    auto m = hn::Set(d64, ~uint64_t{0});
    for (size_t s = 0; s < count; ++s) {
      const auto x = hn::BitCast(d32, hn::Set(d64, shingles[s] >> 32));
      m = hn::Min(m, hn::Add(hn::Add(hn::MulEven(alo, x), bb),
                             hn::ShiftLeft<32>(hn::MulEven(ahi, x))));
    }
    hn::Store(m, d64, minima + p);
  }
  for (size_t i = 0; i < num_perm; ++i) {
    signature[i] = static_cast<uint32_t>(minima[i] >> 32);
  }
#endif
}

}  // namespace HWY_NAMESPACE
}  // namespace newsdedup
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace newsdedup {

HWY_EXPORT(SketchKernel);

namespace {
// SplitMix64: a fixed, portable generator for the permutation parameters.
uint64_t SplitMix64(uint64_t* state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}
}  // namespace

absl::StatusOr<MinHasher> MinHasher::Create(int num_perm, uint64_t seed) {
  if (num_perm < 8 || num_perm > 1024 || num_perm % 8 != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "signature size must be a multiple of 8 in [8, 1024], got ", num_perm));
  }
  MinHasher hasher;
  hasher.num_perm_ = num_perm;
  hasher.a_.resize(num_perm);
  hasher.a_lo_.resize(num_perm);
  hasher.a_hi_.resize(num_perm);
  hasher.b_.resize(num_perm);
  uint64_t state = seed ^ 0x6A09E667F3BCC909ULL;
  for (int i = 0; i < num_perm; ++i) {
    const uint64_t a = SplitMix64(&state) | 1;  // odd multiplier
    hasher.a_[i] = a;
    hasher.a_lo_[i] = a & 0xFFFFFFFFULL;
    hasher.a_hi_[i] = a >> 32;
    hasher.b_[i] = SplitMix64(&state);
  }
  return hasher;
}

void MinHasher::Sketch(absl::Span<const uint64_t> shingles,
                       uint32_t* signature) const {
  HWY_DYNAMIC_DISPATCH(SketchKernel)
  (shingles.data(), shingles.size(), a_.data(), a_lo_.data(), a_hi_.data(),
   b_.data(), static_cast<size_t>(num_perm_), signature);
}

void MinHasher::SketchScalar(absl::Span<const uint64_t> shingles,
                             uint32_t* signature) const {
  for (int i = 0; i < num_perm_; ++i) {
    const uint64_t a = a_lo_[i] | (a_hi_[i] << 32);
    uint64_t m = ~uint64_t{0};
    for (uint64_t h : shingles) m = std::min(m, a * (h >> 32) + b_[i]);
    signature[i] = static_cast<uint32_t>(m >> 32);
  }
}

const char* MinHasher::TargetName() {
  // The dispatch table picks the best target in HWY_TARGETS that the CPU
  // supports; report the same choice.
  const int64_t targets = hwy::SupportedTargets() & HWY_TARGETS;
  return hwy::TargetName(targets & (~targets + 1));
}

double EstimateJaccard(absl::Span<const uint32_t> a,
                       absl::Span<const uint32_t> b) {
  const size_t n = a.size();
  if (n == 0 || b.size() != n) return 0.0;
  size_t equal = 0;
  for (size_t i = 0; i < n; ++i) equal += a[i] == b[i];
  return static_cast<double>(equal) / static_cast<double>(n);
}

}  // namespace newsdedup
#endif  // HWY_ONCE
