// Benchmarks of the per-paragraph hot loop: tokenize -> shingle (3 words) ->
// MinHash (k = 128) -> LSH band keys, as a whole and stage by stage, over
// synthetic English-like paragraphs of 20, 50, 100 and 200 shingles.
//
//   ./build/newsdedup_bench --benchmark_filter='Full|_Paragraph|Sketch|Scalar'
//
// Every benchmark checks its answer once before timing (token ranges and
// hashes against the generator, SIMD signatures against SketchScalar, band
// keys against the scalar path) and fails with SkipWithError otherwise.
// Counters: bytes/s of paragraph text, items/s = shingles/s, and
// per_shingle (time per shingle, the unit of DESIGN.md's targets).
// BM_HotLoop_<TARGET> and BM_MinHash_<TARGET> force one Highway target
// (AVX3 = AVX-512, AVX2, SSE4, SSSE3 and the portable baseline, SCALAR or
// EMU128 depending on the Highway build) with hwy::SetSupportedTargetsForTest.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bench_util.h"
#include "hwy/targets.h"
#include "newsdedup/hash.h"
#include "newsdedup/lsh.h"
#include "newsdedup/minhash.h"
#include "newsdedup/shingle.h"
#include "newsdedup/tokenize.h"

namespace newsdedup {
namespace bench {
namespace {

// Frequent English words, most frequent first, and a few news staples: about
// half of the running words of news text.
constexpr const char* kFunctionWords[] = {
    "the",        "of",       "and",   "to",     "a",      "in",      "for",
    "is",         "on",       "that",  "by",     "this",   "with",    "i",
    "you",        "it",       "not",   "or",     "be",     "are",     "from",
    "at",         "as",       "your",  "all",    "have",   "new",     "more",
    "an",         "was",      "we",    "will",   "home",   "can",     "us",
    "about",      "if",       "page",  "my",     "has",    "said",    "but",
    "our",        "one",      "other", "do",     "no",     "time",    "they",
    "he",         "up",       "may",   "what",   "which",  "their",   "news",
    "out",        "use",      "any",   "there",  "see",    "only",    "so",
    "his",        "when",     "here",  "who",    "also",   "now",     "help",
    "get",        "first",    "been",  "would",  "how",    "were",    "me",
    "some",       "these",    "its",   "like",   "than",   "find",    "back",
    "year",       "had",      "into",  "state",  "two",    "last",    "over",
    "after",      "most",     "could", "market", "shares", "company", "percent",
    "government", "officials"};
constexpr int kNumFunctionWords =
    sizeof(kFunctionWords) / sizeof(kFunctionWords[0]);

constexpr const char* kOnsets[] = {
    "b",  "c",  "d",  "f",  "g",   "h",  "l",  "m",  "n",  "p",  "r",
    "s",  "t",  "v",  "w",  "br",  "ch", "cl", "cr", "dr", "fl", "gr",
    "pl", "pr", "sh", "st", "str", "th", "tr", "",   "",   ""};
constexpr const char* kVowels[] = {"a", "e",  "i",  "o",  "u",  "a",  "e", "i",
                                   "o", "ea", "ou", "io", "ai", "ee", "y", "e"};
constexpr const char* kCodas[] = {"",   "",   "",   "n",  "r",  "s",
                                  "t",  "l",  "m",  "nd", "nt", "st",
                                  "ng", "rt", "ck", "ss", "ct", "rs"};

template <size_t N>
const char* Pick(Rng& rng, const char* const (&list)[N]) {
  return list[rng.Below(N)];
}

// Content words: 1-5 syllables (mean about 7 letters), 1% of them over 16
// bytes so the tokenizer's long-word path is exercised.
std::vector<std::string> MakeContentWords() {
  Rng rng(0xC0FFEE);
  std::vector<std::string> words;
  constexpr int kCount = 6000;
  words.reserve(kCount);
  for (int i = 0; i < kCount; ++i) {
    const double u = rng.Unit();
    int syllables = u < 0.30   ? 1
                    : u < 0.65 ? 2
                    : u < 0.85 ? 3
                    : u < 0.95 ? 4
                               : 5;
    if (rng.Below(100) == 0) syllables = 7;
    std::string w;
    for (int s = 0; s < syllables; ++s) {
      w += Pick(rng, kOnsets);
      w += Pick(rng, kVowels);
      if (s + 1 == syllables || rng.Below(3) == 0) w += Pick(rng, kCodas);
    }
    words.push_back(std::move(w));
  }
  return words;
}

const std::vector<std::string>& ContentWords() {
  static const std::vector<std::string>* words =
      new std::vector<std::string>(MakeContentWords());
  return *words;
}

// One generated paragraph and the byte ranges of the words in it (what
// Tokenize must find).
struct Paragraph {
  std::string text;
  std::vector<std::pair<uint32_t, uint32_t>> words;
};

// `num_words` words in sentences of 8-25 words: a capital at the start of
// each sentence, proper nouns (8% of content words), acronyms, numbers,
// commas, periods and straight quotes. ASCII only, so the tokenizer's fast
// path is what is measured (Reuters 2006-2010 is ASCII too). Word frequencies
// are skewed (Zipf-like) so shingles repeat as in real text.
Paragraph GenerateParagraph(Rng& rng, int num_words) {
  const std::vector<std::string>& content = ContentWords();
  Paragraph p;
  int sentence_left = 0;
  bool quoted = false;
  for (int w = 0; w < num_words; ++w) {
    bool capital = false;
    if (sentence_left == 0) {
      sentence_left = 8 + static_cast<int>(rng.Below(18));
      capital = true;
    }
    std::string word;
    const uint32_t kind = rng.Below(100);
    if (kind < 3) {
      word = std::to_string(rng.Below(rng.Below(2) ? 100 : 2100));
    } else if (kind < 50) {
      const double u = rng.Unit();
      word = kFunctionWords[static_cast<int>(kNumFunctionWords * u * u * u)];
    } else {
      const double u = rng.Unit();
      word = content[static_cast<size_t>(content.size() * u * u)];
      if (kind < 52 && word.size() <= 5) {
        for (char& c : word) c = static_cast<char>(c - 'a' + 'A');  // "NATO"
      } else if (rng.Below(100) < 8) {
        capital = true;
      }
    }
    if (capital && word[0] >= 'a' && word[0] <= 'z') word[0] -= 'a' - 'A';
    if (!quoted && rng.Below(100) < 2) {
      p.text += '"';
      quoted = true;
    }
    const uint32_t begin = static_cast<uint32_t>(p.text.size());
    p.text += word;
    p.words.emplace_back(begin, static_cast<uint32_t>(p.text.size()));
    --sentence_left;
    const bool last = w + 1 == num_words;
    if (sentence_left == 0 || last) {
      p.text += '.';
      if (quoted) p.text += '"';
      quoted = false;
    } else if (rng.Below(100) < 8) {
      p.text += ',';
    } else if (quoted && rng.Below(100) < 15) {
      p.text += '"';
      quoted = false;
    }
    if (!last) p.text += ' ';
  }
  return p;
}

}  // namespace

// Declared in scan_bench.cc: a paragraph of `num_words` words from the
// generator above, seeded with `seed`; the words' byte ranges in `*words`
// when not null.
std::string SyntheticParagraph(
    uint64_t seed, int num_words,
    std::vector<std::pair<uint32_t, uint32_t>>* words) {
  Rng rng(seed);
  Paragraph p = GenerateParagraph(rng, num_words);
  if (words != nullptr) *words = std::move(p.words);
  return std::move(p.text);
}

namespace {

constexpr int kShingleSize = 3;
constexpr int kNumPerm = 128;
constexpr uint64_t kMinHashSeed = 1;
constexpr double kThreshold = 0.7;  // ScanOptions' default
constexpr int kParagraphsPerSet = 512;

// A fixed set of paragraphs of one size (shingles per paragraph), with the
// outputs of each stage precomputed for the single-stage benchmarks.
struct ParagraphSet {
  std::vector<Paragraph> paragraphs;
  std::vector<std::vector<Token>> tokens;
  std::vector<std::vector<uint64_t>> shingles;
  std::vector<std::vector<uint32_t>> signatures;  // scalar reference
  size_t bytes = 0;
  size_t total_shingles = 0;
};

const ParagraphSet& GetParagraphSet(int shingles_per_paragraph) {
  // One set per size, built on first use; the sizes are the benchmark args.
  static std::vector<std::pair<int, ParagraphSet*>> cache;
  for (const auto& [size, set] : cache) {
    if (size == shingles_per_paragraph) return *set;
  }
  auto* set = new ParagraphSet;
  Rng rng(0x5EED0000 + static_cast<uint64_t>(shingles_per_paragraph));
  const MinHasher hasher = *MinHasher::Create(kNumPerm, kMinHashSeed);
  for (int i = 0; i < kParagraphsPerSet; ++i) {
    set->paragraphs.push_back(
        GenerateParagraph(rng, shingles_per_paragraph + kShingleSize - 1));
    const Paragraph& p = set->paragraphs.back();
    set->bytes += p.text.size();
    set->tokens.push_back(Tokenize(p.text));
    std::vector<uint64_t> s;
    ShingleHashes(set->tokens.back(), kShingleSize, &s);
    set->total_shingles += s.size();
    std::vector<uint32_t> sig(kNumPerm);
    hasher.SketchScalar(s, sig.data());
    set->shingles.push_back(std::move(s));
    set->signatures.push_back(std::move(sig));
  }
  cache.emplace_back(shingles_per_paragraph, set);
  return *set;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// The tokenizer must find exactly the generated words, with the hash of
// their lower-cased bytes; the shingler one hash per 3-word window.
bool CheckTokensAndShingles(const ParagraphSet& set, std::string* error) {
  for (size_t i = 0; i < set.paragraphs.size(); ++i) {
    const Paragraph& p = set.paragraphs[i];
    const std::vector<Token>& t = set.tokens[i];
    if (t.size() != p.words.size()) {
      *error = "paragraph " + std::to_string(i) + ": " +
               std::to_string(t.size()) + " tokens, expected " +
               std::to_string(p.words.size());
      return false;
    }
    for (size_t k = 0; k < t.size(); ++k) {
      const auto [begin, end] = p.words[k];
      const std::string_view word(p.text.data() + begin, end - begin);
      if (t[k].begin != begin || t[k].end != end ||
          t[k].hash != HashWord(Lower(word))) {
        *error = "paragraph " + std::to_string(i) + " token " +
                 std::to_string(k) + " (" + std::string(word) +
                 "): wrong range or hash";
        return false;
      }
    }
    if (set.shingles[i].size() != t.size() - kShingleSize + 1) {
      *error = "paragraph " + std::to_string(i) + ": wrong shingle count";
      return false;
    }
  }
  return true;
}

void SetCounters(benchmark::State& state, const ParagraphSet& set) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(set.bytes));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(set.total_shingles));
  // The inverted rate of shingles: seconds per shingle, printed with its
  // unit ("per_shingle=15.9ns").
  state.counters["per_shingle"] =
      benchmark::Counter(static_cast<double>(set.total_shingles),
                         benchmark::Counter::kIsIterationInvariantRate |
                             benchmark::Counter::kInvert);
}

LshParams DefaultBands() { return *ChooseBands(kNumPerm, kThreshold); }

// The whole hot loop for every paragraph of `set`; returns a checksum of the
// band keys (xor) so the work cannot be dropped.
struct HotLoop {
  MinHasher hasher = *MinHasher::Create(kNumPerm, kMinHashSeed);
  LshParams params = DefaultBands();
  std::vector<Token> tokens;
  std::vector<uint64_t> shingles;
  std::vector<uint32_t> signature = std::vector<uint32_t>(kNumPerm);
  std::vector<uint64_t> keys = std::vector<uint64_t>(params.bands);

  uint64_t Run(const ParagraphSet& set) {
    uint64_t sum = 0;
    for (const Paragraph& p : set.paragraphs) {
      tokens.clear();
      Tokenize(p.text, 0, &tokens);
      shingles.clear();
      ShingleHashes(tokens, kShingleSize, &shingles);
      hasher.Sketch(shingles, signature.data());
      BandKeys(signature.data(), params, keys.data());
      sum ^= keys[0];
    }
    return sum;
  }
};

// Checks the full loop against the scalar path: tokens and shingles as
// generated, band keys of the scalar signature.
bool CheckHotLoop(const ParagraphSet& set, HotLoop& loop, std::string* error) {
  if (!CheckTokensAndShingles(set, error)) return false;
  std::vector<uint64_t> expected(loop.params.bands);
  for (size_t i = 0; i < set.paragraphs.size(); ++i) {
    loop.tokens.clear();
    Tokenize(set.paragraphs[i].text, 0, &loop.tokens);
    loop.shingles.clear();
    ShingleHashes(loop.tokens, kShingleSize, &loop.shingles);
    loop.hasher.Sketch(loop.shingles, loop.signature.data());
    BandKeys(loop.signature.data(), loop.params, loop.keys.data());
    BandKeys(set.signatures[i].data(), loop.params, expected.data());
    if (loop.shingles != set.shingles[i] || loop.keys != expected) {
      *error = "paragraph " + std::to_string(i) +
               ": band keys differ from the scalar reference";
      return false;
    }
  }
  return true;
}

bool CheckSketches(const ParagraphSet& set, const MinHasher& hasher,
                   std::string* error) {
  std::vector<uint32_t> sig(kNumPerm);
  for (size_t i = 0; i < set.shingles.size(); ++i) {
    hasher.Sketch(set.shingles[i], sig.data());
    if (sig != set.signatures[i]) {
      *error = std::string("paragraph ") + std::to_string(i) + ": " +
               MinHasher::TargetName() + " signature differs from SketchScalar";
      return false;
    }
  }
  return true;
}

void BM_HotLoop_Full(benchmark::State& state) {
  const ParagraphSet& set = GetParagraphSet(static_cast<int>(state.range(0)));
  HotLoop loop;
  std::string error;
  if (!CheckHotLoop(set, loop, &error)) {
    state.SkipWithError(error.c_str());
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(loop.Run(set));
  SetCounters(state, set);
  state.SetLabel(MinHasher::TargetName());
}

void BM_Tokenize_Paragraph(benchmark::State& state) {
  const ParagraphSet& set = GetParagraphSet(static_cast<int>(state.range(0)));
  std::string error;
  if (!CheckTokensAndShingles(set, &error)) {
    state.SkipWithError(error.c_str());
    return;
  }
  std::vector<Token> tokens;
  for (auto _ : state) {
    for (const Paragraph& p : set.paragraphs) {
      tokens.clear();
      Tokenize(p.text, 0, &tokens);
      benchmark::DoNotOptimize(tokens.data());
    }
    benchmark::ClobberMemory();
  }
  SetCounters(state, set);
}

void BM_Shingle_Paragraph(benchmark::State& state) {
  const ParagraphSet& set = GetParagraphSet(static_cast<int>(state.range(0)));
  std::string error;
  if (!CheckTokensAndShingles(set, &error)) {
    state.SkipWithError(error.c_str());
    return;
  }
  std::vector<uint64_t> shingles;
  for (auto _ : state) {
    for (const std::vector<Token>& tokens : set.tokens) {
      shingles.clear();
      ShingleHashes(tokens, kShingleSize, &shingles);
      benchmark::DoNotOptimize(shingles.data());
    }
    benchmark::ClobberMemory();
  }
  SetCounters(state, set);
}

void RunSketch(benchmark::State& state, const ParagraphSet& set,
               const MinHasher& hasher, bool scalar) {
  std::vector<uint32_t> sig(kNumPerm);
  for (auto _ : state) {
    for (const std::vector<uint64_t>& s : set.shingles) {
      if (scalar) {
        hasher.SketchScalar(s, sig.data());
      } else {
        hasher.Sketch(s, sig.data());
      }
      benchmark::DoNotOptimize(sig.data());
    }
    benchmark::ClobberMemory();
  }
  SetCounters(state, set);
}

void BM_MinHash_Sketch(benchmark::State& state) {
  const ParagraphSet& set = GetParagraphSet(static_cast<int>(state.range(0)));
  const MinHasher hasher = *MinHasher::Create(kNumPerm, kMinHashSeed);
  std::string error;
  if (!CheckSketches(set, hasher, &error)) {
    state.SkipWithError(error.c_str());
    return;
  }
  RunSketch(state, set, hasher, /*scalar=*/false);
  state.SetLabel(MinHasher::TargetName());
}

void BM_MinHash_Scalar(benchmark::State& state) {
  const ParagraphSet& set = GetParagraphSet(static_cast<int>(state.range(0)));
  const MinHasher hasher = *MinHasher::Create(kNumPerm, kMinHashSeed);
  // Differential check: the reference and the dispatched kernel agree.
  std::string error;
  if (!CheckSketches(set, hasher, &error)) {
    state.SkipWithError(error.c_str());
    return;
  }
  RunSketch(state, set, hasher, /*scalar=*/true);
}

void BM_BandKeys_Paragraph(benchmark::State& state) {
  const ParagraphSet& set = GetParagraphSet(static_cast<int>(state.range(0)));
  const LshParams params = DefaultBands();
  std::vector<uint64_t> keys(params.bands);
  // Equal signatures must give equal keys, and one changed value must change
  // exactly the key of its band.
  std::vector<uint64_t> a(params.bands), b(params.bands);
  std::vector<uint32_t> sig = set.signatures[0];
  BandKeys(sig.data(), params, a.data());
  sig[params.rows] ^= 1;  // first value of band 1
  BandKeys(sig.data(), params, b.data());
  for (int band = 0; band < params.bands; ++band) {
    if ((a[band] != b[band]) != (band == 1)) {
      state.SkipWithError("BandKeys: a change in band 1 changed other bands");
      return;
    }
  }
  for (auto _ : state) {
    for (const std::vector<uint32_t>& s : set.signatures) {
      BandKeys(s.data(), params, keys.data());
      benchmark::DoNotOptimize(keys.data());
    }
    benchmark::ClobberMemory();
  }
  SetCounters(state, set);
  state.SetLabel(std::to_string(params.bands) + "x" +
                 std::to_string(params.rows));
}

// Forces the Highway target for its lifetime; restores normal dispatch after.
class ForcedTarget {
 public:
  explicit ForcedTarget(int64_t target) {
    hwy::SetSupportedTargetsForTest(target);
  }
  ~ForcedTarget() { hwy::SetSupportedTargetsForTest(0); }
  ForcedTarget(const ForcedTarget&) = delete;
  ForcedTarget& operator=(const ForcedTarget&) = delete;
};

// Skips (false) when the CPU cannot run `target`.
bool CpuSupports(benchmark::State& state, int64_t target) {
  if ((hwy::SupportedTargets() & target) == 0) {
    state.SkipWithError(
        (std::string("CPU lacks ") + hwy::TargetName(target)).c_str());
    return false;
  }
  return true;
}

void BM_MinHash_Target(benchmark::State& state, int64_t target) {
  if (!CpuSupports(state, target)) return;
  const ParagraphSet& set = GetParagraphSet(static_cast<int>(state.range(0)));
  const MinHasher hasher = *MinHasher::Create(kNumPerm, kMinHashSeed);
  ForcedTarget forced(target);
  std::string error;
  if (std::strcmp(MinHasher::TargetName(), hwy::TargetName(target)) != 0) {
    state.SkipWithError("target not selected by dispatch");
    return;
  }
  if (!CheckSketches(set, hasher, &error)) {
    state.SkipWithError(error.c_str());
    return;
  }
  RunSketch(state, set, hasher, /*scalar=*/false);
}

void BM_HotLoop_Target(benchmark::State& state, int64_t target) {
  if (!CpuSupports(state, target)) return;
  const ParagraphSet& set = GetParagraphSet(static_cast<int>(state.range(0)));
  ForcedTarget forced(target);
  if (std::strcmp(MinHasher::TargetName(), hwy::TargetName(target)) != 0) {
    state.SkipWithError("target not selected by dispatch");
    return;
  }
  HotLoop loop;
  std::string error;
  if (!CheckHotLoop(set, loop, &error)) {
    state.SkipWithError(error.c_str());
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(loop.Run(set));
  SetCounters(state, set);
}

void ParagraphSizes(benchmark::internal::Benchmark* b) {
  b->ArgName("shingles");
  for (int n : {20, 50, 100, 200}) b->Arg(n);
}

BENCHMARK(BM_HotLoop_Full)->Apply(ParagraphSizes);
BENCHMARK(BM_Tokenize_Paragraph)->Apply(ParagraphSizes);
BENCHMARK(BM_Shingle_Paragraph)->Apply(ParagraphSizes);
BENCHMARK(BM_MinHash_Sketch)->Apply(ParagraphSizes);
BENCHMARK(BM_MinHash_Scalar)->Apply(ParagraphSizes);
BENCHMARK(BM_BandKeys_Paragraph)->Apply(ParagraphSizes);

// One BM_MinHash_<TARGET> and BM_HotLoop_<TARGET> per target that minhash.cc
// is compiled for (this file sees the same HWY_TARGETS: same flags).
int RegisterTargetBenchmarks() {
  for (int64_t targets = HWY_TARGETS; targets != 0; targets &= targets - 1) {
    const int64_t target = targets & -targets;
    const std::string name = hwy::TargetName(target);
    benchmark::RegisterBenchmark(("BM_MinHash_" + name).c_str(),
                                 BM_MinHash_Target, target)
        ->Apply(ParagraphSizes);
    benchmark::RegisterBenchmark(("BM_HotLoop_" + name).c_str(),
                                 BM_HotLoop_Target, target)
        ->Apply(ParagraphSizes);
  }
  return 0;
}
const int kTargetBenchmarks = RegisterTargetBenchmarks();

}  // namespace
}  // namespace bench
}  // namespace newsdedup
