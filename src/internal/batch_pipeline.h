// Batches through a line of steps on a fixed set of threads, each thread
// taking whatever step can run next: reading, work that any thread may do
// on any batch, and steps that must see the batches one at a time in order.
// One pool of threads instead of a thread per kind of work, so that no core
// sits idle while another has two kinds of work waiting, and the ordered
// steps keep the result the same for any number of threads.
#ifndef NEWSDEDUP_INTERNAL_BATCH_PIPELINE_H_
#define NEWSDEDUP_INTERNAL_BATCH_PIPELINE_H_

#include <cstddef>
#include <functional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace newsdedup::internal {

// A step every batch goes through.
struct PipelineStage {
  // One batch at a time, in batch order (a step that carries state from
  // batch to batch); otherwise any number of batches at once.
  bool ordered = false;
  // Runs the step on the batch in `slot`.
  std::function<void(size_t slot)> run;
};

struct PipelineOptions {
  // Threads that take steps: the caller's and threads - 1 started for the
  // run. At least 1.
  int threads = 1;
  // Batches under way at most: batch b uses slot b % slots from the read
  // that fills it to the end of its last stage. At least 1.
  size_t slots = 1;
  // Optional: what a thread with no step to take does before it waits (for
  // instance decompressing ahead of the reads); returns whether it did
  // anything, and the thread looks for a step again if so. Called on
  // several threads at once, and while `read` and any stage run.
  std::function<bool()> idle;
};

// Runs batches 0, 1, 2, ... through `read` and then through `stages` in
// order. `read(slot)` fills the next batch into `slot`, one call at a time
// in batch order; it returns false when the input has ended (the slot is
// left unused) or an error, which stops the run: no step starts after it,
// and it is returned once the steps under way have ended. Otherwise returns
// OK once every batch read has been through every stage.
//
// The steps and `idle` must not throw (a pool thread that throws ends the
// program).
//
// A thread takes, of the steps that may start, the ordered ones first (the
// latest stage first, the read last) and then the others (the latest stage
// first, the oldest batch first): the ordered steps bound the run's speed,
// and batches that finish free their slots for reading.
absl::Status RunPipeline(
    const PipelineOptions& options,
    const std::function<absl::StatusOr<bool>(size_t)>& read,
    absl::Span<const PipelineStage> stages);

}  // namespace newsdedup::internal

#endif  // NEWSDEDUP_INTERNAL_BATCH_PIPELINE_H_
