// Tests for the sort-based near matcher: star clustering around the kept
// copy, the earliest cluster winning, the bucket window and its cluster
// firsts, the edited-words rule, and results that do not depend on the
// memory limit (spilled runs and fingerprints) or the thread count.
#include "internal/near_matcher.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "newsdedup/lsh.h"
#include "newsdedup/minhash.h"

namespace newsdedup {
namespace internal {
namespace {

using Match = std::tuple<uint32_t, uint32_t, float>;  // unit, first, sim

struct Paragraph {
  std::vector<uint64_t> keys;
  std::vector<uint32_t> fingerprints;  // sorted, unique
  uint64_t facts = 0;
};

NearMatchOptions OneBand() {
  NearMatchOptions o;
  o.params = {1, 1};
  o.threshold = 0.7;
  return o;
}

// Fingerprints base, base + 1, ..., base + n - 1.
std::vector<uint32_t> Range(uint32_t base, uint32_t n) {
  std::vector<uint32_t> out;
  for (uint32_t i = 0; i < n; ++i) out.push_back(base + i);
  return out;
}

std::vector<Match> MatchAll(const NearMatchOptions& options,
                            const std::vector<Paragraph>& paragraphs,
                            NearMatchStats* stats = nullptr) {
  NearMatcher matcher(options);
  for (size_t i = 0; i < paragraphs.size(); ++i) {
    const Paragraph& p = paragraphs[i];
    EXPECT_TRUE(matcher
                    .Add(static_cast<uint32_t>(10 * i), p.keys.data(),
                         p.fingerprints, p.facts)
                    .ok());
  }
  std::vector<Match> out;
  absl::Status s = matcher.Finish([&](uint32_t unit, uint32_t first, float j) {
    out.emplace_back(unit, first, j);
  });
  EXPECT_TRUE(s.ok()) << s;
  if (stats != nullptr) *stats = matcher.stats();
  return out;
}

TEST(NearMatcherTest, StarClustersAroundTheKeptCopy) {
  // B is 0.8 of A; C is 0.8 of B but only 0.6 of A: C is not reported as a
  // copy of A through B, it starts a cluster of its own. D copies C.
  const std::vector<uint32_t> a = Range(0, 100);
  const std::vector<uint32_t> b = Range(11, 100);  // J(A, B) = 89/111
  const std::vector<uint32_t> c = Range(22, 100);  // J(A, C) = 78/122
  const std::vector<Paragraph> ps = {
      {{7}, a, 0}, {{7}, b, 0}, {{7}, c, 0}, {{7}, c, 0}};
  NearMatchStats stats;
  const std::vector<Match> m = MatchAll(OneBand(), ps, &stats);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0], Match(10, 0, 89.0f / 111.0f));
  // D's candidates are A (B's first) and C; A fails, C verifies.
  EXPECT_EQ(m[1], Match(30, 20, 1.0f));
  EXPECT_EQ(stats.paragraphs, 4u);
  EXPECT_EQ(stats.pairs, 6u);  // 1 + 2 + 3 in one bucket
  EXPECT_EQ(stats.matched, 2u);
}

TEST(NearMatcherTest, TheEarliestMatchingClusterWins) {
  // Two clusters both similar to the last paragraph: it joins the first.
  const std::vector<Paragraph> ps = {{{1}, Range(0, 100), 0},
                                     {{1}, Range(50, 100), 0},
                                     {{1}, Range(25, 100), 0}};
  NearMatchOptions o = OneBand();
  o.threshold = 0.5;
  const std::vector<Match> m = MatchAll(o, ps);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(std::get<0>(m[0]), 20u);
  EXPECT_EQ(std::get<1>(m[0]), 0u);
}

TEST(NearMatcherTest, OnlyParagraphsSharingABandAreCompared) {
  const std::vector<Paragraph> ps = {{{1, 2}, Range(0, 50), 0},
                                     {{3, 4}, Range(0, 50), 0},
                                     {{5, 2}, Range(0, 50), 0}};
  NearMatchOptions o = OneBand();
  o.params = {2, 1};
  const std::vector<Match> m = MatchAll(o, ps);
  // The second shares no key with anything; the third shares band 1's key
  // with the first. (Keys hash the band index in real use.)
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0], Match(20, 0, 1.0f));
}

TEST(NearMatcherTest, WholeBandKeysDecideBuckets) {
  // Keys equal in their low 32 bits only are different buckets.
  NearMatchStats stats;
  EXPECT_TRUE(MatchAll(OneBand(),
                       {{{0x100000007ULL}, Range(0, 30), 0},
                        {{0x200000007ULL}, Range(0, 30), 0}},
                       &stats)
                  .empty());
  EXPECT_EQ(stats.pairs, 0u);
}

TEST(NearMatcherTest, AParagraphIsNotItsOwnCandidate) {
  // Both bands of the first paragraph land in one bucket: it must not be
  // matched with itself, and the copy still finds it.
  NearMatchOptions o = OneBand();
  o.params = {2, 1};
  NearMatchStats stats;
  const std::vector<Match> m = MatchAll(
      o, {{{8, 8}, Range(0, 30), 0}, {{8, 9}, Range(0, 30), 0}}, &stats);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0], Match(10, 0, 1.0f));
  EXPECT_EQ(stats.candidates, 1u);
}

TEST(NearMatcherTest, BucketWindowTakesTheLatestAsTheirFirsts) {
  // Paragraphs 1-4 copy paragraph 0; with a window of 2, paragraph 5 sees
  // only 3 and 4, which stand for their first (0): it still joins 0.
  std::vector<Paragraph> ps(6, Paragraph{{9}, Range(0, 40), 0});
  NearMatchOptions o = OneBand();
  o.bucket_window = 2;
  NearMatchStats stats;
  const std::vector<Match> m = MatchAll(o, ps, &stats);
  ASSERT_EQ(m.size(), 5u);
  for (const Match& x : m) EXPECT_EQ(std::get<1>(x), 0u);
  EXPECT_EQ(stats.pairs, 0u + 1 + 2 + 2 + 2 + 2);
  // A first outside the window is not seen when nothing in the window
  // stands for it: 0, then two unrelated paragraphs, then a copy of 0.
  ps = {{{9}, Range(0, 40), 0},
        {{9}, Range(1000, 40), 0},
        {{9}, Range(2000, 40), 0},
        {{9}, Range(0, 40), 0}};
  EXPECT_TRUE(MatchAll(o, ps).empty());
  o.bucket_window = 3;
  EXPECT_EQ(MatchAll(o, ps).size(), 1u);
}

TEST(NearMatcherTest, EditedWordsRuleNeedsEqualFacts) {
  // 40 fingerprints, 12 replaced: J = 28/52 = 0.54, symmetric difference 24.
  std::vector<uint32_t> a = Range(0, 40);
  std::vector<uint32_t> b = Range(0, 28);
  for (uint32_t i = 0; i < 12; ++i) b.push_back(500 + i);
  NearMatchOptions o = OneBand();
  o.max_difference = 24;
  o.min_edit_shingles = 18;
  EXPECT_EQ(MatchAll(o, {{{1}, a, 77}, {{1}, b, 77}}).size(), 1u);
  EXPECT_TRUE(
      MatchAll(o, {{{1}, a, 77}, {{1}, b, 78}}).empty());  // facts differ
  o.max_difference = 23;
  EXPECT_TRUE(MatchAll(o, {{{1}, a, 77}, {{1}, b, 77}}).empty());
  o.max_difference = 24;
  o.min_edit_shingles = 41;  // too short for the rule
  EXPECT_TRUE(MatchAll(o, {{{1}, a, 77}, {{1}, b, 77}}).empty());
}

// Random paragraphs over a small vocabulary of fingerprints, a third of
// them edited copies of an earlier one, sketched with real MinHash and band
// keys.
std::vector<Paragraph> RandomCorpus(size_t n, const LshParams& params,
                                    int num_perm) {
  std::mt19937_64 rng(42);
  auto hasher = MinHasher::Create(num_perm, 1);
  EXPECT_TRUE(hasher.ok());
  std::vector<Paragraph> out;
  std::vector<uint32_t> sig(num_perm);
  for (size_t i = 0; i < n; ++i) {
    Paragraph p;
    std::vector<uint32_t> fp;
    if (i > 0 && rng() % 3 == 0) {
      fp = out[rng() % i].fingerprints;
      for (int e = 0; e < 3; ++e) fp[rng() % fp.size()] = rng() % 200000;
    } else {
      const size_t len = 20 + rng() % 60;
      for (size_t k = 0; k < len; ++k) fp.push_back(rng() % 200000);
    }
    std::sort(fp.begin(), fp.end());
    fp.erase(std::unique(fp.begin(), fp.end()), fp.end());
    std::vector<uint64_t> full(fp.begin(), fp.end());
    for (uint64_t& h : full) h <<= 32;  // MinHash sees the high 32 bits
    hasher->Sketch(full, sig.data());
    p.keys.resize(params.bands);
    BandKeys(sig.data(), params, p.keys.data());
    p.fingerprints = std::move(fp);
    p.facts = rng() % 2;
    out.push_back(std::move(p));
  }
  return out;
}

TEST(NearMatcherTest, SameResultForAnyMemoryLimitAndThreadCount) {
  NearMatchOptions o;
  o.params = {21, 3};
  o.threshold = 0.7;
  o.max_difference = 12;
  const std::vector<Paragraph> corpus = RandomCorpus(6000, o.params, 64);
  NearMatchStats in_memory;
  const std::vector<Match> expected = MatchAll(o, corpus, &in_memory);
  EXPECT_EQ(in_memory.runs_spilled, 0u);
  EXPECT_EQ(in_memory.bytes_spilled, 0u);
  // Copies are found: about a third of the paragraphs.
  EXPECT_GT(expected.size(), 1500u);
  EXPECT_LT(expected.size(), 2500u);
  // Fingerprints are a set: order and repeats do not matter.
  std::vector<Paragraph> shuffled = corpus;
  for (Paragraph& p : shuffled) {
    std::reverse(p.fingerprints.begin(), p.fingerprints.end());
    p.fingerprints.push_back(p.fingerprints.front());
  }
  EXPECT_EQ(MatchAll(o, shuffled), expected);
  // Verified in many small chunks on several threads: guesses inside a
  // chunk are often wrong (copies of copies), the result is not.
  for (const uint32_t chunk : {1u, 7u, 500u}) {
    NearMatchOptions small = o;
    small.chunk_pairs = chunk;
    small.threads = 3;
    NearMatchStats stats;
    EXPECT_EQ(MatchAll(small, corpus, &stats), expected) << chunk;
    EXPECT_EQ(stats.candidates, in_memory.candidates) << chunk;
  }
  for (const uint64_t limit : {uint64_t{4096}, uint64_t{64} << 10}) {
    for (const int threads : {1, 3}) {
      o.memory_limit = limit;
      o.threads = threads;
      NearMatchStats spilled;
      EXPECT_EQ(MatchAll(o, corpus, &spilled), expected)
          << "limit " << limit << ", threads " << threads;
      EXPECT_GT(spilled.runs_spilled, 1u);
      EXPECT_GT(spilled.bytes_spilled, 6000u * 21 * 8);
      EXPECT_LT(spilled.peak_buffer_bytes, in_memory.peak_buffer_bytes);
      EXPECT_LE(spilled.peak_buffer_bytes, limit + 64 * 1024);
      EXPECT_EQ(spilled.peak_table_bytes, in_memory.peak_table_bytes);
      EXPECT_EQ(spilled.pairs, in_memory.pairs);
      EXPECT_EQ(spilled.candidates, in_memory.candidates);
    }
  }
}

TEST(NearMatcherTest, UnwritableFolderIsAnErrorNamingTheFile) {
  NearMatchOptions o = OneBand();
  o.memory_limit = 16;  // spills at once
  o.temp_dir = "/nonexistent-newsdedup-folder";
  NearMatcher matcher(o);
  absl::Status s;
  const std::vector<uint32_t> fp = Range(0, 2000);
  for (uint64_t key = 0; key < 10 && s.ok(); ++key) {
    s = matcher.Add(static_cast<uint32_t>(key), &key, fp, 0);
  }
  if (s.ok()) s = matcher.Finish([](uint32_t, uint32_t, float) {});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("/nonexistent-newsdedup-folder/newsdedup-"),
            std::string::npos)
      << s;
}

}  // namespace
}  // namespace internal
}  // namespace newsdedup
