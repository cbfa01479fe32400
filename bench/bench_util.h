// Shared by the benchmark files: a portable random generator and the
// synthetic English-like paragraphs of hotloop_bench.cc.
#ifndef NEWSDEDUP_BENCH_BENCH_UTIL_H_
#define NEWSDEDUP_BENCH_BENCH_UTIL_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace newsdedup::bench {

// SplitMix64: a portable generator (the <random> distributions differ
// between standard libraries, which would change the inputs).
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n), n < 2^32.
  uint32_t Below(uint64_t n) {
    return static_cast<uint32_t>(((Next() >> 32) * n) >> 32);
  }
  // Uniform in [0, 1).
  double Unit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

 private:
  uint64_t state_;
};

// An English-like paragraph of `num_words` words (defined in
// hotloop_bench.cc), and the byte ranges of its words in `*words`.
std::string SyntheticParagraph(
    uint64_t seed, int num_words,
    std::vector<std::pair<uint32_t, uint32_t>>* words);

}  // namespace newsdedup::bench

#endif  // NEWSDEDUP_BENCH_BENCH_UTIL_H_
