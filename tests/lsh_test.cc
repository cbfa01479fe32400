// Tests for LSH banding: the S-curve formula, band choice and its errors,
// band keys, the bucket index, and a statistical test that the empirical
// candidate rate of MinHash + BandKeys + LshIndex follows
// P(s) = 1 - (1 - s^rows)^bands (fixed seeds, stated tolerances).
#include "newsdedup/lsh.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <unordered_set>
#include <vector>

#include "absl/status/status.h"
#include "newsdedup/minhash.h"

namespace newsdedup {
namespace {

TEST(CandidateProbabilityTest, KnownValues) {
  struct Case {
    double s;
    int bands;
    int rows;
    double expected;
  };
  // Values computed by hand (or with a calculator) from 1 - (1 - s^r)^b.
  const Case cases[] = {
      {0.0, 25, 5, 0.0},
      {1.0, 25, 5, 1.0},
      {0.5, 1, 1, 0.5},
      {0.5, 2, 1, 0.75},
      {0.5, 1, 2, 0.25},
      {0.5, 2, 2, 0.4375},
      {0.7, 25, 5, 0.9899499172220165},
      {0.8, 16, 8, 0.9470487961682148},   // DESIGN.md: 0.947 at J = 0.8
      {0.75, 18, 7, 0.9241458100800296},  // DESIGN.md: 0.92 at J = 0.75
      {0.5, 32, 4, 0.8732112136229997},
      {0.3, 25, 5, 0.05901109587329456},
  };
  for (const Case& c : cases) {
    EXPECT_NEAR(CandidateProbability(c.s, c.bands, c.rows), c.expected, 1e-12)
        << "s=" << c.s << " b=" << c.bands << " r=" << c.rows;
  }
}

TEST(CandidateProbabilityTest,
     IncreasesWithSimilarityAndBandsDecreasesWithRows) {
  double previous = -1;
  for (int k = 0; k <= 100; ++k) {
    const double p = CandidateProbability(k / 100.0, 25, 5);
    EXPECT_GE(p, previous);
    EXPECT_GE(p, 0.0);
    EXPECT_LE(p, 1.0);
    previous = p;
  }
  EXPECT_LT(CandidateProbability(0.6, 20, 5), CandidateProbability(0.6, 25, 5));
  EXPECT_GT(CandidateProbability(0.6, 25, 4), CandidateProbability(0.6, 25, 5));
}

struct ChooseCase {
  int num_perm;
  double threshold;
  double min_recall;
  LshParams expected;
};

TEST(ChooseBandsTest, KnownLayouts) {
  const ChooseCase cases[] = {
      {128, 0.7, 0.95, {25, 5}},  // the header's example
      {128, 0.8, 0.95, {18, 7}},  {128, 0.5, 0.95, {42, 3}},
      {128, 0.9, 0.95, {10, 12}}, {256, 0.7, 0.95, {36, 7}},
      {64, 0.7, 0.95, {16, 4}},   {128, 0.7, 0.5, {16, 8}},
      {128, 0.7, 0.99, {32, 4}},  {128, 0.05, 0.95, {128, 1}},
      {1, 0.5, 0.4, {1, 1}},
  };
  for (const ChooseCase& c : cases) {
    SCOPED_TRACE(testing::Message()
                 << "num_perm=" << c.num_perm << " threshold=" << c.threshold
                 << " min_recall=" << c.min_recall);
    const absl::StatusOr<LshParams> params =
        ChooseBands(c.num_perm, c.threshold, c.min_recall);
    ASSERT_TRUE(params.ok()) << params.status();
    EXPECT_EQ(params->bands, c.expected.bands);
    EXPECT_EQ(params->rows, c.expected.rows);
  }
}

TEST(ChooseBandsTest, MeetsTheContractOnAGrid) {
  // For every result: fits the signature, reaches min_recall, and no layout
  // with more rows per band reaches it.
  for (int num_perm : {16, 64, 128, 256}) {
    for (int t = 1; t < 20; ++t) {
      const double threshold = t / 20.0;
      const absl::StatusOr<LshParams> params = ChooseBands(num_perm, threshold);
      if (!params.ok()) {
        EXPECT_EQ(params.status().code(), absl::StatusCode::kInvalidArgument);
        // Only when even one row per band misses the recall.
        EXPECT_LT(CandidateProbability(threshold, num_perm, 1), 0.95);
        continue;
      }
      SCOPED_TRACE(testing::Message()
                   << "num_perm=" << num_perm << " threshold=" << threshold);
      EXPECT_GE(params->bands, 1);
      EXPECT_GE(params->rows, 1);
      EXPECT_LE(params->bands * params->rows, num_perm);
      EXPECT_GE(CandidateProbability(threshold, params->bands, params->rows),
                0.95);
      for (int rows = params->rows + 1; rows <= num_perm; ++rows) {
        EXPECT_LT(CandidateProbability(threshold, num_perm / rows, rows), 0.95)
            << "rows=" << rows << " would also do";
      }
    }
  }
}

TEST(ChooseBandsTest, Default128At07) {
  const absl::StatusOr<LshParams> params = ChooseBands(128, 0.7);
  ASSERT_TRUE(params.ok()) << params.status();
  EXPECT_LE(params->bands * params->rows, 128);
  EXPECT_GE(CandidateProbability(0.7, params->bands, params->rows), 0.95);
  // Steep enough to be useful: dissimilar pairs are rarely candidates.
  EXPECT_LT(CandidateProbability(0.3, params->bands, params->rows), 0.1);
}

TEST(ChooseBandsTest, RejectsBadArguments) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  struct Case {
    int num_perm;
    double threshold;
    double min_recall;
  };
  const Case cases[] = {
      {128, 0.0, 0.95}, {128, 1.0, 0.95}, {128, -0.5, 0.95}, {128, nan, 0.95},
      {128, 1.5, 0.95}, {128, inf, 0.95}, {128, 0.7, 0.0},   {128, 0.7, 1.0},
      {128, 0.7, nan},  {128, 0.7, -0.1}, {0, 0.7, 0.95},    {-128, 0.7, 0.95},
      {8, 0.1, 0.99},  // valid arguments, but no layout reaches the recall
      {1, 0.5, 0.6},
  };
  for (const Case& c : cases) {
    const absl::StatusOr<LshParams> params =
        ChooseBands(c.num_perm, c.threshold, c.min_recall);
    EXPECT_FALSE(params.ok())
        << c.num_perm << " " << c.threshold << " " << c.min_recall;
    EXPECT_EQ(params.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_FALSE(params.status().message().empty());
  }
}

std::vector<uint64_t> Keys(const std::vector<uint32_t>& sig,
                           const LshParams& params) {
  std::vector<uint64_t> keys(params.bands);
  BandKeys(sig.data(), params, keys.data());
  return keys;
}

TEST(BandKeysTest, EqualBandsGiveEqualKeysAndAChangeOnlyItsBand) {
  const LshParams params{4, 3};
  std::vector<uint32_t> sig = {
      1, 2, 3,  4,  5,  6, 7,
      8, 9, 10, 11, 12, 99};  // a value past bands * rows is unused
  const std::vector<uint64_t> keys = Keys(sig, params);
  ASSERT_EQ(keys.size(), 4u);
  EXPECT_EQ(Keys(sig, params), keys);  // deterministic
  for (size_t pos = 0; pos < 12; ++pos) {
    std::vector<uint32_t> changed = sig;
    changed[pos] ^= 0x10000;
    const std::vector<uint64_t> other = Keys(changed, params);
    for (int band = 0; band < 4; ++band) {
      if (band == static_cast<int>(pos / 3)) {
        EXPECT_NE(other[band], keys[band]) << "position " << pos;
      } else {
        EXPECT_EQ(other[band], keys[band]) << "position " << pos;
      }
    }
  }
  sig[12] = 100;
  EXPECT_EQ(Keys(sig, params), keys);
}

TEST(BandKeysTest, SameValuesInDifferentBandsGiveDifferentKeys) {
  const LshParams params{5, 2};
  const std::vector<uint32_t> sig(10, 0xFFFFFFFFu);  // empty-set signature
  const std::vector<uint64_t> keys = Keys(sig, params);
  std::unordered_set<uint64_t> distinct(keys.begin(), keys.end());
  EXPECT_EQ(distinct.size(), keys.size());
}

TEST(BandKeysTest, OrderWithinABandMatters) {
  const LshParams params{1, 3};
  EXPECT_NE(Keys({1, 2, 3}, params), Keys({3, 2, 1}, params));
  EXPECT_NE(Keys({1, 2, 3}, params), Keys({2, 1, 3}, params));
  EXPECT_NE(Keys({0, 0, 1}, params), Keys({0, 1, 0}, params));
}

TEST(LshIndexTest, FindsIdsSharingAKeyAndNothingElse) {
  const LshParams params{3, 1};
  LshIndex index(params);
  EXPECT_EQ(index.entries(), 0u);
  const uint64_t a[] = {10, 20, 30};
  const uint64_t b[] = {11, 20, 31};  // shares band 1 with a
  const uint64_t c[] = {12, 22, 32};  // shares nothing
  index.Insert(a, 1);
  index.Insert(b, 2);
  index.Insert(c, 3);
  EXPECT_EQ(index.entries(), 9u);
  EXPECT_GT(index.MemoryBytes(), 0u);

  auto candidates = [&](const uint64_t* keys) {
    std::vector<uint32_t> ids;
    index.ForEachCandidate(keys, [&](uint32_t id) { ids.push_back(id); });
    std::sort(ids.begin(), ids.end());
    return ids;
  };
  EXPECT_EQ(candidates(a), (std::vector<uint32_t>{1, 1, 1, 2}));
  EXPECT_EQ(candidates(b), (std::vector<uint32_t>{1, 2, 2, 2}));
  EXPECT_EQ(candidates(c), (std::vector<uint32_t>{3, 3, 3}));
  const uint64_t unrelated[] = {40, 50, 60};
  EXPECT_TRUE(candidates(unrelated).empty());
  // The index compares keys, not (band, key) pairs: band identity is mixed
  // into the keys by BandKeys, so a raw key equal to another band's key
  // matches here.
  const uint64_t shifted[] = {20, 0, 0};
  EXPECT_EQ(candidates(shifted), (std::vector<uint32_t>{1, 2}));
}

TEST(LshIndexTest, OrderIsDeterministicAndIdsRepeatPerSharedBand) {
  const LshParams params{2, 1};
  LshIndex index(params);
  const uint64_t keys[] = {7, 8};
  for (uint32_t id : {5u, 3u, 9u}) index.Insert(keys, id);
  std::vector<uint32_t> first, second;
  index.ForEachCandidate(keys, [&](uint32_t id) { first.push_back(id); });
  index.ForEachCandidate(keys, [&](uint32_t id) { second.push_back(id); });
  EXPECT_EQ(first, second);
  std::vector<uint32_t> sorted = first;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, (std::vector<uint32_t>{3, 3, 5, 5, 9, 9}));
  // Each band's bucket lists every id once.
  const std::vector<uint32_t> band0(first.begin(), first.begin() + 3);
  std::vector<uint32_t> band0_sorted = band0;
  std::sort(band0_sorted.begin(), band0_sorted.end());
  EXPECT_EQ(band0_sorted, (std::vector<uint32_t>{3, 5, 9}));
}

TEST(LshIndexTest, ManyIdsInOneBucket) {
  const LshParams params{1, 1};
  LshIndex index(params);
  const uint64_t key[] = {42};
  const uint64_t other[] = {43};
  for (uint32_t id = 0; id < 1000; ++id) index.Insert(id % 2 ? key : other, id);
  std::vector<uint32_t> ids;
  index.ForEachCandidate(key, [&](uint32_t id) { ids.push_back(id); });
  std::sort(ids.begin(), ids.end());
  ASSERT_EQ(ids.size(), 500u);
  for (size_t k = 0; k < ids.size(); ++k) EXPECT_EQ(ids[k], 2 * k + 1);
}

// `count` random shingle hashes with distinct high 32 bits (MinHash keys).
std::vector<uint64_t> DistinctHashes(std::mt19937_64& rng, size_t count,
                                     std::unordered_set<uint32_t>* used) {
  std::vector<uint64_t> out;
  while (out.size() < count) {
    const uint64_t h = rng();
    if (used->insert(static_cast<uint32_t>(h >> 32)).second) out.push_back(h);
  }
  return out;
}

// The S-curve. For each layout, set size n in {20, 50, 200} and target
// similarity s in {0.3, 0.5, 0.7, 0.9}: 1000 pairs of n-sets sharing c
// elements (exact Jaccard J = c / (2n - c), the closest to s), A indexed
// under its pair number, B queried. The candidate rate must match P(J) to
// within 4.5 binomial standard errors (sqrt(P(1-P)/1000) <= 0.016) plus
// 0.005; with 24 cells a chance failure has probability ~1e-4. Every
// reported candidate must be explained by an equal band of the two
// signatures, and pairs never match each other's unrelated sets.
TEST(LshStatisticsTest, CandidateRateFollowsTheSCurve) {
  constexpr int kPerm = 128;
  constexpr int kPairs = 1000;
  const absl::StatusOr<MinHasher> hasher = MinHasher::Create(kPerm, 1);
  ASSERT_TRUE(hasher.ok());
  const absl::StatusOr<LshParams> chosen = ChooseBands(kPerm, 0.7);
  ASSERT_TRUE(chosen.ok());
  std::mt19937_64 rng(8675309);
  for (const LshParams& params : {*chosen, LshParams{16, 8}}) {
    for (size_t n : {20, 50, 200}) {
      for (double s : {0.3, 0.5, 0.7, 0.9}) {
        const size_t common =
            static_cast<size_t>(std::lround(2.0 * n * s / (1.0 + s)));
        const double jaccard =
            static_cast<double>(common) / static_cast<double>(2 * n - common);
        LshIndex index(params);
        std::vector<std::vector<uint64_t>> queries;
        std::vector<bool> band_equal;
        for (int t = 0; t < kPairs; ++t) {
          std::unordered_set<uint32_t> used;
          std::vector<uint64_t> a = DistinctHashes(rng, common, &used);
          std::vector<uint64_t> b = a;
          for (uint64_t h : DistinctHashes(rng, n - common, &used)) {
            a.push_back(h);
          }
          for (uint64_t h : DistinctHashes(rng, n - common, &used)) {
            b.push_back(h);
          }
          std::vector<uint32_t> sa(kPerm), sb(kPerm);
          hasher->Sketch(a, sa.data());
          hasher->Sketch(b, sb.data());
          index.Insert(Keys(sa, params).data(), static_cast<uint32_t>(t));
          queries.push_back(Keys(sb, params));
          bool equal = false;
          for (int band = 0; band < params.bands; ++band) {
            equal |= std::equal(sa.begin() + band * params.rows,
                                sa.begin() + (band + 1) * params.rows,
                                sb.begin() + band * params.rows);
          }
          band_equal.push_back(equal);
        }
        int hits = 0;
        int foreign = 0;
        int mismatches = 0;
        for (int t = 0; t < kPairs; ++t) {
          bool found = false;
          index.ForEachCandidate(queries[t].data(), [&](uint32_t id) {
            if (id == static_cast<uint32_t>(t)) {
              found = true;
            } else {
              ++foreign;
            }
          });
          hits += found;
          mismatches += found != band_equal[t];
        }
        const double expected =
            CandidateProbability(jaccard, params.bands, params.rows);
        const double rate = static_cast<double>(hits) / kPairs;
        const double tolerance =
            4.5 * std::sqrt(expected * (1 - expected) / kPairs) + 0.005;
        SCOPED_TRACE(testing::Message()
                     << params.bands << "x" << params.rows << " n=" << n
                     << " J=" << jaccard << " rate=" << rate
                     << " P=" << expected);
        EXPECT_NEAR(rate, expected, tolerance);
        EXPECT_EQ(mismatches, 0);
        // Unrelated sets share a bucket only when the low 32 bits of two
        // band keys agree: about queries x bands x entries / 2^32 (well
        // under one here) foreign candidates.
        const double chance = static_cast<double>(kPairs) * params.bands *
                              kPairs * params.bands / 4294967296.0;
        EXPECT_LE(foreign, 3 + 3 * chance);
      }
    }
  }
}

}  // namespace
}  // namespace newsdedup
