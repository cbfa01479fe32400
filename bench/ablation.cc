// Ablation of the paragraph-matching defaults on real news with planted,
// perturbed copies: recall by edit strength, precision, and throughput for
// shingle sizes, thresholds and signature sizes, next to datasketch's
// standard setting (5-word shingles, 128 permutations, LSH at 0.8).
//
//   ./build/newsdedup_ablation [CORPUS.jsonl.zst] [SEED]
//
// Default corpus: ../shared/data/bbc-2225.jsonl.zst ($NEWSDEDUP_DATA
// overrides the folder). Method: every paragraph of 20+ words in the corpus
// is a candidate source; 400 are drawn (fixed seed) and each is copied into
// a new document with k words replaced by words drawn from the corpus, for
// k = 1, 2 and 10%, 20%, 30% of its words. A further 400 "hard negatives"
// replace 60% of the words (what is left shares vocabulary, topic and word
// order with the source but is not a copy). The new documents follow the
// corpus in input order, one paragraph each. A positive is found when a
// `paragraph` span covers it; precision counts the reported spans in the
// planted documents that are positives (paragraph and passage spans; rule
// findings such as a copied sign-off are not repeat claims). The harness
// cannot see duplicates
// the corpus already contains, or edits other than word replacement
// (insertions, reordering, truncation).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "newsdedup/pipeline.h"
#include "newsdedup/reader.h"
#include "newsdedup/segment.h"
#include "newsdedup/tokenize.h"

namespace {

struct Source {
  std::string text;                     // the paragraph
  std::vector<newsdedup::Token> words;  // its words, offsets into text
};

// `source` with `count` of its words replaced by vocabulary words.
std::string Perturb(const Source& source, int count,
                    const std::vector<std::string>& vocabulary,
                    std::mt19937* rng) {
  std::vector<size_t> order(source.words.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), *rng);
  order.resize(std::min<size_t>(count, order.size()));
  std::sort(order.begin(), order.end());
  std::string out;
  size_t pos = 0;
  for (size_t i : order) {
    const newsdedup::Token& w = source.words[i];
    out.append(source.text, pos, w.begin - pos);
    out.append(vocabulary[(*rng)() % vocabulary.size()]);
    pos = w.end;
  }
  out.append(source.text, pos, std::string::npos);
  return out;
}

struct Setting {
  const char* name;
  int shingle;
  double threshold;
  int num_perm;
  int max_edit_words;
};

}  // namespace

int main(int argc, char** argv) {
  std::string path;
  if (argc > 1) {
    path = argv[1];
  } else {
    const char* env = std::getenv("NEWSDEDUP_DATA");
    path = std::string(env && *env ? env : "../shared/data") +
           "/bbc-2225.jsonl.zst";
  }
  const uint32_t seed =
      argc > 2 ? static_cast<uint32_t>(std::atoi(argv[2])) : 7;

  // The corpus, and its paragraphs of 20+ words.
  std::vector<newsdedup::Document> corpus;
  std::vector<Source> sources;
  std::vector<std::string> vocabulary;
  {
    auto reader = newsdedup::Reader::Open({path}, {}, nullptr);
    if (!reader.ok()) {
      std::fprintf(stderr, "%s\n",
                   std::string(reader.status().message()).c_str());
      return 1;
    }
    newsdedup::Document doc;
    while (true) {
      auto more = (*reader)->Next(&doc);
      if (!more.ok() || !*more) break;
      for (const newsdedup::ByteRange& p :
           newsdedup::SegmentParagraphs(doc.text, {})) {
        Source s;
        s.text = doc.text.substr(p.begin, p.end - p.begin);
        s.words = newsdedup::Tokenize(s.text);
        if (vocabulary.size() < 200000) {
          for (const auto& w : s.words) {
            vocabulary.push_back(s.text.substr(w.begin, w.end - w.begin));
          }
        }
        if (s.words.size() >= 20) sources.push_back(std::move(s));
      }
      corpus.push_back(doc);
    }
  }
  std::mt19937 rng(seed);
  std::shuffle(sources.begin(), sources.end(), rng);
  const size_t kPlanted = std::min<size_t>(400, sources.size());

  // Edit strengths: absolute word counts, then fractions of the words.
  struct Strength {
    const char* name;
    int words;        // > 0: this many words
    double fraction;  // else this share of the words
  };
  const Strength strengths[] = {{"1 word", 1, 0},
                                {"2 words", 2, 0},
                                {"10%", 0, 0.10},
                                {"20%", 0, 0.20},
                                {"30%", 0, 0.30}};
  constexpr int kStrengths = 5;
  std::vector<newsdedup::Document> planted;
  std::vector<int> strength_of;  // -1: hard negative
  for (size_t i = 0; i < kPlanted; ++i) {
    const Source& s = sources[i];
    for (int k = 0; k <= kStrengths; ++k) {
      int count;
      if (k == kStrengths) {
        count = static_cast<int>(s.words.size() * 0.6);
      } else if (strengths[k].words > 0) {
        count = strengths[k].words;
      } else {
        count = std::max(
            1, static_cast<int>(s.words.size() * strengths[k].fraction + 0.5));
      }
      newsdedup::Document d;
      d.id = "planted/" + std::to_string(i) + "/" + std::to_string(k);
      d.site = "planted.example";
      d.text = Perturb(s, count, vocabulary, &rng);
      planted.push_back(std::move(d));
      strength_of.push_back(k == kStrengths ? -1 : k);
    }
  }

  const Setting settings[] = {
      {"3-word shingles, t=0.5", 3, 0.5, 128, 0},
      {"3-word shingles, t=0.6", 3, 0.6, 128, 0},
      {"3-word shingles, t=0.7", 3, 0.7, 128, 0},
      {"3-word shingles, t=0.8", 3, 0.8, 128, 0},
      {"3-word shingles, t=0.7 + up to 2 edited words (default)", 3, 0.7, 128,
       2},
      {"the default with k=64", 3, 0.7, 64, 2},
      {"the default with k=256", 3, 0.7, 256, 2},
      {"4-word shingles, t=0.6", 4, 0.6, 128, 0},
      {"4-word shingles, t=0.7", 4, 0.7, 128, 0},
      {"5-word shingles, t=0.7", 5, 0.7, 128, 0},
      {"5-word shingles, t=0.8, k=128 (datasketch standard)", 5, 0.8, 128, 0},
  };
  std::printf(
      "corpus %s: %zu documents; %zu planted sources x 5 strengths + "
      "%zu hard negatives (60%% of words replaced); seed %u\n\n",
      path.c_str(), corpus.size(), kPlanted, kPlanted, seed);
  std::printf(
      "| setting | recall: 1 word | 2 words | 10%% | 20%% | 30%% | "
      "precision | hard negatives flagged | MB/s |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|\n");
  for (const Setting& setting : settings) {
    newsdedup::ScanOptions options;
    options.shingle_size = setting.shingle;
    options.threshold = setting.threshold;
    options.num_perm = setting.num_perm;
    options.max_edit_words = setting.max_edit_words;
    options.boilerplate_min_docs = 0;  // planted copies are not templates
    auto scanner = newsdedup::Scanner::Create(options);
    if (!scanner.ok()) {
      std::fprintf(stderr, "%s: %s\n", setting.name,
                   std::string(scanner.status().message()).c_str());
      continue;
    }
    const auto start = std::chrono::steady_clock::now();
    uint64_t bytes = 0;
    for (const auto& d : corpus) {
      bytes += d.text.size();
      (*scanner)->Add(d);
    }
    for (const auto& d : planted) {
      bytes += d.text.size();
      (*scanner)->Add(d);
    }
    (*scanner)->Finish();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    // Planted documents follow the corpus: ordinal - corpus.size() indexes
    // `planted`.
    std::vector<bool> found(planted.size(), false);
    uint64_t reported = 0, correct = 0;
    (*scanner)->ForEachSpan([&](const newsdedup::SpanRecord& span) {
      if (span.doc_ordinal < corpus.size()) return;
      const size_t k = span.doc_ordinal - corpus.size();
      // Rule findings (a "Reuter" sign-off in a copied paragraph) are not
      // repeat claims; precision is about repeats.
      if (span.kind != newsdedup::SpanKind::kParagraph &&
          span.kind != newsdedup::SpanKind::kSpan) {
        return;
      }
      ++reported;
      const bool covers =
          span.kind == newsdedup::SpanKind::kParagraph &&
          span.at.end - span.at.start >= planted[k].text.size() * 9 / 10;
      if (covers && strength_of[k] >= 0) {
        ++correct;
        found[k] = true;
      }
      if (covers && strength_of[k] < 0) found[k] = true;
    });
    int hits[kStrengths] = {0}, totals[kStrengths] = {0};
    int negatives_flagged = 0;
    for (size_t k = 0; k < planted.size(); ++k) {
      if (strength_of[k] < 0) {
        negatives_flagged += found[k];
      } else {
        ++totals[strength_of[k]];
        hits[strength_of[k]] += found[k];
      }
    }
    std::printf("| %s |", setting.name);
    for (int k = 0; k < kStrengths; ++k) {
      std::printf(" %.3f |", totals[k] ? double(hits[k]) / totals[k] : 0.0);
    }
    std::printf(" %.4f | %d / %zu | %.1f |\n",
                reported ? double(correct) / reported : 1.0, negatives_flagged,
                kPlanted, bytes / seconds / 1e6);
  }
  return 0;
}
