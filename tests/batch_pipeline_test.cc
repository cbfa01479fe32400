#include "internal/batch_pipeline.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

namespace newsdedup::internal {
namespace {

PipelineOptions Options(int threads, size_t slots) {
  PipelineOptions options;
  options.threads = threads;
  options.slots = slots;
  return options;
}

// Batches of numbers through: square (any thread), a running sum (in
// order), a check (any thread) and a log (in order).
struct Numbers {
  uint64_t first = 0;  // the batch's first number
  std::vector<uint64_t> values;
  uint64_t sum_before = 0;  // of every earlier batch's squares
};

TEST(BatchPipelineTest, OrderedStagesSeeBatchesInOrderOnAnyThreads) {
  constexpr uint64_t kBatches = 300;
  for (int threads : {1, 2, 3, 8}) {
    for (size_t slots : {size_t{1}, size_t{2}, size_t{5}, size_t{16}}) {
      SCOPED_TRACE(testing::Message()
                   << threads << " threads, " << slots << " slots");
      PipelineOptions options = Options(threads, slots);
      std::vector<Numbers> batch(slots);
      uint64_t read = 0, sum = 0;
      std::atomic<int> under_way{0}, most_under_way{0};
      std::vector<uint64_t> settled, logged;
      std::vector<uint64_t> sums;
      auto fill = [&](size_t slot) -> absl::StatusOr<bool> {
        if (read == kBatches) return false;
        Numbers& b = batch[slot];
        b.first = read * 10;
        b.values.assign(1 + read % 7, 0);
        for (size_t k = 0; k < b.values.size(); ++k) {
          b.values[k] = b.first + k;
        }
        ++read;
        const int now = ++under_way;
        int most = most_under_way.load();
        while (now > most && !most_under_way.compare_exchange_weak(most, now)) {
        }
        return true;
      };
      const PipelineStage stages[] = {
          {false,
           [&](size_t slot) {
             for (uint64_t& v : batch[slot].values) v *= v;
           }},
          {true,
           [&](size_t slot) {
             Numbers& b = batch[slot];
             settled.push_back(b.first / 10);
             b.sum_before = sum;
             for (uint64_t v : b.values) sum += v;
           }},
          {false,
           [&](size_t slot) {
             const Numbers& b = batch[slot];
             for (size_t k = 0; k < b.values.size(); ++k) {
               EXPECT_EQ(b.values[k], (b.first + k) * (b.first + k));
             }
           }},
          {true, [&](size_t slot) {
             logged.push_back(batch[slot].first / 10);
             sums.push_back(batch[slot].sum_before);
             --under_way;
           }}};
      ASSERT_TRUE(RunPipeline(options, fill, stages).ok());
      ASSERT_EQ(settled.size(), kBatches);
      ASSERT_EQ(logged.size(), kBatches);
      uint64_t want = 0;
      for (uint64_t b = 0; b < kBatches; ++b) {
        EXPECT_EQ(settled[b], b);
        EXPECT_EQ(logged[b], b);
        EXPECT_EQ(sums[b], want);
        for (uint64_t k = 0; k < 1 + b % 7; ++k) {
          want += (b * 10 + k) * (b * 10 + k);
        }
      }
      EXPECT_EQ(sum, want);
      EXPECT_LE(most_under_way.load(), static_cast<int>(slots));
      if (slots == 1) {
        EXPECT_EQ(most_under_way.load(), 1);
      }
    }
  }
}

TEST(BatchPipelineTest, ParallelStagesRunAtOnce) {
  // Two batches of a parallel stage that each wait for the other: they end
  // only if two threads take them at once.
  PipelineOptions options = Options(2, 2);
  int read = 0;
  std::atomic<int> arrived{0};
  auto fill = [&](size_t) -> absl::StatusOr<bool> { return read++ < 2; };
  bool both = true;
  const PipelineStage stages[] = {
      {false, [&](size_t) {
         ++arrived;
         const auto until =
             std::chrono::steady_clock::now() + std::chrono::seconds(20);
         while (arrived.load() < 2) {
           if (std::chrono::steady_clock::now() > until) {
             both = false;
             return;
           }
           std::this_thread::yield();
         }
       }}};
  ASSERT_TRUE(RunPipeline(options, fill, stages).ok());
  EXPECT_TRUE(both);
}

TEST(BatchPipelineTest, AReadErrorStopsTheRun) {
  for (int threads : {1, 2, 4}) {
    SCOPED_TRACE(testing::Message() << threads << " threads");
    PipelineOptions options = Options(threads, 4);
    int reads = 0;
    std::atomic<bool> failed{false};
    std::atomic<int> steps{0};
    std::vector<int> batch(4);
    auto fill = [&](size_t slot) -> absl::StatusOr<bool> {
      ++reads;
      if (reads == 11) {
        failed = true;
        return absl::DataLossError("input.jsonl:11: broken");
      }
      batch[slot] = reads;
      return true;
    };
    // On one thread every step is taken in turn: none after the error,
    // although batches read ahead are still under way.
    auto check = [&](size_t slot) {
      EXPECT_LE(batch[slot], 10);
      if (threads == 1) {
        EXPECT_FALSE(failed.load());
      }
    };
    const PipelineStage stages[] = {{false, check}, {true, [&](size_t slot) {
                                                       check(slot);
                                                       ++steps;
                                                     }}};
    const absl::Status s = RunPipeline(options, fill, stages);
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
    EXPECT_EQ(s.message(), "input.jsonl:11: broken");
    EXPECT_EQ(reads, 11);  // nothing read after the error
    EXPECT_LE(steps.load(), 10);
    if (threads == 1) {
      // Reads come before unordered steps: batches read ahead were
      // dropped.
      EXPECT_LT(steps.load(), 10);
    }
  }
}

TEST(BatchPipelineTest, EmptyInputRunsNoStage) {
  PipelineOptions options = Options(3, 3);
  int runs = 0;
  const PipelineStage stages[] = {{false, [&](size_t) { ++runs; }},
                                  {true, [&](size_t) { ++runs; }}};
  EXPECT_TRUE(
      RunPipeline(
          options, [](size_t) -> absl::StatusOr<bool> { return false; }, stages)
          .ok());
  EXPECT_EQ(runs, 0);
}

TEST(BatchPipelineTest, IdleThreadsRunTheIdleTask) {
  // While one thread reads, the other has no step to take: the first read
  // waits until it has been idle.
  PipelineOptions options = Options(2, 2);
  std::atomic<int> idle{0};
  options.idle = [&idle] {
    ++idle;
    return false;
  };
  int read = 0;
  auto fill = [&](size_t) -> absl::StatusOr<bool> {
    const auto until =
        std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (idle.load() == 0 && std::chrono::steady_clock::now() < until) {
      std::this_thread::yield();
    }
    return read++ < 3;
  };
  int last = 0;
  const PipelineStage stages[] = {{true, [&](size_t) { ++last; }}};
  ASSERT_TRUE(RunPipeline(options, fill, stages).ok());
  EXPECT_EQ(last, 3);
  EXPECT_GT(idle.load(), 0);
}

}  // namespace
}  // namespace newsdedup::internal
