#include "internal/batch_pipeline.h"

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace newsdedup::internal {
namespace {

class Run {
 public:
  Run(const PipelineOptions& options,
      const std::function<absl::StatusOr<bool>(size_t)>& read,
      absl::Span<const PipelineStage> stages)
      : options_(options),
        read_(read),
        stages_(stages),
        slots_(std::max<size_t>(options.slots, 1), Slot{0, stages.size()}),
        turn_(stages.size(), 0) {}

  absl::Status Go() {
    const int threads = std::max(options_.threads, 1);
    std::vector<std::thread> pool;
    pool.reserve(static_cast<size_t>(threads - 1));
    for (int t = 1; t < threads; ++t) pool.emplace_back([this] { Work(); });
    Work();
    for (std::thread& t : pool) t.join();
    return status_;
  }

 private:
  static constexpr size_t kNone = SIZE_MAX;
  static constexpr size_t kRead = SIZE_MAX - 1;

  struct Slot {
    uint64_t batch = 0;
    size_t stage;  // the next stage; stages_.size(): free
    bool busy = false;
  };

  struct Step {
    size_t what = kNone;  // a stage, kRead or kNone
    size_t slot = 0;
  };

  // The step to take next, under mu_.
  Step Pick() const {
    // Ordered stages, latest first: each may run one batch, turn_[s].
    for (size_t s = stages_.size(); s-- > 0;) {
      if (!stages_[s].ordered) continue;
      const size_t k = turn_[s] % slots_.size();
      const Slot& slot = slots_[k];
      if (slot.stage == s && slot.batch == turn_[s] && !slot.busy) {
        return {s, k};
      }
    }
    if (!reading_ && !ended_) {
      const size_t k = next_read_ % slots_.size();
      if (slots_[k].stage == stages_.size()) return {kRead, k};
    }
    for (size_t s = stages_.size(); s-- > 0;) {
      if (stages_[s].ordered) continue;
      size_t best = kNone;
      for (size_t k = 0; k < slots_.size(); ++k) {
        const Slot& slot = slots_[k];
        if (slot.stage != s || slot.busy) continue;
        if (best == kNone || slot.batch < slots_[best].batch) best = k;
      }
      if (best != kNone) return {s, best};
    }
    return {};
  }

  void Work() {
    std::unique_lock<std::mutex> lock(mu_);
    while (status_.ok()) {
      const Step step = Pick();
      if (step.what == kNone) {
        if (ended_ && under_way_ == 0) break;
        const uint64_t seen = generation_;
        if (options_.idle) {
          lock.unlock();
          const bool did = options_.idle();
          lock.lock();
          if (did) continue;
        }
        // A step that ended while this thread was idle may have made room.
        if (generation_ == seen) cv_.wait(lock);
        continue;
      }
      if (step.what == kRead) {
        reading_ = true;
        lock.unlock();
        absl::StatusOr<bool> more = read_(step.slot);
        lock.lock();
        reading_ = false;
        if (!more.ok()) {
          status_ = more.status();
        } else if (!*more) {
          ended_ = true;
        } else {
          Slot& slot = slots_[step.slot];
          slot.batch = next_read_++;
          slot.stage = 0;
          if (!stages_.empty()) ++under_way_;
        }
      } else {
        Slot& slot = slots_[step.slot];
        slot.busy = true;
        lock.unlock();
        stages_[step.what].run(step.slot);
        lock.lock();
        slot.busy = false;
        if (stages_[step.what].ordered) ++turn_[step.what];
        if (++slot.stage == stages_.size()) --under_way_;
      }
      ++generation_;
      cv_.notify_all();
    }
    cv_.notify_all();  // an error or the end: the others stop too
  }

  const PipelineOptions& options_;
  const std::function<absl::StatusOr<bool>(size_t)>& read_;
  const absl::Span<const PipelineStage> stages_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Slot> slots_;
  std::vector<uint64_t> turn_;  // per ordered stage: the batch it may run
  uint64_t next_read_ = 0;
  bool reading_ = false;
  bool ended_ = false;
  uint64_t under_way_ = 0;   // batches read and not through every stage
  uint64_t generation_ = 0;  // steps ended so far
  absl::Status status_;
};

}  // namespace

absl::Status RunPipeline(
    const PipelineOptions& options,
    const std::function<absl::StatusOr<bool>(size_t)>& read,
    absl::Span<const PipelineStage> stages) {
  return Run(options, read, stages).Go();
}

}  // namespace newsdedup::internal
