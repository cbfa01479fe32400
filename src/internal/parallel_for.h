// Runs fn(i) for every i in [0, n) on up to `threads` threads (the caller
// is one of them): for loops whose iterations are independent and uneven in
// cost (documents, partitions). Indices are handed out in runs of about
// n / (16 * threads), at least one: enough runs to even out the costs, and
// neighbouring iterations (which often write neighbouring outputs, such as
// the ends of vectors side by side) mostly on one thread, so that two
// threads seldom write one cache line.
#ifndef NEWSDEDUP_INTERNAL_PARALLEL_FOR_H_
#define NEWSDEDUP_INTERNAL_PARALLEL_FOR_H_

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

namespace newsdedup::internal {

template <typename Fn>
void ParallelFor(size_t n, int threads, const Fn& fn) {
  const size_t workers =
      std::min<size_t>(static_cast<size_t>(std::max(threads, 1)), n);
  if (workers <= 1) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  const size_t run = std::max<size_t>(1, n / (16 * workers));
  std::atomic<size_t> next{0};
  auto work = [&]() {
    for (size_t i = next.fetch_add(run); i < n; i = next.fetch_add(run)) {
      const size_t end = std::min(n, i + run);
      for (size_t k = i; k < end; ++k) fn(k);
    }
  };
  std::vector<std::thread> pool;
  for (size_t t = 1; t < workers; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
}

}  // namespace newsdedup::internal

#endif  // NEWSDEDUP_INTERNAL_PARALLEL_FOR_H_
