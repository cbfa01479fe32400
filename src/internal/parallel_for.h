// Runs fn(i) for every i in [0, n) on up to `threads` threads (the caller
// is one of them), handing out indices one at a time: for loops whose
// iterations are independent and uneven in cost (documents, partitions).
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
  std::atomic<size_t> next{0};
  auto work = [&]() {
    for (size_t i = next.fetch_add(1); i < n; i = next.fetch_add(1)) fn(i);
  };
  std::vector<std::thread> pool;
  for (size_t t = 1; t < workers; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
}

}  // namespace newsdedup::internal

#endif  // NEWSDEDUP_INTERNAL_PARALLEL_FOR_H_
