#include "newsdedup/pipeline.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "newsdedup/shingle.h"
#include "newsdedup/tokenize.h"

namespace newsdedup {
namespace {

// A span with its location resolved to owned strings, for assertions.
struct Found {
  std::string doc;
  uint32_t start, end;
  MatchType match;
  double similarity;
  Scope scope;
  uint32_t cluster, count;
  std::string first_doc;
  uint32_t first_start, first_end;
};

// Options for the paragraph tests: planted copies repeat across many
// documents of a site, which would otherwise be learned as boilerplate.
ScanOptions ParagraphOptions() {
  ScanOptions options;
  options.boilerplate_min_docs = 0;
  return options;
}

std::vector<Found> Scan(const std::vector<Document>& docs,
                        ScanOptions options = ParagraphOptions()) {
  auto scanner = Scanner::Create(options);
  EXPECT_TRUE(scanner.ok()) << scanner.status();
  for (const Document& d : docs) (*scanner)->Add(d);
  EXPECT_TRUE((*scanner)->Finish().ok());
  std::vector<Found> out;
  (*scanner)->ForEachSpan([&](const SpanRecord& s) {
    EXPECT_EQ(s.kind, SpanKind::kParagraph);
    EXPECT_TRUE(s.has_first);
    out.push_back({std::string(s.at.doc), s.at.start, s.at.end, s.match,
                   s.similarity, s.scope, s.cluster, s.count,
                   std::string(s.first.doc), s.first.start, s.first.end});
  });
  return out;
}

std::string Report(const std::vector<Document>& docs, ScanOptions options) {
  auto scanner = Scanner::Create(options);
  EXPECT_TRUE(scanner.ok()) << scanner.status();
  for (const Document& d : docs) (*scanner)->Add(d);
  EXPECT_TRUE((*scanner)->Finish().ok());
  std::string out;
  (*scanner)->ForEachSpan(
      [&](const SpanRecord& s) { AppendSpanJson(s, &out); });
  return out;
}

Document Doc(std::string id, std::string site, std::string text) {
  Document d;
  d.id = std::move(id);
  d.site = std::move(site);
  d.text = std::move(text);
  return d;
}

// Random pseudo-words, so generated paragraphs share no phrases by chance.
class TextGenerator {
 public:
  explicit TextGenerator(uint32_t seed) : rng_(seed) {}
  std::string Word() {
    static const char* kSyllables[] = {"ka",  "lo",  "mi",  "ren", "tas", "vo",
                                       "nel", "pri", "du",  "sen", "ga",  "ter",
                                       "bu",  "fi",  "zor", "wen"};
    std::string w;
    const int n = 1 + static_cast<int>(rng_() % 3);
    for (int i = 0; i < n; ++i) w += kSyllables[rng_() % 16];
    return w;
  }
  std::vector<std::string> Words(int n) {
    std::vector<std::string> words;
    for (int i = 0; i < n; ++i) words.push_back(Word());
    return words;
  }
  std::mt19937& rng() { return rng_; }

 private:
  std::mt19937 rng_;
};

std::string Join(const std::vector<std::string>& words) {
  std::string s;
  for (const std::string& w : words) {
    if (!s.empty()) s += ' ';
    s += w;
  }
  return s + ".";
}

double ParagraphJaccard(std::string_view a, std::string_view b, int size) {
  std::vector<uint64_t> sa, sb;
  ShingleHashes(Tokenize(a), size, &sa);
  ShingleHashes(Tokenize(b), size, &sb);
  SortedUnique(&sa);
  SortedUnique(&sb);
  return ExactJaccard(sa, sb);
}

TEST(PipelineTest, ExactRepeatsAcrossAndWithinDocuments) {
  const std::string p1 =
      "The council voted on Tuesday to close the old ferry pier for repairs.";
  const std::string p2 =
      "Passengers should allow an extra ten minutes for the walk to the quay.";
  const std::string p3 =
      "Tickets for the new night train go on sale next month.";
  std::vector<Document> docs = {
      Doc("a", "wire", p1 + "\n\n" + p2),
      Doc("b", "wire", p3 + "\n\n" + p1),          // same site
      Doc("c", "paper", "  " + p2 + "\n\n" + p2),  // other site, twice
  };
  std::vector<Found> found = Scan(docs);
  ASSERT_EQ(found.size(), 3u);
  // Input order: document, then offset.
  EXPECT_EQ(found[0].doc, "b");
  EXPECT_EQ(found[0].start, p3.size() + 2);
  EXPECT_EQ(found[0].end, p3.size() + 2 + p1.size());
  EXPECT_EQ(found[0].first_doc, "a");
  EXPECT_EQ(found[0].first_start, 0u);
  EXPECT_EQ(found[0].first_end, p1.size());
  EXPECT_EQ(found[0].scope, Scope::kSameSite);
  EXPECT_EQ(found[0].match, MatchType::kExact);
  EXPECT_EQ(found[0].similarity, 1.0);
  EXPECT_EQ(found[0].count, 2u);

  EXPECT_EQ(found[1].doc, "c");
  EXPECT_EQ(found[1].start, 2u);  // leading spaces trimmed
  EXPECT_EQ(found[1].scope, Scope::kCrossSite);
  EXPECT_EQ(found[1].first_doc, "a");
  EXPECT_EQ(found[1].first_start, p1.size() + 2);
  EXPECT_EQ(found[2].doc, "c");
  EXPECT_EQ(found[2].first_doc, "a");  // the kept copy is the earliest
  EXPECT_EQ(found[2].count, 3u);
  EXPECT_EQ(found[1].cluster, found[2].cluster);
  EXPECT_NE(found[0].cluster, found[1].cluster);
}

TEST(PipelineTest, SameDocumentScope) {
  const std::string p =
      "A scraper printed this paragraph twice in one page body.";
  std::vector<Found> found = Scan({Doc("x", "s", p + "\n\n" + p)});
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].scope, Scope::kSameDocument);
  EXPECT_EQ(found[0].start, p.size() + 2);
}

TEST(PipelineTest, NormalizedCopiesAreExact) {
  // Case, punctuation, spacing and Unicode compatibility forms differ.
  std::vector<Document> docs = {
      Doc("a", "",
          "Die Stadtwerke erh\xC3\xB6hen die Preise f\xC3\xBCr "
          "Fernw\xC3\xA4rme um vier Prozent."),
      Doc("b", "",
          "DIE STADTWERKE ERH\xC3\x96HEN  die Preise -- f\xC3\xBCr "
          "\xE2\x80\x9C"
          "Fernw\xC3\xA4rme\xE2\x80\x9D um vier "
          "Prozent!")};
  std::vector<Found> found = Scan(docs);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].match, MatchType::kExact);
  EXPECT_EQ(found[0].end, docs[1].text.size());
}

TEST(PipelineTest, NearDuplicateWithOneWordChanged) {
  TextGenerator gen(7);
  std::vector<std::string> words = gen.Words(30);
  const std::string original = Join(words);
  words[15] = "changedword";
  const std::string edited = Join(words);
  const std::string other = Join(gen.Words(30));
  std::vector<Found> found =
      Scan({Doc("a", "s1", original), Doc("b", "s2", other + "\n\n" + edited)});
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].doc, "b");
  EXPECT_EQ(found[0].match, MatchType::kNear);
  EXPECT_EQ(found[0].start, other.size() + 2);
  EXPECT_EQ(found[0].end, other.size() + 2 + edited.size());
  // The reported similarity is the exact Jaccard of the two shingle sets.
  const double j = ParagraphJaccard(original, edited, 3);
  EXPECT_NEAR(found[0].similarity, j, 1e-6);
  EXPECT_GE(found[0].similarity, 0.7);
  EXPECT_LT(found[0].similarity, 1.0);
}

TEST(PipelineTest, UnrelatedParagraphsAreNotFlagged) {
  TextGenerator gen(11);
  std::vector<Document> docs;
  for (int i = 0; i < 200; ++i) {
    docs.push_back(Doc("d" + std::to_string(i), "s",
                       Join(gen.Words(40)) + "\n\n" + Join(gen.Words(25))));
  }
  EXPECT_TRUE(Scan(docs).empty());
}

TEST(PipelineTest, ShortParagraphsMatchExactlyOnly) {
  // Seven words: below min_tokens (8), so a one-word edit is not a match but
  // an exact copy is.
  std::vector<Document> docs = {
      Doc("a", "", "Tickets go on sale at the harbour office"),
      Doc("b", "", "Tickets go on sale at the station office"),
      Doc("c", "", "Tickets go on sale at the harbour office"),
      // Below min_exact_tokens (3): never reported.
      Doc("d", "", "Ferry delayed"), Doc("e", "", "Ferry delayed")};
  std::vector<Found> found = Scan(docs);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].doc, "c");
  EXPECT_EQ(found[0].first_doc, "a");
}

TEST(PipelineTest, ClustersDoNotChain) {
  // B is near A, C is near B but not near A: C must not be reported as a
  // copy of A, and nothing is reported with similarity below the threshold.
  TextGenerator gen(3);
  std::vector<std::string> a = gen.Words(40);
  std::vector<std::string> b = a, c;
  for (int i : {5, 30}) b[i] = gen.Word() + "x";
  c = b;
  for (int i : {12, 22}) c[i] = gen.Word() + "y";
  ScanOptions options = ParagraphOptions();
  options.threshold = 0.6;
  ASSERT_GE(ParagraphJaccard(Join(a), Join(b), 3), 0.6);
  ASSERT_GE(ParagraphJaccard(Join(b), Join(c), 3), 0.6);
  ASSERT_LT(ParagraphJaccard(Join(a), Join(c), 3), 0.6);
  std::vector<Found> found = Scan(
      {Doc("a", "", Join(a)), Doc("b", "", Join(b)), Doc("c", "", Join(c))},
      options);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].doc, "b");
  EXPECT_EQ(found[0].first_doc, "a");
}

// A planted copy: which document holds it and how long its original is.
struct Planted {
  std::string doc;
  uint32_t start;
  int original_words;
  bool edited;
};

// A corpus with planted copies: originals, exact copies and copies with one
// inserted word.
std::vector<Document> PlantedCorpus(uint32_t seed, int docs_count,
                                    std::vector<std::string>* originals,
                                    std::vector<Planted>* planted = nullptr) {
  TextGenerator gen(seed);
  std::vector<Document> docs;
  std::vector<int> lengths;
  for (int d = 0; d < docs_count; ++d) {
    std::string text;
    const std::string id = "doc" + std::to_string(d);
    const int paragraphs = 1 + static_cast<int>(gen.rng()() % 5);
    for (int p = 0; p < paragraphs; ++p) {
      if (!text.empty()) text += "\n\n";
      const uint32_t roll = gen.rng()() % 10;
      if (roll < 3 && !originals->empty()) {
        const size_t which = gen.rng()() % originals->size();
        std::string copy = (*originals)[which];
        if (roll == 0) {
          const size_t space = copy.find(' ', copy.size() / 2);
          copy.insert(space, " inserted");
        }
        if (planted != nullptr) {
          planted->push_back({id, static_cast<uint32_t>(text.size()),
                              lengths[which], roll == 0});
        }
        text += copy;
      } else {
        const int n = 8 + static_cast<int>(gen.rng()() % 60);
        std::string para = Join(gen.Words(n));
        originals->push_back(para);
        lengths.push_back(n);
        text += para;
      }
    }
    docs.push_back(Doc(id, "site" + std::to_string(gen.rng()() % 4), text));
  }
  return docs;
}

TEST(PipelineTest, SameReportForAnyThreadCount) {
  std::vector<std::string> originals;
  std::vector<Document> docs = PlantedCorpus(5, 1500, &originals);
  ScanOptions options;
  const std::string one = Report(docs, options);
  ASSERT_FALSE(one.empty());
  for (int threads : {2, 3, 8}) {
    options.threads = threads;
    EXPECT_EQ(Report(docs, options), one) << threads << " threads";
  }
}

// Add(Document*) hands back matched documents, emptied but with their
// memory, for the next record to be read into; the report is the same.
// Only small ones come back: a long record's memory is not kept in the
// buffers it would otherwise pass through. (Enough documents that most
// are added after the first batches, several of them in flight, are
// matched.)
TEST(PipelineTest, DocumentsHandedBackAreEmptyAndReportIsTheSame) {
  std::vector<std::string> originals;
  std::vector<Document> docs = PlantedCorpus(5, 4000, &originals);
  for (size_t i = 0; i < docs.size(); i += 37) {
    docs[i].text += "\n\n" + std::string(200 << 10, 'x');
  }
  ScanOptions options;
  for (int threads : {1, 3}) {
    options.threads = threads;
    auto scanner = Scanner::Create(options);
    ASSERT_TRUE(scanner.ok()) << scanner.status();
    Document doc;
    size_t reused = 0;
    for (const Document& d : docs) {
      doc = d;  // into the memory handed back
      (*scanner)->Add(&doc);
      EXPECT_TRUE(doc.id.empty() && doc.site.empty() && doc.title.empty() &&
                  doc.text.empty() && doc.source.empty() && doc.raw.empty());
      EXPECT_EQ(doc.line, 0u);
      EXPECT_EQ(doc.title_offset, -1);
      EXPECT_LE(doc.text.capacity(), size_t{64} << 10);
      if (doc.text.capacity() > 100) ++reused;
    }
    EXPECT_GT(reused, docs.size() / 2) << threads << " threads";
    ASSERT_TRUE((*scanner)->Finish().ok());
    std::string out;
    (*scanner)->ForEachSpan(
        [&](const SpanRecord& s) { AppendSpanJson(s, &out); });
    EXPECT_EQ(out, Report(docs, options)) << threads << " threads";
  }
}

// Spans() lists what ForEachSpan calls back with, in the same order, on
// any number of threads (more units than one thread's share).
TEST(PipelineTest, SpansListsEverySpanInOrder) {
  std::vector<std::string> originals;
  const std::vector<Document> docs = PlantedCorpus(7, 6000, &originals);
  const std::string expected = Report(docs, ScanOptions());
  ASSERT_FALSE(expected.empty());
  for (int threads : {1, 2, 5}) {
    ScanOptions options;
    options.threads = threads;
    auto scanner = Scanner::Create(options);
    ASSERT_TRUE(scanner.ok()) << scanner.status();
    for (const Document& d : docs) (*scanner)->Add(d);
    ASSERT_TRUE((*scanner)->Finish().ok());
    std::string listed;
    for (const SpanRecord& span : (*scanner)->Spans()) {
      AppendSpanJson(span, &listed);
    }
    EXPECT_EQ(listed, expected) << threads << " threads";
    EXPECT_GT((*scanner)->stats().paragraphs, size_t{1} << 14);
  }
}

// A worker task runs on the workers only, between documents, and the
// report does not depend on it; once cleared it is not called again.
TEST(PipelineTest, WorkerTaskRunsOnWorkersBetweenDocuments) {
  std::vector<std::string> originals;
  const std::vector<Document> docs = PlantedCorpus(11, 3000, &originals);
  const std::string expected = Report(docs, ScanOptions());
  ScanOptions options;
  options.threads = 3;
  auto scanner = Scanner::Create(options);
  ASSERT_TRUE(scanner.ok()) << scanner.status();
  const std::thread::id caller = std::this_thread::get_id();
  std::atomic<int> calls{0}, on_caller{0};
  (*scanner)->SetWorkerTask([&] {
    ++calls;
    if (std::this_thread::get_id() == caller) ++on_caller;
  });
  for (size_t i = 0; i < docs.size(); ++i) {
    (*scanner)->Add(docs[i]);
    if (i == docs.size() / 2) {
      // The workers started with the first batch (a loaded machine may not
      // have run them yet: waited for, up to a minute).
      for (int wait = 0; wait < 6000 && calls.load() == 0; ++wait) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      (*scanner)->SetWorkerTask(nullptr);
      const int at_clear = calls.load();
      EXPECT_GT(at_clear, 0);
      for (size_t j = i + 1; j < docs.size(); ++j) (*scanner)->Add(docs[j]);
      (*scanner)->Flush();
      EXPECT_EQ(calls.load(), at_clear);
      break;
    }
  }
  EXPECT_EQ(on_caller.load(), 0);
  ASSERT_TRUE((*scanner)->Finish().ok());
  std::string listed;
  for (const SpanRecord& span : (*scanner)->Spans()) {
    AppendSpanJson(span, &listed);
  }
  EXPECT_EQ(listed, expected);
}

// Each sketching thread matches with rules of its own, the workers' built
// as they start from the first thread's: a rule read from a file is found
// in every document, whichever thread sketched it.
TEST(PipelineTest, RulesFromAFileApplyOnEveryThread) {
  const std::string rules_path = ::testing::TempDir() +
                                 "newsdedup_pipeline_test_rules_" +
                                 std::to_string(getpid()) + ".txt";
  struct Remove {
    std::string path;
    ~Remove() { std::remove(path.c_str()); }
  } remove{rules_path};
  {
    std::ofstream out(rules_path);
    out << "line masthead (?i)the harbour gazette\\s*$\n";
    ASSERT_TRUE(out.good());
  }
  TextGenerator gen(29);
  std::vector<Document> docs;
  for (int i = 0; i < 1200; ++i) {
    docs.push_back(Doc("d" + std::to_string(i), "",
                       "The Harbour Gazette\n\n" + Join(gen.Words(40)) +
                           "\n\n" + Join(gen.Words(50))));
  }
  ScanOptions options;
  options.rules_file = rules_path;
  std::string one;
  for (int threads : {1, 3}) {
    options.threads = threads;
    auto scanner = Scanner::Create(options);
    ASSERT_TRUE(scanner.ok()) << scanner.status();
    // The calling thread, as it sketches its first document, waits for a
    // worker to sketch one (they build their patterns first; a loaded
    // machine may not run them at once: up to a minute).
    std::atomic<int> by_workers{0};
    bool waited = false;
    (*scanner)->SetShardedTokenSink(
        [&](int shard, uint32_t, absl::Span<const Token>) {
          if (shard != 0) {
            ++by_workers;
          } else if (threads > 1 && !waited) {
            waited = true;
            for (int wait = 0; wait < 6000 && by_workers.load() == 0; ++wait) {
              std::this_thread::sleep_for(std::chrono::milliseconds(10));
            }
          }
        });
    for (const Document& d : docs) (*scanner)->Add(d);
    ASSERT_TRUE((*scanner)->Finish().ok());
    if (threads > 1) {
      EXPECT_GT(by_workers.load(), 0);
    }
    std::set<std::string> flagged;
    std::string report;
    (*scanner)->ForEachSpan([&](const SpanRecord& s) {
      AppendSpanJson(s, &report);
      if (s.kind == SpanKind::kBoilerplate && s.match == MatchType::kPattern &&
          s.at.start == 0 && s.at.end == 19) {
        flagged.insert(std::string(s.at.doc));
      }
    });
    EXPECT_EQ(flagged.size(), docs.size()) << threads << " threads";
    if (threads == 1) {
      one = report;
    } else {
      EXPECT_TRUE(report == one);  // (too long to print)
    }
  }
}

// A scanner destroyed with a batch still being sketched waits for its
// workers and stops them.
TEST(PipelineTest, DestroyedWhileSketching) {
  std::vector<std::string> originals;
  const std::vector<Document> docs = PlantedCorpus(5, 1500, &originals);
  for (int threads : {2, 3, 5}) {
    for (size_t stop : {size_t{1}, size_t{300}, size_t{700}}) {
      ScanOptions options;
      options.threads = threads;
      auto scanner = Scanner::Create(options);
      ASSERT_TRUE(scanner.ok()) << scanner.status();
      for (size_t i = 0; i < stop; ++i) (*scanner)->Add(docs[i]);
    }
  }
}

TEST(PipelineTest, SameReportForAnyMemoryLimit) {
  std::vector<std::string> originals;
  std::vector<Document> docs = PlantedCorpus(11, 4000, &originals);
  ScanOptions options;
  auto scanner = Scanner::Create(options);
  ASSERT_TRUE(scanner.ok());
  for (const Document& d : docs) (*scanner)->Add(d);
  ASSERT_TRUE((*scanner)->Finish().ok());
  EXPECT_EQ((*scanner)->stats().spilled_bytes, 0u);
  const std::string in_memory = Report(docs, options);
  ASSERT_FALSE(in_memory.empty());
  // 1 MiB: band records and fingerprints go to disk in several runs.
  options.memory_limit = uint64_t{1} << 20;
  for (int threads : {1, 2}) {
    options.threads = threads;
    auto small = Scanner::Create(options);
    ASSERT_TRUE(small.ok());
    for (const Document& d : docs) (*small)->Add(d);
    ASSERT_TRUE((*small)->Finish().ok());
    EXPECT_GT((*small)->stats().spilled_bytes, uint64_t{1} << 20);
    EXPECT_EQ(Report(docs, options), in_memory) << threads << " threads";
  }
  // A folder that cannot take the runs: Finish says where.
  options.temp_dir = "/nonexistent-newsdedup-folder";
  auto failing = Scanner::Create(options);
  ASSERT_TRUE(failing.ok());
  for (const Document& d : docs) (*failing)->Add(d);
  const absl::Status s = (*failing)->Finish();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("/nonexistent-newsdedup-folder/"),
            std::string::npos)
      << s;
}

TEST(PipelineTest, ReportedSpansAreConsistent) {
  std::vector<std::string> originals;
  std::vector<Document> docs = PlantedCorpus(9, 800, &originals);
  std::map<std::string, const Document*> by_id;
  std::map<std::string, size_t> order;
  for (size_t i = 0; i < docs.size(); ++i) {
    by_id[docs[i].id] = &docs[i];
    order[docs[i].id] = i;
  }
  ScanOptions options = ParagraphOptions();
  std::vector<Found> found = Scan(docs, options);
  ASSERT_GT(found.size(), 100u);
  std::map<uint32_t, uint32_t> cluster_members;
  for (const Found& f : found) ++cluster_members[f.cluster];
  for (const Found& f : found) {
    const std::string& text = by_id.at(f.doc)->text;
    const std::string& first_text = by_id.at(f.first_doc)->text;
    ASSERT_LT(f.start, f.end);
    ASSERT_LE(f.end, text.size());
    const std::string_view span(text.data() + f.start, f.end - f.start);
    const std::string_view first(first_text.data() + f.first_start,
                                 f.first_end - f.first_start);
    // The first occurrence comes earlier in input order.
    EXPECT_TRUE(order[f.first_doc] < order[f.doc] ||
                (f.first_doc == f.doc && f.first_end <= f.start));
    // Reported similarity is the exact Jaccard, at least the threshold.
    const double j = ParagraphJaccard(span, first, options.shingle_size);
    EXPECT_NEAR(f.similarity, j, 1e-4);
    EXPECT_GE(j, options.threshold);
    if (f.match == MatchType::kExact) {
      EXPECT_EQ(SequenceHash(Tokenize(span)), SequenceHash(Tokenize(first)));
    }
    // count = the kept copy plus every reported member.
    EXPECT_EQ(f.count, cluster_members[f.cluster] + 1);
  }
}

TEST(PipelineTest, RecallOnPlantedCopies) {
  std::vector<std::string> originals;
  std::vector<Planted> planted;
  std::vector<Document> docs = PlantedCorpus(21, 1000, &originals, &planted);
  std::set<std::pair<std::string, uint32_t>> reported;
  for (const Found& f : Scan(docs)) reported.insert({f.doc, f.start});
  // Every exact copy is found; copies of 20+ word paragraphs with one
  // inserted word are found at least 95% of the time (3-word shingles keep
  // Jaccard >= 0.8 there, where P(candidate) > 0.99).
  int exact = 0, exact_found = 0, edited = 0, edited_found = 0;
  for (const Planted& p : planted) {
    const bool hit = reported.count({p.doc, p.start}) > 0;
    if (!p.edited) {
      ++exact;
      exact_found += hit;
    } else if (p.original_words >= 20) {
      ++edited;
      edited_found += hit;
    }
  }
  ASSERT_GT(exact, 100);
  ASSERT_GT(edited, 50);
  EXPECT_EQ(exact_found, exact);
  EXPECT_GE(edited_found, edited * 95 / 100) << edited_found << "/" << edited;
  // Nothing is reported that was not planted.
  EXPECT_LE(reported.size(), planted.size());
}

// Every reported span, with kind, for the news-structure tests.
struct AnySpan {
  std::string doc, field;
  uint32_t start, end;
  SpanKind kind;
  MatchType match;
  Scope scope;
  bool has_first;
  std::string first_doc, first_field;
  uint32_t first_start, first_end;
  uint32_t count;
};

std::vector<AnySpan> ScanAll(const std::vector<Document>& docs,
                             ScanOptions options = {}) {
  auto scanner = Scanner::Create(options);
  EXPECT_TRUE(scanner.ok()) << scanner.status();
  for (const Document& d : docs) (*scanner)->Add(d);
  EXPECT_TRUE((*scanner)->Finish().ok());
  std::vector<AnySpan> out;
  (*scanner)->ForEachSpan([&](const SpanRecord& s) {
    out.push_back({std::string(s.at.doc), std::string(s.at.field), s.at.start,
                   s.at.end, s.kind, s.match, s.scope, s.has_first,
                   std::string(s.first.doc), std::string(s.first.field),
                   s.first.start, s.first.end, s.count});
  });
  return out;
}

Document TitledDoc(std::string id, std::string site, std::string title,
                   std::string text) {
  Document d = Doc(std::move(id), std::move(site), std::move(text));
  d.title = std::move(title);
  return d;
}

TEST(PipelineTest, HeadlineRepeatedInBodyOfJsonRecord) {
  const std::string title = "Harbour council closes the old ferry pier";
  const std::string body =
      title +
      "\n\nThe council voted on Tuesday to close the pier for repairs "
      "after inspectors found rotten piles.";
  std::vector<AnySpan> found = ScanAll({TitledDoc("a", "s", title, body)});
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].kind, SpanKind::kHeadline);
  EXPECT_EQ(found[0].field, "text");
  EXPECT_EQ(found[0].start, 0u);
  EXPECT_EQ(found[0].end, title.size());
  EXPECT_EQ(found[0].scope, Scope::kSameDocument);
  EXPECT_EQ(found[0].first_field, "title");
  EXPECT_EQ(found[0].first_end, title.size());
}

TEST(PipelineTest, HeadlineAtTheTopOfTheFirstParagraph) {
  // The scraper ran the headline into the first paragraph: only the
  // headline's words are flagged, the body stays.
  const std::string title =
      "Night train returns between Granville and the capital";
  const std::string body =
      title +
      " GRANVILLE - A night train will run again from March, the rail "
      "operator said on Wednesday.";
  std::vector<AnySpan> found = ScanAll({TitledDoc("a", "s", title, body)});
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].kind, SpanKind::kHeadline);
  EXPECT_EQ(found[0].start, 0u);
  EXPECT_EQ(found[0].end, title.size());
}

TEST(PipelineTest, HeadlinesAcrossDocumentsDespiteDecorations) {
  std::vector<Document> docs = {
      TitledDoc("a", "wire", "Oil prices fall as stocks build up in Asia",
                "First story body with enough words to be a paragraph here."),
      TitledDoc("b", "wire",
                "UPDATE 2-Oil prices fall as stocks build up in Asia",
                "Second story body, different words in a different order now."),
      TitledDoc(
          "c", "paper", "Oil prices fall as stocks build up in Asia - Reuters",
          "Third story body that shares nothing with the first two bodies."),
      // One word changed: a near repeat.
      TitledDoc(
          "d", "paper", "Oil prices fall as stocks build up in Europe",
          "Fourth story body, again with its own words and its own facts."),
      // Too different.
      TitledDoc(
          "e", "paper", "Oil prices rise as stocks shrink in Europe",
          "Fifth story body about something else entirely, on the markets."),
  };
  std::vector<AnySpan> found = ScanAll(docs);
  ASSERT_EQ(found.size(), 3u);
  for (const AnySpan& f : found) {
    EXPECT_EQ(f.kind, SpanKind::kHeadline);
    EXPECT_EQ(f.field, "title");
    EXPECT_EQ(f.first_doc, "a");
  }
  EXPECT_EQ(found[0].doc, "b");
  EXPECT_EQ(found[0].scope, Scope::kSameSite);
  EXPECT_EQ(found[0].match, MatchType::kExact);
  EXPECT_EQ(found[1].doc, "c");
  EXPECT_EQ(found[1].scope, Scope::kCrossSite);
  EXPECT_EQ(found[2].doc, "d");
  EXPECT_EQ(found[2].match, MatchType::kNear);
  EXPECT_EQ(found[2].count, 4u);
}

TEST(PipelineTest, LearnedSiteSuffixIsStripped) {
  // " | Coast Daily" ends three headlines of one site: a decoration.
  std::vector<Document> docs;
  for (const char* t : {"Ferry pier closes for repairs | Coast Daily",
                        "Fishing quay gets new cranes | Coast Daily",
                        "Storm damages harbour wall | Coast Daily"}) {
    docs.push_back(TitledDoc(std::string("cd-") + t, "coastdaily", t,
                             std::string("Body of ") + t +
                                 " with many more words than the title has."));
  }
  docs.push_back(TitledDoc("other", "elsewhere", "Storm damages harbour wall",
                           "A different body text about the storm damage and "
                           "the wall that fell into the sea."));
  std::vector<AnySpan> found = ScanAll(docs);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].doc, "other");
  EXPECT_EQ(found[0].kind, SpanKind::kHeadline);
  EXPECT_EQ(found[0].first_doc, "cd-Storm damages harbour wall | Coast Daily");
}

TEST(PipelineTest, SiteBoilerplateVersusSyndication) {
  TextGenerator gen(17);
  const std::string footer =
      "Coast Daily is published by the Harbour Press Group. All stories are "
      "checked by our editors before publication and corrected when wrong.";
  const std::string wire = Join(gen.Words(30));
  std::vector<Document> docs;
  // Five different stories on one site share the footer: boilerplate.
  for (int i = 0; i < 5; ++i) {
    docs.push_back(Doc("coast" + std::to_string(i), "coastdaily",
                       Join(gen.Words(35)) + "\n\n" + footer));
  }
  // The same wire paragraph on five different sites: syndication.
  for (int i = 0; i < 5; ++i) {
    docs.push_back(Doc("site" + std::to_string(i), "site" + std::to_string(i),
                       Join(gen.Words(35)) + "\n\n" + wire));
  }
  std::vector<AnySpan> found = ScanAll(docs);
  int boilerplate = 0, syndicated = 0;
  for (const AnySpan& f : found) {
    if (f.doc.rfind("coast", 0) == 0) {
      EXPECT_EQ(f.kind, SpanKind::kBoilerplate) << f.doc;
      EXPECT_FALSE(f.has_first);
      EXPECT_EQ(f.count, 5u);
      ++boilerplate;
    } else {
      EXPECT_EQ(f.kind, SpanKind::kParagraph) << f.doc;
      EXPECT_TRUE(f.has_first);
      EXPECT_EQ(f.first_doc, "site0");
      ++syndicated;
    }
  }
  EXPECT_EQ(boilerplate, 5);  // every copy, the first included
  EXPECT_EQ(syndicated, 4);   // the first copy is kept
}

TEST(PipelineTest, RefiledStoryIsNotBoilerplate) {
  // One story filed five times on one site: repeats, not boilerplate.
  TextGenerator gen(23);
  const std::string lead = Join(gen.Words(40));
  const std::string second = Join(gen.Words(30));
  std::vector<Document> docs;
  for (int i = 0; i < 5; ++i) {
    docs.push_back(Doc("filing" + std::to_string(i), "wire",
                       lead + "\n\n" + second + "\n\n" + Join(gen.Words(12))));
  }
  std::vector<AnySpan> found = ScanAll(docs);
  ASSERT_EQ(found.size(), 8u);
  for (const AnySpan& f : found) {
    EXPECT_EQ(f.kind, SpanKind::kParagraph);
    EXPECT_EQ(f.first_doc, "filing0");
  }
}

TEST(PipelineTest, SharedTemplateDoesNotJoinDifferentArticles) {
  // Many articles of one site carry the same long template block; their
  // own paragraphs must not be reported as repeats of each other.
  TextGenerator gen(29);
  const std::string nav = Join(gen.Words(60));
  std::vector<Document> docs;
  for (int i = 0; i < 12; ++i) {
    docs.push_back(Doc("page" + std::to_string(i), "templated",
                       nav + "\n\n" + Join(gen.Words(45)) + "\n\n" +
                           Join(gen.Words(25)) + "\n\n" + nav));
  }
  std::vector<AnySpan> found = ScanAll(docs);
  ASSERT_EQ(found.size(), 24u);  // both template copies in every page
  for (const AnySpan& f : found) {
    EXPECT_EQ(f.kind, SpanKind::kBoilerplate);
    const std::string& text = docs[std::stoi(f.doc.substr(4))].text;
    EXPECT_EQ(text.substr(f.start, f.end - f.start), nav);
  }
}

TEST(PipelineTest, StructureCanBeTurnedOff) {
  const std::string title = "Harbour council closes the old ferry pier";
  Document d = TitledDoc("a", "s", title,
                         title + "\n\nREAD MORE: Ferry moves to the quay.");
  ScanOptions options;
  options.news_structure = false;
  EXPECT_TRUE(ScanAll({d}, options).empty());
  EXPECT_EQ(ScanAll({d}).size(), 2u);
}

TEST(PipelineTest, RecordsWithoutSiteShareNoBoilerplate) {
  // Six different stories without a site carry the same wire paragraph:
  // syndication (the first copy kept), not boilerplate of a pseudo-site.
  TextGenerator gen(31);
  const std::string wire = Join(gen.Words(30));
  std::vector<Document> docs;
  for (int i = 0; i < 6; ++i) {
    docs.push_back(
        Doc("n" + std::to_string(i), "", Join(gen.Words(35)) + "\n\n" + wire));
  }
  std::vector<AnySpan> found = ScanAll(docs);
  ASSERT_EQ(found.size(), 5u);
  for (const AnySpan& f : found) {
    EXPECT_EQ(f.kind, SpanKind::kParagraph);
    EXPECT_EQ(f.first_doc, "n0");
  }
}

TEST(PipelineTest, TextFileHeadlineIsNeverItsOwnRepeat) {
  // The first line of a text file is its headline; a headline split by a
  // double space or led by an ideographic space must not repeat itself.
  for (const std::string& title :
       {std::string("Breaking news.  Oil prices fall sharply today"),
        std::string("\xE3\x80\x80Oil prices fall sharply on supply data")}) {
    Document d = Doc("f.txt", "",
                     title +
                         "\n\nThe council voted on Tuesday "
                         "to close the pier for repairs.");
    d.title = title;
    d.title_offset = 0;
    EXPECT_TRUE(ScanAll({d}).empty()) << title;
  }
}

TEST(PipelineTest, TwoEditedWordsInAShortParagraph) {
  // 22 words, 2 replaced: Jaccard of 3-word shingles is below 0.7, but two
  // edited words are a re-filing. Changed numbers are not; nor are edits of
  // a sentence under 20 words.
  const std::string base =
      "The harbour council voted on Tuesday to close the old ferry pier for "
      "repairs after inspectors found rotten wooden piles below the waterline "
      "near the quay";
  const std::string edited =
      "The harbour council voted on Tuesday to close the ageing ferry pier for "
      "repairs after inspectors found decayed wooden piles below the waterline "
      "near the quay";
  ASSERT_LT(ParagraphJaccard(base, edited, 3), 0.7);
  std::vector<Found> found = Scan({Doc("a", "s", base), Doc("b", "s", edited)});
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].match, MatchType::kNear);
  EXPECT_EQ(found[0].first_doc, "a");

  const std::string numbers_a =
      "Department store chain Example Inc said on Thursday that February sales "
      "at stores open at least a year fell 5.8 percent from a year earlier";
  const std::string numbers_b =
      "Department store chain Example Inc said on Thursday that October sales "
      "at stores open at least a year fell 2.4 percent from a year earlier";
  EXPECT_TRUE(
      Scan({Doc("a", "s", numbers_a), Doc("b", "s", numbers_b)}).empty());

  const std::string short_a =
      "A Harbour spokeswoman could not immediately be reached for comment.";
  const std::string short_b =
      "A Council spokesman could not immediately be reached for comment.";
  EXPECT_TRUE(Scan({Doc("a", "s", short_a), Doc("b", "s", short_b)}).empty());

  ScanOptions off = ParagraphOptions();
  off.max_edit_words = 0;
  EXPECT_TRUE(Scan({Doc("a", "s", base), Doc("b", "s", edited)}, off).empty());
}

TEST(PipelineTest, EditedWordsKeepTheFacts) {
  // Two edited words in a 22-word paragraph: a re-filing when the words are
  // ordinary ("next week" -> "this week", "more" -> "most"), a new story
  // when one of them is an ordinal, a direction word or "not".
  const std::string base =
      "Investors will watch the central bank closely next week for more signs "
      "that the third rate increase of the year is coming before the summer";
  const struct {
    const char* edited;
    bool same;
  } cases[] = {
      {"Investors will watch the central bank closely this week for most signs "
       "that the third rate increase of the year is coming before the summer",
       true},
      {"Investors will watch the central bank carefully next week for more "
       "signs that the fourth rate increase of the year is coming before the "
       "summer",
       false},
      {"Investors will watch the central bank carefully next week for more "
       "signs that the third rate decrease of the year is coming before the "
       "summer",
       false},
      {"Investors will not watch the central bank carefully next week for "
       "more signs that the third rate increase of the year is coming before "
       "the summer",
       false},
  };
  for (const auto& c : cases) {
    ASSERT_LT(ParagraphJaccard(base, c.edited, 3), 0.7) << c.edited;
    const std::vector<Found> found =
        Scan({Doc("a", "s", base), Doc("b", "s", c.edited)});
    EXPECT_EQ(found.size(), c.same ? 1u : 0u) << c.edited;
  }
}

TEST(PipelineTest, OptionsAreValidated) {
  const struct {
    const char* name;
    void (*set)(ScanOptions*);
  } bad[] = {
      {"shingle 0", [](ScanOptions* o) { o->shingle_size = 0; }},
      {"shingle 17", [](ScanOptions* o) { o->shingle_size = 17; }},
      {"num_perm 100", [](ScanOptions* o) { o->num_perm = 100; }},
      {"threshold 0", [](ScanOptions* o) { o->threshold = 0; }},
      {"threshold 1", [](ScanOptions* o) { o->threshold = 1; }},
      {"bands only", [](ScanOptions* o) { o->bands = 16; }},
      {"bands x rows too big",
       [](ScanOptions* o) {
         o->bands = 20;
         o->rows = 8;
       }},
      {"min_tokens 0", [](ScanOptions* o) { o->min_tokens = 0; }},
      {"min_exact > min", [](ScanOptions* o) { o->min_exact_tokens = 9; }},
      {"threads 0", [](ScanOptions* o) { o->threads = 0; }},
      {"edit words 17", [](ScanOptions* o) { o->max_edit_words = 17; }},
      {"empty field", [](ScanOptions* o) { o->text_field = ""; }},
      {"boilerplate docs 1",
       [](ScanOptions* o) { o->boilerplate_min_docs = 1; }},
      {"headline words 0", [](ScanOptions* o) { o->headline_min_words = 0; }},
  };
  for (const auto& c : bad) {
    ScanOptions options;
    c.set(&options);
    EXPECT_FALSE(options.Validate().ok()) << c.name;
    EXPECT_FALSE(Scanner::Create(options).ok()) << c.name;
  }
  // A rules file that cannot be read is an error when the scanner is made.
  ScanOptions missing_rules;
  missing_rules.rules_file = "/nonexistent/newsdedup-rules.txt";
  EXPECT_FALSE(Scanner::Create(missing_rules).ok());
  ScanOptions good;
  good.num_perm = 128;
  good.bands = 16;
  good.rows = 8;
  EXPECT_TRUE(good.Validate().ok());
  good.num_perm = 64;  // 16 x 8 needs 128 values
  EXPECT_FALSE(good.Validate().ok());
}

}  // namespace
}  // namespace newsdedup
