// Writes a large synthetic news corpus for scale tests, resampled and
// perturbed from the real corpora in ../shared/data (see bench/README.md,
// "Scale"):
//
//   ./build/newsdedup_scale_corpus --paragraphs 10000000 -o - |
//       zstd -T2 -3 -q -o /tmp/newsdedup-scale/10M.jsonl.zst
//   ./build/newsdedup_scale_corpus --paragraphs 1000000 -o /tmp/1M.jsonl.zst
//
// The output is JSONL, one document per line: {"id", "site", "title",
// "text"}, the text being --per-doc paragraphs separated by blank lines.
// Every paragraph is one of:
// - a fresh rewrite (the rest, about 91%): a source paragraph drawn at random
//   from the real corpora with each word replaced, with probability 0.6, by a
//   word drawn from the same corpus's words (frequent words are drawn more
//   often), so it repeats nothing;
// - an exact copy (5%) of an earlier fresh paragraph;
// - a near copy (3%) of an earlier fresh paragraph of 20+ words with one or
//   two words (not numbers) replaced;
// - a boilerplate line (1%) of the document's site: each of the 100 fake
//   sites has 300 fixed short lines, drawn with a skewed distribution so the
//   first lines repeat under many stories.
// The earlier paragraph of a copy comes half from the last 100,000 fresh
// paragraphs and half from a uniform sample (reservoir) of 1,000,000 fresh
// paragraphs over the whole output so far. A fresh paragraph is stored as
// (source paragraph, rewrite seed) and regenerated when copied, so memory is
// the source text plus 16 bytes per reservoir entry, whatever --paragraphs.
// Output is streamed. Deterministic for a seed and data folder.
//
// The generated text is derived from copyrighted corpora: write it to /tmp,
// never into the repository.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "newsdedup/document.h"
#include "newsdedup/output_file.h"
#include "newsdedup/reader.h"
#include "newsdedup/report.h"
#include "newsdedup/segment.h"

namespace {

using newsdedup::bench::Rng;

constexpr double kReplaceFresh = 0.6;
constexpr double kExactShare = 0.05;
constexpr double kNearShare = 0.03;
constexpr double kBoilerplateShare = 0.01;
constexpr int kSites = 100;
constexpr int kLinesPerSite = 300;
constexpr size_t kRecent = 100000;
constexpr size_t kReservoir = 1000000;
constexpr size_t kVocabularyPerCorpus = 2000000;
constexpr int kMaxWords = 120;  // longer source paragraphs are cut (see Load)
constexpr size_t kFlushBytes = size_t{4} << 20;

struct SourceParagraph {
  uint64_t offset;  // into Sources::text
  uint32_t size;
  uint16_t words;
  uint8_t corpus;
};

// A word of the vocabulary: offset << 8 | size.
using WordRef = uint64_t;

struct Sources {
  std::string text;  // every paragraph, whitespace collapsed, one after another
  std::vector<SourceParagraph> paragraphs;
  std::vector<uint32_t> long_paragraphs;         // indices with 20+ words
  std::vector<uint32_t> short_paragraphs;        // indices with 5-20 words
  std::vector<std::vector<WordRef>> vocabulary;  // per corpus
  uint64_t input_bytes = 0;
  uint64_t documents = 0;
};

bool IsSpace(char c) {
  return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' ||
         c == '\v';
}

bool HasDigit(std::string_view s) {
  for (char c : s) {
    if (c >= '0' && c <= '9') return true;
  }
  return false;
}

// Appends `p` to sources->text with runs of ASCII whitespace made one space,
// cut after kMaxWords words (at the last word ending a sentence after word
// 40 when there is one: the Reuters corpus runs many paragraphs together).
// Adds its words to the corpus's vocabulary sample (reservoir sampling).
void AddParagraph(std::string_view p, int corpus, Rng* rng, uint64_t* seen,
                  Sources* sources) {
  std::vector<std::pair<size_t, size_t>> words;  // [begin, end) in p
  size_t i = 0;
  while (i < p.size()) {
    while (i < p.size() && IsSpace(p[i])) ++i;
    if (i >= p.size()) break;
    const size_t begin = i;
    while (i < p.size() && !IsSpace(p[i])) ++i;
    words.push_back({begin, i});
  }
  if (words.empty()) return;
  if (words.size() > kMaxWords) {
    size_t cut = kMaxWords;
    for (size_t w = kMaxWords; w > 40; --w) {
      const char last = p[words[w - 1].second - 1];
      if (last == '.' || last == '?' || last == '!') {
        cut = w;
        break;
      }
    }
    words.resize(cut);
  }
  SourceParagraph sp;
  sp.offset = sources->text.size();
  sp.words = static_cast<uint16_t>(words.size());
  sp.corpus = static_cast<uint8_t>(corpus);
  std::vector<WordRef>& vocabulary = sources->vocabulary[corpus];
  for (size_t w = 0; w < words.size(); ++w) {
    if (w > 0) sources->text.push_back(' ');
    const std::string_view word =
        p.substr(words[w].first, words[w].second - words[w].first);
    const uint64_t at = sources->text.size();
    sources->text.append(word);
    if (word.size() > 30) continue;
    const WordRef ref = at << 8 | word.size();
    ++*seen;
    if (vocabulary.size() < kVocabularyPerCorpus) {
      vocabulary.push_back(ref);
    } else {
      const uint64_t j = rng->Next() % *seen;
      if (j < kVocabularyPerCorpus) vocabulary[j] = ref;
    }
  }
  sp.size = static_cast<uint32_t>(sources->text.size() - sp.offset);
  const uint32_t index = static_cast<uint32_t>(sources->paragraphs.size());
  if (sp.words >= 20) sources->long_paragraphs.push_back(index);
  if (sp.words >= 5 && sp.words <= 20)
    sources->short_paragraphs.push_back(index);
  sources->paragraphs.push_back(sp);
}

bool Load(const std::vector<std::string>& files, uint64_t seed,
          Sources* sources) {
  sources->vocabulary.resize(files.size());
  Rng rng(seed ^ 0x5ca1ab1eULL);
  for (size_t f = 0; f < files.size(); ++f) {
    auto reader = newsdedup::Reader::Open({files[f]}, {},
                                          [](const newsdedup::Malformed& m) {
                                            std::cerr << m.ToString() << "\n";
                                          });
    if (!reader.ok()) {
      std::cerr << reader.status().message() << "\n";
      return false;
    }
    uint64_t seen = 0;
    newsdedup::Document doc;
    while (true) {
      auto more = (*reader)->Next(&doc);
      if (!more.ok()) {
        std::cerr << more.status().message() << "\n";
        return false;
      }
      if (!*more) break;
      ++sources->documents;
      for (const newsdedup::ByteRange& r :
           newsdedup::SegmentParagraphs(doc.text, {})) {
        AddParagraph(
            std::string_view(doc.text).substr(r.begin, r.end - r.begin),
            static_cast<int>(f), &rng, &seen, sources);
      }
    }
    sources->input_bytes += (*reader)->bytes();
  }
  return !sources->paragraphs.empty();
}

// A fresh paragraph, regenerated on demand.
struct Fresh {
  uint32_t source;
  uint64_t seed;
};

class Generator {
 public:
  Generator(const Sources& sources, uint64_t seed)
      : s_(sources), rng_(seed), seed_(seed) {
    recent_.reserve(kRecent);
    reservoir_.reserve(kReservoir);
  }

  // Appends source paragraph `index` to *out with each word replaced with
  // probability `replace` (words drawn by `rng`); at most `max_words` words.
  void Rewrite(uint32_t index, Rng* rng, double replace, int max_words,
               std::string* out) const {
    const SourceParagraph& p = s_.paragraphs[index];
    const std::vector<WordRef>& vocabulary = s_.vocabulary[p.corpus];
    const uint64_t threshold = static_cast<uint64_t>(replace * 4294967296.0);
    std::string_view text(s_.text.data() + p.offset, p.size);
    int words = 0;
    size_t i = 0;
    while (i < text.size() && words < max_words) {
      size_t end = text.find(' ', i);
      if (end == std::string_view::npos) end = text.size();
      if (words > 0) out->push_back(' ');
      if ((rng->Next() >> 32) < threshold && !vocabulary.empty()) {
        const WordRef w = vocabulary[rng->Below(vocabulary.size())];
        out->append(s_.text.data() + (w >> 8), w & 0xff);
      } else {
        out->append(text.data() + i, end - i);
      }
      ++words;
      i = end + 1;
    }
  }

  void AppendFresh(const Fresh& f, std::string* out) const {
    Rng rng(f.seed);
    Rewrite(f.source, &rng, kReplaceFresh, kMaxWords, out);
  }

  // Line `line` of site `site`: a rewritten short paragraph.
  void AppendBoilerplate(int site, int line, std::string* out) const {
    Rng rng(seed_ ^ (uint64_t(site) * 1000003 + uint64_t(line)) *
                        0x9E3779B97F4A7C15ULL);
    const std::vector<uint32_t>& pool = s_.short_paragraphs;
    const uint32_t source = pool.empty() ? rng.Below(s_.paragraphs.size())
                                         : pool[rng.Below(pool.size())];
    Rewrite(source, &rng, kReplaceFresh, kMaxWords, out);
  }

  // One earlier fresh paragraph: half from the recent ones, half from the
  // reservoir. Requires at least one fresh paragraph.
  const Fresh& Earlier() {
    if (reservoir_.empty() || (rng_.Next() & 1)) {
      const size_t n = recent_.size();
      return recent_[rng_.Below(n)];
    }
    return reservoir_[rng_.Below(reservoir_.size())];
  }

  void Remember(const Fresh& f) {
    if (recent_.size() < kRecent) {
      recent_.push_back(f);
    } else {
      recent_[recent_next_] = f;
    }
    recent_next_ = (recent_next_ + 1) % kRecent;
    ++fresh_count_;
    if (reservoir_.size() < kReservoir) {
      reservoir_.push_back(f);
    } else {
      const uint64_t j = rng_.Next() % fresh_count_;
      if (j < kReservoir) reservoir_[j] = f;
    }
  }

  // Appends one paragraph of a document on `site` to *out.
  void AppendParagraph(int site, std::string* out) {
    const double u = rng_.Unit();
    if (!recent_.empty() && u < kExactShare) {
      AppendFresh(Earlier(), out);
      ++exact_;
      return;
    }
    if (!recent_.empty() && u < kExactShare + kNearShare) {
      // An earlier paragraph of 20+ words (a few tries), 1-2 words replaced.
      const Fresh* f = &Earlier();
      for (int t = 0; t < 8 && s_.paragraphs[f->source].words < 20; ++t) {
        f = &Earlier();
      }
      if (s_.paragraphs[f->source].words >= 20) {
        scratch_.clear();
        AppendFresh(*f, &scratch_);
        Perturb(&scratch_, 1 + rng_.Below(2), s_.paragraphs[f->source].corpus);
        out->append(scratch_);
        ++near_;
        return;
      }
    }
    if (u >= kExactShare + kNearShare &&
        u < kExactShare + kNearShare + kBoilerplateShare) {
      const double v = rng_.Unit();
      const int line = static_cast<int>(v * v * v * kLinesPerSite);
      AppendBoilerplate(site, line, out);
      ++boilerplate_;
      return;
    }
    Fresh f;
    f.source = rng_.Below(s_.paragraphs.size());
    f.seed = rng_.Next();
    AppendFresh(f, out);
    Remember(f);
    ++fresh_;
  }

  // A headline: up to 10 words of a rewritten source paragraph.
  void AppendTitle(std::string* out) {
    Rng rng(rng_.Next());
    Rewrite(rng.Below(s_.paragraphs.size()), &rng, kReplaceFresh, 10, out);
  }

  int Site() { return static_cast<int>(rng_.Below(kSites)); }

  uint64_t fresh() const { return fresh_; }
  uint64_t exact() const { return exact_; }
  uint64_t near() const { return near_; }
  uint64_t boilerplate() const { return boilerplate_; }

 private:
  // Replaces `count` distinct words without digits in *p by vocabulary words
  // that differ from them.
  void Perturb(std::string* p, int count, int corpus) {
    std::vector<std::pair<size_t, size_t>> words;
    size_t i = 0;
    while (i < p->size()) {
      size_t end = p->find(' ', i);
      if (end == std::string::npos) end = p->size();
      if (!HasDigit(std::string_view(*p).substr(i, end - i))) {
        words.push_back({i, end});
      }
      i = end + 1;
    }
    const std::vector<WordRef>& vocabulary = s_.vocabulary[corpus];
    if (words.empty() || vocabulary.empty()) return;
    std::vector<size_t> picked;
    for (int c = 0; c < count && picked.size() < words.size(); ++c) {
      size_t w = rng_.Below(words.size());
      while (std::find(picked.begin(), picked.end(), w) != picked.end()) {
        w = (w + 1) % words.size();
      }
      picked.push_back(w);
    }
    // Replace from the back so earlier offsets stay valid.
    std::sort(picked.rbegin(), picked.rend());
    for (size_t w : picked) {
      const auto [begin, end] = words[w];
      std::string_view old = std::string_view(*p).substr(begin, end - begin);
      std::string_view repl;
      for (int t = 0; t < 16; ++t) {
        const WordRef r = vocabulary[rng_.Below(vocabulary.size())];
        repl = std::string_view(s_.text.data() + (r >> 8), r & 0xff);
        if (repl != old && !HasDigit(repl)) break;
      }
      p->replace(begin, end - begin, repl);
    }
  }

  const Sources& s_;
  Rng rng_;
  uint64_t seed_;
  std::vector<Fresh> recent_;
  size_t recent_next_ = 0;
  std::vector<Fresh> reservoir_;
  uint64_t fresh_count_ = 0;
  std::string scratch_;
  uint64_t fresh_ = 0, exact_ = 0, near_ = 0, boilerplate_ = 0;
};

int Usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s --paragraphs N [--seed S] [--per-doc K] "
               "[--data DIR] [-o OUT]\n"
               "  writes N paragraphs as JSONL documents of K paragraphs "
               "(default 8) to OUT\n"
               "  (- or nothing: stdout; .zst/.gz names are compressed), "
               "resampled from\n"
               "  DIR/*.jsonl.zst (default $NEWSDEDUP_DATA, else "
               "../shared/data). Seed default 1.\n",
               argv0);
  return 2;
}

bool ParseUint(const char* s, uint64_t* out) {
  if (s == nullptr || *s == '\0') return false;
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0' || s[0] == '-') return false;
  *out = v;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t paragraphs = 0, seed = 1, per_doc = 8;
  bool have_paragraphs = false;
  std::string out_path = "-";
  std::string data_dir;
  if (const char* env = std::getenv("NEWSDEDUP_DATA")) data_dir = env;
  if (data_dir.empty()) data_dir = "../shared/data";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const char* value = i + 1 < argc ? argv[i + 1] : nullptr;
    if (arg == "-h" || arg == "--help") {
      Usage(argv[0]);
      return 0;
    } else if (arg == "--paragraphs" && ParseUint(value, &paragraphs)) {
      have_paragraphs = true;
      ++i;
    } else if (arg == "--seed" && ParseUint(value, &seed)) {
      ++i;
    } else if (arg == "--per-doc" && ParseUint(value, &per_doc) &&
               per_doc > 0) {
      ++i;
    } else if ((arg == "-o" || arg == "--output") && value != nullptr) {
      out_path = value;
      ++i;
    } else if (arg == "--data" && value != nullptr) {
      data_dir = value;
      ++i;
    } else {
      std::fprintf(stderr, "bad argument: %s\n", arg.c_str());
      return Usage(argv[0]);
    }
  }
  if (!have_paragraphs || paragraphs >= (uint64_t{1} << 32)) {
    return Usage(argv[0]);
  }

  const auto start = std::chrono::steady_clock::now();
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(data_dir, ec)) {
    const std::string name = entry.path().string();
    if (name.size() > 10 &&
        name.compare(name.size() - 10, 10, ".jsonl.zst") == 0) {
      files.push_back(name);
    }
  }
  if (ec || files.empty()) {
    std::fprintf(stderr, "no *.jsonl.zst in %s\n", data_dir.c_str());
    return 1;
  }
  std::sort(files.begin(), files.end());
  Sources sources;
  if (!Load(files, seed, &sources)) return 1;
  const double load_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  std::fprintf(stderr,
               "newsdedup_scale_corpus: %zu files, %llu documents, %zu source "
               "paragraphs (%.1f MB) loaded in %.1f s\n",
               files.size(), static_cast<unsigned long long>(sources.documents),
               sources.paragraphs.size(), sources.text.size() / 1e6, load_s);

  // Compressed on every core (the file is the same for any number).
  auto out = newsdedup::OutputFile::Open(
      out_path,
      static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  if (!out.ok()) {
    std::cerr << out.status().message() << "\n";
    return 1;
  }
  Generator gen(sources, seed);
  std::string buffer, text, title;
  buffer.reserve(kFlushBytes + (1 << 20));
  uint64_t written = 0, docs = 0, bytes = 0;
  while (written < paragraphs) {
    const int site = gen.Site();
    const uint64_t k = std::min(per_doc, paragraphs - written);
    text.clear();
    for (uint64_t j = 0; j < k; ++j) {
      if (j > 0) text.append("\n\n");
      gen.AppendParagraph(site, &text);
    }
    title.clear();
    gen.AppendTitle(&title);
    char id[48], site_name[32];
    std::snprintf(id, sizeof(id), "scale/%llu",
                  static_cast<unsigned long long>(docs));
    std::snprintf(site_name, sizeof(site_name), "site%02d.example", site);
    buffer.append("{\"id\": ");
    newsdedup::AppendJsonString(id, &buffer);
    buffer.append(", \"site\": ");
    newsdedup::AppendJsonString(site_name, &buffer);
    buffer.append(", \"title\": ");
    newsdedup::AppendJsonString(title, &buffer);
    buffer.append(", \"text\": ");
    newsdedup::AppendJsonString(text, &buffer);
    buffer.append("}\n");
    written += k;
    ++docs;
    if (buffer.size() >= kFlushBytes) {
      bytes += buffer.size();
      if (absl::Status s = (*out)->Write(buffer); !s.ok()) {
        std::cerr << s.message() << "\n";
        return 1;
      }
      buffer.clear();
    }
  }
  bytes += buffer.size();
  if (absl::Status s = (*out)->Write(buffer); !s.ok()) {
    std::cerr << s.message() << "\n";
    return 1;
  }
  if (absl::Status s = (*out)->Commit(); !s.ok()) {
    std::cerr << s.message() << "\n";
    return 1;
  }
  const double total_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  std::fprintf(
      stderr,
      "newsdedup_scale_corpus: %llu documents, %llu paragraphs (%llu fresh, "
      "%llu exact copies, %llu near copies, %llu boilerplate), %.1f MB in "
      "%.1f s\n",
      static_cast<unsigned long long>(docs),
      static_cast<unsigned long long>(written),
      static_cast<unsigned long long>(gen.fresh()),
      static_cast<unsigned long long>(gen.exact()),
      static_cast<unsigned long long>(gen.near()),
      static_cast<unsigned long long>(gen.boilerplate()), bytes / 1e6, total_s);
  return 0;
}
