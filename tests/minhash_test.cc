// Tests for MinHash: option validation, the SIMD kernels against the scalar
// reference (every target this CPU runs, every remainder path), algebraic
// properties of a min-sketch, and statistical tests with fixed seeds and
// stated tolerances: the Jaccard estimate's bias and spread, per-permutation
// collision probabilities, and min-wise uniformity of the chosen element.
#include "newsdedup/minhash.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include "absl/status/status.h"
#include "hwy/targets.h"

namespace newsdedup {
namespace {

MinHasher MakeHasher(int num_perm, uint64_t seed) {
  absl::StatusOr<MinHasher> hasher = MinHasher::Create(num_perm, seed);
  EXPECT_TRUE(hasher.ok()) << hasher.status();
  return *std::move(hasher);
}

std::vector<uint32_t> SketchOf(const MinHasher& hasher,
                               const std::vector<uint64_t>& set) {
  std::vector<uint32_t> sig(hasher.num_perm());
  hasher.Sketch(set, sig.data());
  return sig;
}

std::vector<uint32_t> ScalarSketchOf(const MinHasher& hasher,
                                     const std::vector<uint64_t>& set) {
  std::vector<uint32_t> sig(hasher.num_perm());
  hasher.SketchScalar(set, sig.data());
  return sig;
}

// `count` random shingle hashes whose high 32 bits (the part MinHash uses)
// are distinct from each other and from everything in `*used`.
std::vector<uint64_t> DistinctHashes(std::mt19937_64& rng, size_t count,
                                     std::unordered_set<uint32_t>* used) {
  std::vector<uint64_t> out;
  out.reserve(count);
  while (out.size() < count) {
    const uint64_t h = rng();
    if (used->insert(static_cast<uint32_t>(h >> 32)).second) out.push_back(h);
  }
  return out;
}

struct SetPair {
  std::vector<uint64_t> a;
  std::vector<uint64_t> b;
  double jaccard;  // exact: common / (2n - common)
};

// Two sets of `n` elements sharing `common` of them.
SetPair MakePair(std::mt19937_64& rng, size_t n, size_t common) {
  std::unordered_set<uint32_t> used;
  const std::vector<uint64_t> shared = DistinctHashes(rng, common, &used);
  SetPair pair;
  pair.a = shared;
  pair.b = shared;
  for (uint64_t h : DistinctHashes(rng, n - common, &used)) pair.a.push_back(h);
  for (uint64_t h : DistinctHashes(rng, n - common, &used)) pair.b.push_back(h);
  std::shuffle(pair.a.begin(), pair.a.end(), rng);
  std::shuffle(pair.b.begin(), pair.b.end(), rng);
  pair.jaccard =
      static_cast<double>(common) / static_cast<double>(2 * n - common);
  return pair;
}

// The `common` that makes two n-sets closest to Jaccard `target`:
// J = c / (2n - c)  =>  c = 2nJ / (1 + J).
size_t CommonFor(size_t n, double target) {
  return static_cast<size_t>(std::lround(2.0 * n * target / (1.0 + target)));
}

TEST(MinHasherCreateTest, RejectsInvalidSizes) {
  for (int num_perm : {0, -8, 4, 7, 12, 1020, 1032, 2048}) {
    const absl::StatusOr<MinHasher> hasher = MinHasher::Create(num_perm, 1);
    ASSERT_FALSE(hasher.ok()) << num_perm;
    EXPECT_EQ(hasher.status().code(), absl::StatusCode::kInvalidArgument);
    // The message names the offending value.
    EXPECT_NE(hasher.status().message().find(std::to_string(num_perm)),
              absl::string_view::npos)
        << hasher.status();
  }
}

TEST(MinHasherCreateTest, AcceptsMultiplesOfEightUpTo1024) {
  for (int num_perm : {8, 16, 24, 128, 136, 1016, 1024}) {
    const absl::StatusOr<MinHasher> hasher = MinHasher::Create(num_perm, 1);
    ASSERT_TRUE(hasher.ok()) << num_perm << ": " << hasher.status();
    EXPECT_EQ(hasher->num_perm(), num_perm);
  }
}

TEST(MinHasherTest, EmptySetGivesAllOnes) {
  for (int num_perm : {8, 24, 128, 136, 1024}) {
    const MinHasher hasher = MakeHasher(num_perm, 3);
    std::vector<uint32_t> sig(num_perm, 0);
    hasher.Sketch({}, sig.data());
    EXPECT_EQ(sig, std::vector<uint32_t>(num_perm, 0xFFFFFFFFu)) << num_perm;
    std::fill(sig.begin(), sig.end(), 0);
    hasher.SketchScalar({}, sig.data());
    EXPECT_EQ(sig, std::vector<uint32_t>(num_perm, 0xFFFFFFFFu)) << num_perm;
  }
}

TEST(MinHasherTest, TargetNameIsReported) {
  const std::string name = MinHasher::TargetName();
  EXPECT_FALSE(name.empty());
  EXPECT_NE(name, "Unknown");
}

// Sets that stress the kernels: random values, extreme high halves (the
// 32x32->64 products and the carries of the split multiply), and values that
// differ only in their low 32 bits (which MinHash ignores).
std::vector<std::vector<uint64_t>> KernelTestSets() {
  std::mt19937_64 rng(424242);
  std::vector<std::vector<uint64_t>> sets;
  for (size_t size : {0, 1, 2, 5, 20, 50, 200, 1000}) {
    std::vector<uint64_t> set(size);
    for (uint64_t& h : set) h = rng();
    sets.push_back(set);
  }
  sets.push_back({0});
  sets.push_back({~uint64_t{0}});
  sets.push_back({0xFFFFFFFF00000000ULL, 0x00000000FFFFFFFFULL,
                  0x8000000000000000ULL, 0x7FFFFFFFFFFFFFFFULL,
                  0x0000000100000000ULL});
  std::vector<uint64_t> high(64);
  for (size_t k = 0; k < high.size(); ++k) {
    high[k] = (0xFFFFFFC0ULL + k) << 32 | (rng() & 0xFFFFFFFF);
  }
  sets.push_back(high);
  return sets;
}

const int kPermCounts[] = {8, 16, 24, 40, 64, 128, 136, 256, 1024};

TEST(MinHasherTest, SketchEqualsScalarReference) {
  const std::vector<std::vector<uint64_t>> sets = KernelTestSets();
  for (int num_perm : kPermCounts) {
    for (uint64_t seed : {0ULL, 1ULL, 0xDEADBEEFULL}) {
      const MinHasher hasher = MakeHasher(num_perm, seed);
      for (const std::vector<uint64_t>& set : sets) {
        SCOPED_TRACE(testing::Message() << "num_perm " << num_perm << " seed "
                                        << seed << " size " << set.size());
        // Guard values after the signature catch writes past num_perm.
        std::vector<uint32_t> sig(num_perm + 16, 0x5A5A5A5Au);
        hasher.Sketch(set, sig.data());
        std::vector<uint32_t> ref(num_perm);
        hasher.SketchScalar(set, ref.data());
        ASSERT_EQ(std::vector<uint32_t>(sig.begin(), sig.begin() + num_perm),
                  ref);
        for (int k = num_perm; k < num_perm + 16; ++k) {
          ASSERT_EQ(sig[k], 0x5A5A5A5Au) << "wrote past the end";
        }
      }
    }
  }
}

// Restores the real CPU target set when a test that mocks it ends.
class TargetMock {
 public:
  explicit TargetMock(int64_t target) {
    hwy::SetSupportedTargetsForTest(target);
  }
  ~TargetMock() { hwy::SetSupportedTargetsForTest(0); }
};

TEST(MinHasherTest, EverySimdTargetEqualsScalarReference) {
  // Each kernel compiled for a target this CPU supports, forced in turn.
  const std::vector<std::vector<uint64_t>> sets = KernelTestSets();
  const std::vector<int64_t> targets = hwy::SupportedAndGeneratedTargets();
  ASSERT_FALSE(targets.empty());
  for (int64_t target : targets) {
    TargetMock mock(target);
    SCOPED_TRACE(hwy::TargetName(target));
    EXPECT_STREQ(MinHasher::TargetName(), hwy::TargetName(target));
    for (int num_perm : kPermCounts) {
      const MinHasher hasher = MakeHasher(num_perm, 77);
      for (const std::vector<uint64_t>& set : sets) {
        ASSERT_EQ(SketchOf(hasher, set), ScalarSketchOf(hasher, set))
            << "num_perm " << num_perm << " size " << set.size();
      }
    }
  }
  std::cout << "checked " << targets.size() << " SIMD targets\n";
}

TEST(MinHasherTest, SignatureOfAUnionIsTheMinimumOfTheSignatures) {
  // A min-sketch composes: sig(A ∪ B)[i] = min(sig(A)[i], sig(B)[i]). And
  // it ignores order and repeats.
  std::mt19937_64 rng(11);
  const MinHasher hasher = MakeHasher(136, 5);
  for (int round = 0; round < 50; ++round) {
    std::vector<uint64_t> a(1 + round), b(3 * round % 40);
    for (uint64_t& h : a) h = rng();
    for (uint64_t& h : b) h = rng();
    std::vector<uint64_t> both = a;
    both.insert(both.end(), b.begin(), b.end());
    const std::vector<uint32_t> sa = SketchOf(hasher, a);
    const std::vector<uint32_t> sb = SketchOf(hasher, b);
    std::vector<uint32_t> expected(sa.size());
    for (size_t i = 0; i < sa.size(); ++i) expected[i] = std::min(sa[i], sb[i]);
    ASSERT_EQ(SketchOf(hasher, both), expected);
    std::shuffle(both.begin(), both.end(), rng);
    both.insert(both.end(), a.begin(), a.end());  // repeats
    ASSERT_EQ(SketchOf(hasher, both), expected);
  }
}

TEST(MinHasherTest, OnlyTheHigh32BitsOfAShingleMatter) {
  std::mt19937_64 rng(12);
  const MinHasher hasher = MakeHasher(64, 5);
  std::vector<uint64_t> set(30);
  for (uint64_t& h : set) h = rng();
  std::vector<uint64_t> changed = set;
  for (uint64_t& h : changed) h ^= rng() & 0xFFFFFFFFULL;
  EXPECT_EQ(SketchOf(hasher, set), SketchOf(hasher, changed));
  // The lowest key bit changes every value of a singleton's signature:
  // h_i(x + 1) - h_i(x) = a_i, a random odd 64-bit number, so the high
  // halves differ except with probability ~2^-32 per permutation.
  const std::vector<uint32_t> one = SketchOf(hasher, {set[0]});
  const std::vector<uint32_t> other = SketchOf(hasher, {set[0] ^ (1ULL << 32)});
  EXPECT_EQ(EstimateJaccard(one, other), 0.0);
}

TEST(MinHasherTest, SeedSelectsTheFamily) {
  std::mt19937_64 rng(13);
  std::vector<uint64_t> set(50);
  for (uint64_t& h : set) h = rng();
  const std::vector<uint32_t> s1 = SketchOf(MakeHasher(128, 1), set);
  EXPECT_EQ(SketchOf(MakeHasher(128, 1), set), s1);  // same seed, same sig
  const std::vector<uint32_t> s2 = SketchOf(MakeHasher(128, 2), set);
  // Another family on the same set agrees only by chance (32-bit values).
  EXPECT_LT(EstimateJaccard(s1, s2), 0.05);
  // The first values of a longer signature are those of a shorter one with
  // the same seed: the parameters are drawn in order.
  const std::vector<uint32_t> s256 = SketchOf(MakeHasher(256, 1), set);
  EXPECT_EQ(std::vector<uint32_t>(s256.begin(), s256.begin() + 128), s1);
}

TEST(MinHasherTest, PermutationsDifferFromEachOther) {
  // No two of the 1024 permutations give the same value on a 20-element
  // set (a repeated parameter or a lane mix-up in the kernel would).
  std::mt19937_64 rng(14);
  std::vector<uint64_t> set(20);
  for (uint64_t& h : set) h = rng();
  const std::vector<uint32_t> sig = SketchOf(MakeHasher(1024, 9), set);
  std::vector<uint32_t> sorted = sig;
  std::sort(sorted.begin(), sorted.end());
  // 1024 minima of 32-bit values: a chance repeat has probability ~1e-4.
  EXPECT_EQ(std::unique(sorted.begin(), sorted.end()), sorted.end());
}

TEST(EstimateJaccardTest, Table) {
  struct Case {
    std::vector<uint32_t> a;
    std::vector<uint32_t> b;
    double expected;
  };
  const Case cases[] = {
      {{}, {}, 0.0},
      {{1, 2, 3, 4}, {1, 2, 3, 4}, 1.0},
      {{1, 2, 3, 4}, {5, 6, 7, 8}, 0.0},
      {{1, 2, 3, 4}, {1, 2, 0, 4}, 0.75},
      {{1, 2, 3, 4, 5, 6, 7, 8}, {1, 0, 3, 0, 5, 0, 7, 0}, 0.5},
      {{0xFFFFFFFFu, 7}, {0xFFFFFFFFu, 8}, 0.5},
  };
  for (const Case& c : cases) {
    EXPECT_DOUBLE_EQ(EstimateJaccard(c.a, c.b), c.expected);
  }
}

TEST(MinHasherTest, IdenticalSetsEstimateOneDisjointSetsZero) {
  std::mt19937_64 rng(15);
  const MinHasher hasher = MakeHasher(128, 1);
  for (size_t n : {1, 20, 200}) {
    const SetPair same = MakePair(rng, n, n);
    EXPECT_EQ(
        EstimateJaccard(SketchOf(hasher, same.a), SketchOf(hasher, same.b)),
        1.0);
    const SetPair disjoint = MakePair(rng, n, 0);
    EXPECT_EQ(EstimateJaccard(SketchOf(hasher, disjoint.a),
                              SketchOf(hasher, disjoint.b)),
              0.0);
  }
}

// Statistical tests. 128 permutations, 1000 random pairs per cell, fixed
// seeds. For independent permutations the estimate is Binomial(128, J)/128:
// standard error sqrt(J(1-J)/128) (0.035 to 0.044 here), so the mean of 1000
// estimates has standard error <= 0.0014 and |bias| < 0.01 is a 7-sigma
// bound. The sample standard deviation of 1000 values has a relative
// standard error of about 1/sqrt(2 * 999) = 2.2%, so "within 10% of theory"
// is a 4.5-sigma bound. A family whose permutations are correlated (e.g.
// monotone in x, as with a 32-bit multiplier) passes the bias test but has
// a spread close to sqrt(J(1-J)), 6.5 times the theory, and fails.
constexpr int kStatPerm = 128;
constexpr int kPairsPerCell = 1000;
const size_t kSetSizes[] = {20, 50, 200};
const double kTargets[] = {0.2, 0.5, 0.8};

TEST(MinHashStatisticsTest, JaccardEstimateIsUnbiasedWithTheoreticalSpread) {
  const MinHasher hasher = MakeHasher(kStatPerm, 2024);
  std::mt19937_64 rng(31337);
  for (size_t n : kSetSizes) {
    for (double target : kTargets) {
      const size_t common = CommonFor(n, target);
      double sum = 0, sum_sq = 0, jaccard = 0;
      for (int t = 0; t < kPairsPerCell; ++t) {
        const SetPair pair = MakePair(rng, n, common);
        jaccard = pair.jaccard;
        const double err = EstimateJaccard(SketchOf(hasher, pair.a),
                                           SketchOf(hasher, pair.b)) -
                           pair.jaccard;
        sum += err;
        sum_sq += err * err;
      }
      const double mean = sum / kPairsPerCell;
      const double sd = std::sqrt((sum_sq - kPairsPerCell * mean * mean) /
                                  (kPairsPerCell - 1));
      const double theory = std::sqrt(jaccard * (1 - jaccard) / kStatPerm);
      SCOPED_TRACE(testing::Message()
                   << "n=" << n << " J=" << jaccard << " bias=" << mean
                   << " sd=" << sd << " theory=" << theory);
      EXPECT_LT(std::abs(mean), 0.01);
      EXPECT_NEAR(sd / theory, 1.0, 0.1);
    }
  }
}

TEST(MinHashStatisticsTest, EachPermutationCollidesWithProbabilityJaccard) {
  // For every one of the 128 permutations separately, aggregated over all
  // 9000 pairs of the cells above: the number of collisions is a sum of
  // Bernoulli(J_t), with mean sum(J_t) and variance sum(J_t (1 - J_t)).
  // Each permutation's z-score must be within 4.5 (a chance failure among
  // 128 has probability ~1e-3); the sum of the 128 squared z-scores is
  // chi-square with 128 degrees of freedom (mean 128, sd 16) and must lie
  // in [64, 192]. This catches individually biased permutations (a weak
  // multiplier) and kernels that mix up lanes between permutations.
  const MinHasher hasher = MakeHasher(kStatPerm, 99);
  std::mt19937_64 rng(271828);
  std::vector<double> collisions(kStatPerm, 0);
  double mean = 0, variance = 0;
  for (size_t n : kSetSizes) {
    for (double target : kTargets) {
      const size_t common = CommonFor(n, target);
      for (int t = 0; t < kPairsPerCell; ++t) {
        const SetPair pair = MakePair(rng, n, common);
        const std::vector<uint32_t> sa = SketchOf(hasher, pair.a);
        const std::vector<uint32_t> sb = SketchOf(hasher, pair.b);
        for (int i = 0; i < kStatPerm; ++i) collisions[i] += sa[i] == sb[i];
        mean += pair.jaccard;
        variance += pair.jaccard * (1 - pair.jaccard);
      }
    }
  }
  double chi_square = 0;
  for (int i = 0; i < kStatPerm; ++i) {
    const double z = (collisions[i] - mean) / std::sqrt(variance);
    EXPECT_LT(std::abs(z), 4.5) << "permutation " << i << ": " << collisions[i]
                                << " collisions, expected " << mean;
    chi_square += z * z;
  }
  EXPECT_GT(chi_square, 64.0);
  EXPECT_LT(chi_square, 192.0);
}

TEST(MinHashStatisticsTest, TheMinimumIsAUniformlyChosenElement) {
  // Min-wise uniformity: every element of a set is the minimum of a
  // permutation with probability 1/n. With n = 20, 500 random sets and 128
  // permutations, rank the elements by their key (high 32 bits) and count
  // the rank of the element each permutation picks (found as the element
  // whose singleton signature has the same value). The 20 counts of 64000
  // picks are compared with chi-square (19 degrees of freedom, mean 19,
  // sd 6.2): it must stay below 60. A monotone family picks rank 0 every
  // time and scores ~1.2 million.
  constexpr size_t kN = 20;
  constexpr int kSets = 500;
  const MinHasher hasher = MakeHasher(kStatPerm, 7);
  std::mt19937_64 rng(1618);
  std::vector<double> picks(kN, 0);
  for (int t = 0; t < kSets; ++t) {
    std::unordered_set<uint32_t> used;
    std::vector<uint64_t> set = DistinctHashes(rng, kN, &used);
    std::sort(set.begin(), set.end());  // by key: the high bits sort first
    const std::vector<uint32_t> sig = SketchOf(hasher, set);
    std::vector<std::vector<uint32_t>> single(kN);
    for (size_t e = 0; e < kN; ++e) single[e] = SketchOf(hasher, {set[e]});
    for (int i = 0; i < kStatPerm; ++i) {
      size_t found = 0;
      for (size_t e = 0; e < kN; ++e) found += single[e][i] == sig[i];
      ASSERT_GE(found, 1u) << "the minimum is no element's value";
      for (size_t e = 0; e < kN; ++e) {
        if (single[e][i] == sig[i]) {
          picks[e] += 1.0 / found;  // split the rare 32-bit ties
        }
      }
    }
  }
  const double expected = static_cast<double>(kSets) * kStatPerm / kN;
  double chi_square = 0;
  for (double count : picks) {
    chi_square += (count - expected) * (count - expected) / expected;
  }
  EXPECT_LT(chi_square, 60.0)
      << "rank 0 picked " << picks[0] << " times of " << kSets * kStatPerm;
}

TEST(MinHashStatisticsTest, ErrorShrinksWithSignatureLength) {
  // The spread of the estimate falls as 1/sqrt(k): at J = 0.5 and k = 1024
  // the standard error is 0.0156, a quarter of k = 64's 0.0625.
  std::mt19937_64 rng(4242);
  for (int num_perm : {64, 1024}) {
    const MinHasher hasher = MakeHasher(num_perm, 3);
    double sum_sq = 0;
    constexpr int kPairs = 200;
    for (int t = 0; t < kPairs; ++t) {
      const SetPair pair = MakePair(rng, 60, 40);  // J = 40 / 80 = 0.5
      const double err =
          EstimateJaccard(SketchOf(hasher, pair.a), SketchOf(hasher, pair.b)) -
          pair.jaccard;
      sum_sq += err * err;
    }
    const double rmse = std::sqrt(sum_sq / kPairs);
    const double theory = std::sqrt(0.25 / num_perm);
    EXPECT_NEAR(rmse / theory, 1.0, 0.2) << "num_perm " << num_perm;
  }
}

}  // namespace
}  // namespace newsdedup
