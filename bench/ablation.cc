// Ablation of the paragraph-matching settings on real news with planted,
// perturbed copies (bench/perturb.h): recall by edit, precision, hard
// negatives flagged and throughput for shingle sizes, thresholds, signature
// sizes and the edited-words rule, next to datasketch's standard setting
// (5-word shingles, 128 permutations, LSH at 0.8).
//
//   ./build/newsdedup_ablation [CORPUS.jsonl.zst ...] [--seed N]
//
// Without corpora: bbc-2225 and reuters21578 from ../shared/data
// ($NEWSDEDUP_DATA overrides the folder), one table each. Every setting
// scans the corpus and then the planted documents (paragraphs, headlines,
// captions, boilerplate; no passage pass) and is scored with
// newsdedup::Evaluate against the planted labels. Recall: a planted copy
// is found when `paragraph` spans cover at least half of it. Precision:
// reported findings of any kind in planted documents that lie in labelled
// repeats. What it cannot see: duplicates the corpus already holds (its
// documents are not judged), and edits other than those perturb.h makes.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "newsdedup/eval.h"
#include "newsdedup/pipeline.h"
#include "perturb.h"

namespace {

struct Setting {
  const char* name;
  int shingle;
  double threshold;
  int num_perm;
  int max_edit_words;
  int bands = 0;  // 0: chosen from the threshold
  int rows = 0;
};

// k is the signature size; LSH bands are chosen from the threshold unless
// given (with the edited-words rule, for a threshold of 0.55).
const Setting kSettings[] = {
    {"3-word shingles, t=0.5, k=64", 3, 0.5, 64, 0},
    {"3-word shingles, t=0.6, k=64", 3, 0.6, 64, 0},
    {"3-word shingles, t=0.7, k=64", 3, 0.7, 64, 0},
    {"3-word shingles, t=0.8, k=64", 3, 0.8, 64, 0},
    {"3-word shingles, t=0.7, k=64 (21x3 bands) + up to 2 edited words "
     "(default)",
     3, 0.7, 64, 2},
    {"the default with k=128 (32x4 bands)", 3, 0.7, 128, 2},
    {"the default with k=128, 42x3 bands", 3, 0.7, 128, 2, 42, 3},
    {"the default with k=256 (64x4 bands)", 3, 0.7, 256, 2},
    {"the default with k=32 (16x2 bands)", 3, 0.7, 32, 2},
    {"4-word shingles, t=0.6, k=64", 4, 0.6, 64, 0},
    {"4-word shingles, t=0.7, k=64", 4, 0.7, 64, 0},
    {"4-word shingles, t=0.7, k=64 + up to 2 edited words", 4, 0.7, 64, 2},
    {"5-word shingles, t=0.7, k=64", 5, 0.7, 64, 0},
    {"5-word shingles, t=0.8, k=128 (datasketch standard)", 5, 0.8, 128, 0},
};

// Table columns: edit tags whose recall is shown.
const char* const kColumns[] = {
    "exact",        "word-1",   "word-2",         "word-10%",
    "word-20%",     "word-30%", "number-1",       "drop-sentence",
    "add-sentence", "truncate", "article-word-1", "article-truncate"};

int RunCorpus(const std::string& path, uint64_t seed) {
  auto read = newsdedup::bench::ReadCorpus({path});
  if (!read.ok()) {
    std::cerr << read.status().message() << "\n";
    return 1;
  }
  const std::vector<newsdedup::Document>& corpus = *read;
  newsdedup::bench::PlantOptions plant;
  plant.seed = seed;
  const newsdedup::bench::Planted planted =
      newsdedup::bench::Plant(corpus, plant);
  uint64_t bytes = 0;
  for (const auto& d : corpus) bytes += d.title.size() + d.text.size();
  for (const auto& d : planted.docs) bytes += d.title.size() + d.text.size();
  std::printf(
      "corpus %s: %zu documents; %zu planted documents with %zu labels "
      "(%d per paragraph edit, %d syndicated articles, %d hard negatives, "
      "%d spliced); seed %llu\n\n",
      path.c_str(), corpus.size(), planted.docs.size(),
      planted.labels.labels.size(), plant.per_edit, plant.articles,
      plant.negatives, plant.spliced, static_cast<unsigned long long>(seed));
  std::printf("| setting |");
  for (const char* c : kColumns) std::printf(" %s |", c);
  std::printf(" precision | negatives flagged | MB/s |\n|---|");
  for (size_t i = 0; i < std::size(kColumns); ++i) std::printf("---|");
  std::printf("---|---|---|\n");
  for (const Setting& setting : kSettings) {
    newsdedup::ScanOptions options;
    options.shingle_size = setting.shingle;
    options.threshold = setting.threshold;
    options.num_perm = setting.num_perm;
    options.max_edit_words = setting.max_edit_words;
    options.bands = setting.bands;
    options.rows = setting.rows;
    auto scanner = newsdedup::Scanner::Create(options);
    if (!scanner.ok()) {
      std::cerr << setting.name << ": " << scanner.status().message() << "\n";
      return 1;
    }
    const auto start = std::chrono::steady_clock::now();
    for (const auto& d : corpus) (*scanner)->Add(d);
    for (const auto& d : planted.docs) (*scanner)->Add(d);
    if (absl::Status s = (*scanner)->Finish(); !s.ok()) {
      std::cerr << setting.name << ": " << s.message() << "\n";
      return 1;
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    std::vector<newsdedup::SpanRecord> spans;
    (*scanner)->ForEachSpan(
        [&](const newsdedup::SpanRecord& s) { spans.push_back(s); });
    const newsdedup::EvalResult r = newsdedup::Evaluate(planted.labels, spans);
    // Hard negatives with any repeat claim outside their template line.
    size_t negatives = 0, flagged = 0;
    {
      std::string last;
      for (const auto& s : spans) {
        if (s.at.doc.find("/negative/") == std::string_view::npos) continue;
        if (s.kind == newsdedup::SpanKind::kBoilerplate) continue;
        if (s.at.doc != last) ++flagged;
        last = std::string(s.at.doc);
      }
      for (const auto& d : planted.docs) {
        negatives += d.id.find("/negative/") != std::string::npos;
      }
    }
    std::printf("| %s |", setting.name);
    for (const char* c : kColumns) {
      auto it = r.by_edit.find(c);
      if (it == r.by_edit.end()) {
        std::printf(" - |");
      } else {
        std::printf(" %.3f |", it->second.Recall());
      }
    }
    std::printf(" %.4f | %zu / %zu | %.1f |\n", r.all.Precision(), flagged,
                negatives, bytes / seconds / 1e6);
    std::fflush(stdout);
  }
  std::printf("\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> paths;
  uint64_t seed = 7;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--seed" && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else {
      paths.push_back(arg);
    }
  }
  if (paths.empty()) {
    const char* env = std::getenv("NEWSDEDUP_DATA");
    const std::string dir = env && *env ? env : "../shared/data";
    paths = {dir + "/bbc-2225.jsonl.zst", dir + "/reuters21578.jsonl.zst"};
  }
  for (const std::string& path : paths) {
    if (int rc = RunCorpus(path, seed); rc != 0) return rc;
  }
  return 0;
}
