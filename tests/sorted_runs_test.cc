// Tests for sorting past memory: the radix sort against std::sort on key
// distributions the pipeline produces (uniform hashes, dense ordinals,
// many repeats), and sorted runs spilled, merged 64 at a time and read back.
#include "internal/sorted_runs.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace newsdedup {
namespace internal {
namespace {

enum class Keys { kUniform, kDenseHigh, kFewDistinct, kSmallRange };

std::vector<uint64_t> MakeKeys(Keys kind, size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint64_t> out(n);
  for (uint64_t& v : out) {
    switch (kind) {
      case Keys::kUniform:  // band keys, window hashes
        v = rng();
        break;
      case Keys::kDenseHigh:  // candidate pairs: later << 32 | earlier
        v = (rng() % 50000) << 32 | (rng() % 50000);
        break;
      case Keys::kFewDistinct:  // templated text: one bucket, many ids
        v = (rng() % 3) << 40;
        break;
      case Keys::kSmallRange:
        v = 1000 + rng() % 5000;
        break;
    }
  }
  return out;
}

class SortBufferTest : public ::testing::TestWithParam<Keys> {};

TEST_P(SortBufferTest, MatchesStdSort) {
  for (const size_t n : {size_t{0}, size_t{1}, size_t{5000}, size_t{300000}}) {
    for (const int threads : {1, 3}) {
      std::vector<uint64_t> keys = MakeKeys(GetParam(), n, n + 17);
      std::vector<uint64_t> expected = keys;
      std::sort(expected.begin(), expected.end());
      SortBuffer(keys.data(), keys.size(), threads);
      EXPECT_EQ(keys, expected) << "n " << n << ", threads " << threads;
    }
    // The out-of-place sort of a partition, here the whole key range.
    std::vector<uint64_t> spread = MakeKeys(GetParam(), n, n + 17);
    std::vector<uint64_t> scratch;
    SortSpread(spread.data(), spread.size(), 0, 64, &scratch);
    std::vector<uint64_t> expected = spread;
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(spread, expected) << "n " << n;
  }
}

// SortSpread on one partition as the sorted runs use it: keys that agree
// above `shift` (less `lo`), around its size threshold, with fewer bits
// below the shift than it would count, and with keys all equal.
TEST(SortSpreadTest, PartitionsOfEveryShape) {
  std::mt19937_64 rng(21);
  for (const int shift : {54, 20, 5}) {
    const uint64_t lo = uint64_t{0x2A} << shift;
    for (const size_t n :
         {size_t{1023}, size_t{1024}, size_t{1025}, size_t{70000}}) {
      for (const bool equal : {false, true}) {
        std::vector<uint64_t> keys(n);
        const uint64_t below = (uint64_t{1} << shift) - 1;
        for (uint64_t& k : keys) k = lo + (equal ? below / 2 : rng() & below);
        std::vector<uint64_t> expected = keys;
        std::sort(expected.begin(), expected.end());
        std::vector<uint64_t> scratch;
        SortSpread(keys.data(), keys.size(), lo, shift, &scratch);
        EXPECT_EQ(keys, expected)
            << "shift " << shift << ", n " << n << ", equal " << equal;
      }
    }
  }
}

// SortSpreadInto over a partition in several parts (the shards'), some
// empty: the same as sorting them gathered.
TEST(SortSpreadTest, PartsSortedIntoOneBuffer) {
  std::mt19937_64 rng(22);
  const int shift = 40;
  const uint64_t lo = uint64_t{0x15} << shift;
  for (const size_t n : {size_t{0}, size_t{700}, size_t{5000}, size_t{90000}}) {
    std::vector<std::vector<uint64_t>> parts(4);
    std::vector<uint64_t> expected;
    for (size_t i = 0; i < n; ++i) {
      // Part 2 stays empty; every fifth key repeats an earlier one.
      const uint64_t k = i % 5 == 4
                             ? expected[rng() % expected.size()]
                             : lo + (rng() & ((uint64_t{1} << shift) - 1));
      parts[(i % 3 == 2) ? 3 : i % 3].push_back(k);
      expected.push_back(k);
    }
    std::sort(expected.begin(), expected.end());
    std::vector<absl::Span<const uint64_t>> spans(parts.begin(), parts.end());
    std::vector<uint64_t> out = {1, 2, 3};  // overwritten
    SortSpreadInto<uint64_t>(spans, lo, shift, &out);
    EXPECT_EQ(out, expected) << n;
  }
}

INSTANTIATE_TEST_SUITE_P(Distributions, SortBufferTest,
                         ::testing::Values(Keys::kUniform, Keys::kDenseHigh,
                                           Keys::kFewDistinct,
                                           Keys::kSmallRange));

std::vector<uint64_t> SortThrough(const std::vector<uint64_t>& keys,
                                  uint64_t memory_limit, SortedRunsStats* stats,
                                  int partition_bits = 0) {
  SortedRunsOptions o;
  o.memory_limit = memory_limit;
  o.tag = "test";
  o.partition_bits = partition_bits;
  SortedRuns<uint64_t> sorter(o);
  for (uint64_t k : keys) EXPECT_TRUE(sorter.Add(k).ok());
  EXPECT_TRUE(sorter.Finish().ok());
  std::vector<uint64_t> out;
  uint64_t k;
  while (sorter.Next(&k)) out.push_back(k);
  *stats = sorter.stats();
  return out;
}

// A write that fails says why: /dev/full fails every write as a full disk.
TEST(ScratchWriteErrorTest, NamesTheFileAndTheReason) {
  FILE* f = std::fopen("/dev/full", "wb");
  if (f == nullptr) GTEST_SKIP() << "no /dev/full here";
  const std::vector<char> bytes(1 << 16, 'x');
  const bool wrote =
      std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size() &&
      std::fflush(f) == 0;
  ASSERT_FALSE(wrote);
  const absl::Status s = ScratchWriteError("/dev/full", "a sorted run");
  std::fclose(f);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(s.message(),
            "/dev/full: cannot write a sorted run: No space left on device");
}

TEST(SortedRunsTest, SpilledRunsMergeToTheSameOrder) {
  const std::vector<uint64_t> keys = MakeKeys(Keys::kUniform, 200000, 3);
  std::vector<uint64_t> expected = keys;
  std::sort(expected.begin(), expected.end());
  SortedRunsStats stats;
  EXPECT_EQ(SortThrough(keys, uint64_t{8} << 20, &stats), expected);
  EXPECT_EQ(stats.runs_spilled, 0u);
  EXPECT_EQ(stats.bytes_spilled, 0u);
  EXPECT_EQ(stats.peak_buffer_bytes, keys.size() * 8);
  // 1,000 records per run: 200 runs, merged into one every 64.
  EXPECT_EQ(SortThrough(keys, 8000, &stats), expected);
  EXPECT_EQ(stats.runs_spilled, 200u);
  EXPECT_GT(stats.bytes_spilled, keys.size() * 8);  // merges write again
  EXPECT_EQ(stats.peak_buffer_bytes, 8000u);
  EXPECT_EQ(stats.records, keys.size());
}

// Partitions filled as records come: in memory, spilled when one fills
// (many runs, merged); and with keys far from even (every key in one
// partition), one buffer as without partitions.
TEST(SortedRunsTest, PartitionedSortsTheSame) {
  for (const Keys kind : {Keys::kUniform, Keys::kFewDistinct}) {
    const std::vector<uint64_t> keys = MakeKeys(kind, 200000, 5);
    std::vector<uint64_t> expected = keys;
    std::sort(expected.begin(), expected.end());
    for (const uint64_t limit : {uint64_t{8} << 20, uint64_t{64000}}) {
      SCOPED_TRACE(testing::Message()
                   << "keys " << static_cast<int>(kind) << ", limit " << limit);
      SortedRunsStats stats, plain;
      EXPECT_EQ(SortThrough(keys, limit, &stats, 6), expected);
      EXPECT_EQ(SortThrough(keys, limit, &plain, 0), expected);
      EXPECT_EQ(stats.records, keys.size());
      EXPECT_LE(stats.peak_buffer_bytes, limit);
      if (kind == Keys::kFewDistinct) {
        EXPECT_EQ(stats.runs_spilled, plain.runs_spilled);
      } else if (limit > keys.size() * 8) {
        EXPECT_EQ(stats.runs_spilled, 0u);
        EXPECT_EQ(stats.peak_buffer_bytes, keys.size() * 8);
      } else {
        // A partition fills a little before the whole budget does.
        EXPECT_GE(stats.runs_spilled, plain.runs_spilled);
        EXPECT_LE(stats.runs_spilled, plain.runs_spilled * 3 / 2);
      }
    }
  }
}

// Finish, then every record Next gives (empty if Finish fails).
std::vector<uint64_t> FinishAndRead(SortedRuns<uint64_t>* runs) {
  std::vector<uint64_t> out;
  absl::Status s = runs->Finish();
  EXPECT_TRUE(s.ok()) << s;
  if (!s.ok()) return out;
  uint64_t v;
  while (runs->Next(&v)) out.push_back(v);
  return out;
}

// TryAdd refuses exactly where Add would spill; SpillFiltered keeps what
// its filter leaves of the records held (as one sorted run) and then holds
// no more than its new budget; the merge gives the kept records and every
// record added later, in order.
TEST(SortedRunsTest, TryAddAndSpillFiltered) {
  for (const int bits : {0, 4}) {
    SCOPED_TRACE(testing::Message() << "partition bits " << bits);
    SortedRunsOptions options;
    options.memory_limit = 8 * 4096;
    options.partition_bits = bits;
    options.temp_dir = testing::TempDir();
    SortedRuns<uint64_t> runs(options);
    const std::vector<uint64_t> keys = MakeKeys(Keys::kUniform, 20000, 21);
    size_t added = 0;
    while (runs.TryAdd(keys[added])) ++added;
    // The budget, or (partitioned) a little before it, when the first
    // partition fills past half the budget.
    EXPECT_LE(added, 4096u);
    EXPECT_GE(added, bits == 0 ? 4096u : 2048u);
    EXPECT_EQ(runs.stats().runs_spilled, 0u);
    // Keep the even keys of those held, then at most 1,000 records.
    std::vector<uint64_t> expected;
    for (size_t i = 0; i < added; ++i) {
      if (keys[i] % 2 == 0) expected.push_back(keys[i]);
    }
    auto keep_even = [](uint64_t* data, size_t n) {
      EXPECT_TRUE(std::is_sorted(data, data + n));
      return static_cast<size_t>(
          std::stable_partition(data, data + n,
                                [](uint64_t v) { return v % 2 == 0; }) -
          data);
    };
    ASSERT_TRUE(runs.SpillFiltered(keep_even, 8 * 1000).ok());
    EXPECT_EQ(runs.stats().runs_spilled, 1u);
    size_t held = 0;
    for (size_t i = added; i < keys.size(); ++i) {
      if (!runs.TryAdd(keys[i])) break;
      expected.push_back(keys[i]);
      ++held;
    }
    EXPECT_LE(held, 1000u);
    EXPECT_GE(held, bits == 0 ? 1000u : 500u);
    for (size_t i = added + held; i < keys.size(); ++i) {
      ASSERT_TRUE(runs.Add(keys[i]).ok());
      expected.push_back(keys[i]);
    }
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(FinishAndRead(&runs), expected);
  }
}

// SpillFiltered with keys far from even (the partitions fall back to one
// buffer first), with a filter that keeps nothing (no run is written), and
// down to a budget too small for partitions; then Close deletes the runs.
TEST(SortedRunsTest, SpillFilteredEdges) {
  const std::vector<uint64_t> keys = MakeKeys(Keys::kFewDistinct, 30000, 23);
  SortedRunsOptions options;
  options.memory_limit = 8 * 8192;
  options.partition_bits = 6;
  options.temp_dir = testing::TempDir();
  SortedRuns<uint64_t> runs(options);
  size_t added = 0;
  while (runs.TryAdd(keys[added])) ++added;
  EXPECT_EQ(added, 8192u);  // one buffer, filled to the budget
  auto none = [](uint64_t*, size_t) { return size_t{0}; };
  ASSERT_TRUE(runs.SpillFiltered(none, 8 * 100).ok());
  EXPECT_EQ(runs.stats().runs_spilled, 0u);
  EXPECT_EQ(runs.stats().records, 0u);
  std::vector<uint64_t> expected(keys.begin() + added, keys.end());
  for (size_t i = added; i < keys.size(); ++i) {
    ASSERT_TRUE(runs.Add(keys[i]).ok());
  }
  EXPECT_GE(runs.stats().runs_spilled, (keys.size() - added) / 100 - 1);
  EXPECT_LE(runs.stats().peak_buffer_bytes, 8u * 8192);
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(FinishAndRead(&runs), expected);
  runs.Close();
  uint64_t v;
  EXPECT_FALSE(runs.Next(&v));

  // Shards: one filtered, one not; the merge has both.
  SortedShards<uint64_t> shards(2, options);
  const std::vector<uint64_t> mixed = MakeKeys(Keys::kUniform, 3000, 29);
  std::vector<uint64_t> all;
  for (size_t i = 0; i < mixed.size(); ++i) {
    ASSERT_TRUE(shards.TryAdd(static_cast<int>(i % 2), mixed[i]));
    if (i % 2 == 1 || mixed[i] % 2 == 0) all.push_back(mixed[i]);
  }
  EXPECT_LT(all.size(), 2400u);  // about a quarter dropped
  auto even = [](uint64_t* data, size_t n) {
    return static_cast<size_t>(
        std::remove_if(data, data + n, [](uint64_t x) { return x % 2 != 0; }) -
        data);
  };
  ASSERT_TRUE(shards.SpillFiltered(0, even, 8 * 1000).ok());
  std::sort(all.begin(), all.end());
  ASSERT_TRUE(shards.Finish(2).ok());
  std::vector<uint64_t> out;
  while (shards.Next(&v)) out.push_back(v);
  EXPECT_EQ(out, all);
  shards.Close();
}

// Shards filled side by side, read back either merged (Finish, Next) or,
// kept in memory in partitions, a sorted partition at a time on threads:
// both give every record once, in ascending order.
TEST(SortedShardsTest, PartitionsSortedOnThreadsMatchTheMerge) {
  const std::vector<uint64_t> keys = MakeKeys(Keys::kUniform, 100000, 9);
  std::vector<uint64_t> expected = keys;
  std::sort(expected.begin(), expected.end());
  for (const uint64_t limit : {uint64_t{8} << 20, uint64_t{80000}}) {
    SCOPED_TRACE(testing::Message() << "limit " << limit);
    SortedRunsOptions o;
    o.memory_limit = limit;
    o.tag = "test";
    o.partition_bits = 5;
    SortedShards<uint64_t> shards(3, o);
    for (size_t i = 0; i < keys.size(); ++i) {
      ASSERT_TRUE(shards.Add(static_cast<int>(i % 3), keys[i]).ok());
    }
    std::vector<std::vector<uint64_t>> parts(shards.InMemoryPartitions());
    const bool in_memory = shards.ForEachPartitionSorted(
        2, [&parts](size_t p, const std::vector<uint64_t>& records) {
          parts[p] = records;
        });
    std::vector<uint64_t> got;
    if (in_memory) {
      EXPECT_EQ(parts.size(), 32u);
      for (const auto& part : parts) {
        got.insert(got.end(), part.begin(), part.end());
      }
    } else {
      EXPECT_TRUE(parts.empty());
      ASSERT_TRUE(shards.Finish(2).ok());
      uint64_t k;
      while (shards.Next(&k)) got.push_back(k);
    }
    EXPECT_EQ(in_memory, limit > keys.size() * 8 * 2);
    EXPECT_EQ(got, expected);
  }
}

TEST(SortedRunsTest, UnwritableFolderIsAnError) {
  SortedRunsOptions o;
  o.memory_limit = 64;
  o.temp_dir = "/nonexistent-newsdedup-folder";
  SortedRuns<uint64_t> sorter(o);
  absl::Status s;
  for (uint64_t k = 0; k < 100 && s.ok(); ++k) s = sorter.Add(k);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("/nonexistent-newsdedup-folder/newsdedup-"),
            std::string::npos)
      << s;
}

}  // namespace
}  // namespace internal
}  // namespace newsdedup
