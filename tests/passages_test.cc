#include "newsdedup/passages.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "internal/batch_pipeline.h"
#include "newsdedup/tokenize.h"

namespace newsdedup {
namespace {

// Runs both passes over `texts` and returns the passages of every document.
std::vector<std::vector<Passage>> FindAll(const std::vector<std::string>& texts,
                                          PassageOptions options = {}) {
  auto finder = PassageFinder::Create(options);
  EXPECT_TRUE(finder.ok()) << finder.status();
  for (size_t i = 0; i < texts.size(); ++i) {
    EXPECT_TRUE((*finder)->Add(i, Tokenize(texts[i])).ok());
  }
  EXPECT_TRUE((*finder)->Finish().ok());
  std::vector<std::vector<Passage>> out;
  for (size_t i = 0; i < texts.size(); ++i) {
    out.push_back((*finder)->Find(i, Tokenize(texts[i])));
  }
  return out;
}

std::string Slice(const std::string& text, ByteRange r) {
  return text.substr(r.begin, r.end - r.begin);
}

std::string RandomWords(std::mt19937* rng, int n) {
  static const char* kSyllables[] = {"ka",  "lo",  "mi", "ren", "tas", "vo",
                                     "nel", "pri", "du", "sen", "ga",  "ter"};
  std::string s;
  for (int i = 0; i < n; ++i) {
    if (!s.empty()) s += ' ';
    for (int k = 0, len = 1 + (*rng)() % 3; k < len; ++k) {
      s += kSyllables[(*rng)() % 12];
    }
  }
  return s;
}

TEST(PassagesTest, SplicedPassageIsFoundWithExactOffsets) {
  std::mt19937 rng(1);
  const std::string quote =
      "the harbour master said the old pier had been unsafe for years and "
      "nobody listened";
  const std::string a =
      RandomWords(&rng, 30) + ". " + quote + ". " + RandomWords(&rng, 20) + ".";
  const std::string prefix = RandomWords(&rng, 25) + ", and ";
  const std::string b =
      prefix + quote + " until the storm. " + RandomWords(&rng, 15) + ".";
  auto found = FindAll({a, b});
  EXPECT_TRUE(found[0].empty());
  ASSERT_EQ(found[1].size(), 1u);
  const Passage& p = found[1][0];
  EXPECT_EQ(Slice(b, p.range), quote);
  EXPECT_EQ(p.range.begin, prefix.size());
  EXPECT_EQ(p.first_doc, 0u);
  EXPECT_EQ(Slice(a, p.first), quote);
  EXPECT_EQ(p.tokens, 15u);
  EXPECT_EQ(p.count, 2u);
}

TEST(PassagesTest, ShorterThanMinimumIsNotReported) {
  std::mt19937 rng(2);
  // Nine shared words, below the default minimum of ten.
  const std::string shared = "one two three four five six seven eight nine";
  auto found = FindAll(
      {RandomWords(&rng, 20) + " " + shared + " " + RandomWords(&rng, 20),
       RandomWords(&rng, 20) + " " + shared + " " + RandomWords(&rng, 20)});
  EXPECT_TRUE(found[1].empty());
  PassageOptions nine;
  nine.min_tokens = 9;
  found = FindAll({"x " + shared + " y", "z " + shared + " w"}, nine);
  ASSERT_EQ(found[1].size(), 1u);
}

TEST(PassagesTest, RepeatInsideOneDocument) {
  const std::string sentence =
      "Residents have collected more than four thousand signatures for a new "
      "pier.";
  const std::string text = sentence + " The council will decide. " + sentence;
  auto found = FindAll({text});
  ASSERT_EQ(found[0].size(), 1u);
  EXPECT_EQ(found[0][0].first_doc, 0u);
  EXPECT_EQ(found[0][0].first.begin, 0u);
  EXPECT_EQ(Slice(text, found[0][0].range),
            sentence.substr(0, sentence.size() - 1));  // words, not the '.'
}

TEST(PassagesTest, MultiByteTextOffsetsOnCharacterBoundaries) {
  const std::string de =
      "Die Stadtwerke von Kleinbrück erhöhen zum ersten Jänner die Preise für "
      "Fernwärme um vier Prozent";
  const std::string zh = "港口渡轮码头因木桩腐烂将关闭维修至少六个月";
  const std::vector<std::string> texts = {"Überschrift. " + de + ". Ende.",
                                          "Anfang: " + de + "!",
                                          "新闻：" + zh + "。", "摘要" + zh};
  auto found = FindAll(texts);
  ASSERT_EQ(found[1].size(), 1u);
  EXPECT_EQ(Slice(texts[1], found[1][0].range), de);
  EXPECT_EQ(Slice(texts[0], found[1][0].first), de);
  ASSERT_EQ(found[3].size(), 1u);
  EXPECT_EQ(Slice(texts[3], found[3][0].range), zh);  // one token per Han char
  EXPECT_EQ(Slice(texts[2], found[3][0].first), zh);
}

TEST(PassagesTest, PassagesAreMaximalAndNeverOverlap) {
  std::mt19937 rng(3);
  std::vector<std::string> texts;
  std::vector<std::string> pool;
  for (int i = 0; i < 40; ++i)
    pool.push_back(RandomWords(&rng, 12 + rng() % 20));
  for (int d = 0; d < 150; ++d) {
    std::string t;
    for (int k = 0; k < 6; ++k) {
      t += (rng() % 3 == 0 ? pool[rng() % pool.size()] : RandomWords(&rng, 8));
      t += ". ";
    }
    texts.push_back(t);
  }
  auto found = FindAll(texts);
  size_t total = 0;
  for (size_t d = 0; d < texts.size(); ++d) {
    uint32_t last_end = 0;
    for (const Passage& p : found[d]) {
      ++total;
      EXPECT_GE(p.range.begin, last_end) << "overlap in doc " << d;
      last_end = p.range.end;
      EXPECT_GE(p.tokens, 10u);
      // The passage's text equals its first occurrence's.
      EXPECT_EQ(Slice(texts[d], p.range), Slice(texts[p.first_doc], p.first));
      EXPECT_TRUE(p.first_doc < d ||
                  (p.first_doc == d && p.first.begin < p.range.begin));
    }
  }
  EXPECT_GT(total, 50u);
}

// Both passes (and the record pass when one is needed) over `texts` with
// `shards` shards, the documents shuffled over them when there are several
// (as the sketching threads add them), record batches of 1 to 64 documents.
std::unique_ptr<PassageFinder> Prepare(const std::vector<std::string>& texts,
                                       uint64_t limit, int shards,
                                       std::mt19937* rng,
                                       uint64_t max_table_bytes = UINT64_MAX) {
  PassageOptions options;
  options.memory_limit = limit;
  options.threads = shards;
  options.max_table_bytes = max_table_bytes;
  auto f = PassageFinder::Create(options);
  EXPECT_TRUE(f.ok()) << f.status();
  std::vector<uint32_t> order(texts.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  if (shards > 1) std::shuffle(order.begin(), order.end(), *rng);
  for (uint32_t i : order) {
    EXPECT_TRUE((*f)->Add(i % shards, i, Tokenize(texts[i])).ok());
  }
  EXPECT_TRUE((*f)->Finish().ok());
  if ((*f)->NeedsRecordPass()) {
    for (size_t first = 0; first < texts.size();) {
      const size_t n =
          std::min<size_t>(1 + (*rng)() % 64, texts.size() - first);
      std::vector<std::vector<Token>> owned;
      std::vector<absl::Span<const Token>> batch;
      for (size_t k = 0; k < n; ++k)
        owned.push_back(Tokenize(texts[first + k]));
      for (const auto& t : owned) batch.push_back(t);
      EXPECT_TRUE((*f)->RecordBatch(static_cast<uint32_t>(first), batch).ok());
      first += n;
    }
    EXPECT_TRUE((*f)->FinishRecordPass().ok());
    EXPECT_FALSE((*f)->NeedsRecordPass());
  }
  return std::move(*f);
}

// Every document's passages by FindBatch, in batches of 1 to 64 documents
// (first occurrences often sit in the same batch as their repeats).
// With `final_counts`, counts are FinalCount's (after EndPass2), else as
// FindBatch gave them.
std::vector<std::vector<Passage>> FindInBatches(
    PassageFinder* finder, const std::vector<std::vector<Token>>& tokens,
    std::mt19937* rng, bool final_counts = true) {
  std::vector<std::vector<Passage>> found;
  for (size_t first = 0; first < tokens.size();) {
    const size_t n = std::min<size_t>(1 + (*rng)() % 64, tokens.size() - first);
    std::vector<absl::Span<const Token>> batch;
    for (size_t k = 0; k < n; ++k) batch.push_back(tokens[first + k]);
    std::vector<std::vector<Passage>> out;
    finder->FindBatch(static_cast<uint32_t>(first), batch, &out);
    EXPECT_EQ(out.size(), n);
    for (auto& p : out) found.push_back(std::move(p));
    first += n;
  }
  // Counts pass 2 settled (CountsInPass2).
  EXPECT_TRUE(finder->EndPass2().ok());
  if (!final_counts) return found;
  for (auto& doc : found) {
    for (Passage& p : doc) p.count = finder->FinalCount(p);
  }
  return found;
}

// Every document's passages by the pipelined steps (LookUp, Settle,
// Assemble) in batches of 1 to 64 documents, run through a pipeline on
// `threads` threads with up to eight batches under way; counts are
// FinalCount's.
std::vector<std::vector<Passage>> FindInPipeline(
    PassageFinder* finder, const std::vector<std::vector<Token>>& tokens,
    int threads, std::mt19937* rng) {
  struct Batch {
    uint32_t first = 0;
    std::vector<absl::Span<const Token>> docs;
    PassageBatch hits;
    std::vector<std::vector<Passage>> out;
  };
  internal::PipelineOptions options;
  options.threads = threads;
  options.slots = 8;
  std::vector<Batch> batches(options.slots);
  std::vector<std::vector<Passage>> found;
  size_t next = 0;
  auto read = [&](size_t slot) -> absl::StatusOr<bool> {
    if (next == tokens.size()) return false;
    Batch& b = batches[slot];
    const size_t n = std::min<size_t>(1 + (*rng)() % 64, tokens.size() - next);
    b.first = static_cast<uint32_t>(next);
    b.docs.assign(tokens.begin() + next, tokens.begin() + next + n);
    next += n;
    return true;
  };
  const internal::PipelineStage stages[] = {
      {false,
       [&](size_t slot) {
         finder->LookUp(batches[slot].docs, &batches[slot].hits);
       }},
      {true,
       [&](size_t slot) {
         Batch& b = batches[slot];
         finder->Settle(b.first, b.docs, &b.hits);
       }},
      {false,
       [&](size_t slot) {
         Batch& b = batches[slot];
         finder->Assemble(b.first, b.docs, b.hits, &b.out);
         EXPECT_EQ(b.out.size(), b.docs.size());
       }},
      {true, [&](size_t slot) {
         for (auto& p : batches[slot].out) found.push_back(std::move(p));
       }}};
  EXPECT_TRUE(internal::RunPipeline(options, read, stages).ok());
  EXPECT_TRUE(finder->EndPass2().ok());
  for (auto& doc : found) {
    for (Passage& p : doc) {
      // A later batch may be counting while one is assembled: no count
      // is read then.
      if (finder->CountsInPass2()) {
        EXPECT_EQ(p.count, 0u);
      }
      p.count = finder->FinalCount(p);
    }
  }
  return found;
}

void ExpectSamePassages(const std::vector<std::vector<Passage>>& reference,
                        const std::vector<std::vector<Passage>>& found) {
  ASSERT_EQ(reference.size(), found.size());
  for (size_t i = 0; i < reference.size(); ++i) {
    const auto& a = reference[i];
    const auto& b = found[i];
    ASSERT_EQ(a.size(), b.size()) << i;
    for (size_t k = 0; k < a.size(); ++k) {
      EXPECT_EQ(a[k].range, b[k].range) << i;
      EXPECT_EQ(a[k].first, b[k].first) << i;
      EXPECT_EQ(a[k].first_doc, b[k].first_doc) << i;
      EXPECT_EQ(a[k].count, b[k].count) << i;
      EXPECT_EQ(a[k].tokens, b[k].tokens) << i;
      ASSERT_EQ(a[k].first_windows.size(), b[k].first_windows.size()) << i;
      for (size_t w = 0; w < a[k].first_windows.size(); ++w) {
        EXPECT_EQ(a[k].first_windows[w], b[k].first_windows[w]) << i;
      }
    }
  }
}

TEST(PassagesTest, MemoryCapGivesTheSameResult) {
  std::mt19937 rng(4);
  std::vector<std::string> texts;
  std::vector<std::string> pool;
  for (int i = 0; i < 30; ++i) pool.push_back(RandomWords(&rng, 15));
  for (int d = 0; d < 2000; ++d) {
    texts.push_back(RandomWords(&rng, 40) + " " + pool[rng() % pool.size()] +
                    " " + RandomWords(&rng, 40));
  }
  std::vector<std::vector<Token>> tokens;
  for (const std::string& t : texts) tokens.push_back(Tokenize(t));
  // The reference: in memory, one shard, Find one document at a time (each
  // document once, in input order).
  auto big = Prepare(texts, uint64_t{256} << 20, 1, &rng);
  EXPECT_EQ(big->stats().runs_spilled, 0u);
  EXPECT_FALSE(big->stats().record_pass);
  std::vector<std::vector<Passage>> reference;
  size_t passages = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    reference.push_back(big->Find(i, tokens[i]));
    passages += reference.back().size();
  }
  EXPECT_GT(passages, 1900u);  // almost every document repeats a pool passage
  // Spilled (a record pass) and sharded finders, looked up in batches on
  // as many threads as shards: the same passages, counts included.
  // 1 MiB holds about 65k of the ~160k windows: spilled, the filtered
  // windows make a table in memory (counted in pass 2), or, with no room
  // for a table, a record pass.
  for (const auto& [limit, shards, table] :
       {std::tuple<uint64_t, int, uint64_t>{uint64_t{1} << 20, 1, UINT64_MAX},
        std::tuple<uint64_t, int, uint64_t>{uint64_t{1} << 20, 1, 0},
        std::tuple<uint64_t, int, uint64_t>{uint64_t{256} << 20, 3, UINT64_MAX},
        std::tuple<uint64_t, int, uint64_t>{uint64_t{1} << 20, 3, UINT64_MAX},
        std::tuple<uint64_t, int, uint64_t>{uint64_t{1} << 20, 3, 0}}) {
    SCOPED_TRACE(testing::Message() << "limit " << limit << ", shards "
                                    << shards << ", table " << table);
    auto small = Prepare(texts, limit, shards, &rng, table);
    EXPECT_EQ(big->stats().windows, small->stats().windows);
    const std::vector<std::vector<Passage>> found =
        FindInBatches(small.get(), tokens, &rng);
    EXPECT_EQ(big->stats().repeated_windows, small->stats().repeated_windows);
    if (limit == uint64_t{1} << 20) {
      EXPECT_GE(small->stats().runs_spilled, 2u);
      EXPECT_EQ(small->stats().record_pass, table == 0);
      EXPECT_EQ(small->CountsInPass2(), table != 0);
      // Pass 1 recorded the repeated windows and some single ones, not
      // every window.
      EXPECT_GE(small->stats().candidate_windows,
                big->stats().repeated_windows);
      EXPECT_LT(small->stats().candidate_windows, big->stats().windows / 2);
    } else {
      EXPECT_FALSE(small->stats().record_pass);
      EXPECT_FALSE(small->CountsInPass2());
    }
    ExpectSamePassages(reference, found);
    // The same through the pipelined steps, batches settled and assembled
    // on three threads at once.
    auto piped = Prepare(texts, limit, shards, &rng, table);
    ExpectSamePassages(reference, FindInPipeline(piped.get(), tokens, 3, &rng));
  }
  // Passages cut by SubtractCovered (their first word covered) keep their
  // window's count: FinalCount of a cut passage found with counts settled
  // in pass 2 is the in-memory count.
  auto counted = Prepare(texts, uint64_t{1} << 20, 1, &rng);
  ASSERT_TRUE(counted->CountsInPass2());
  const std::vector<std::vector<Passage>> raw =
      FindInBatches(counted.get(), tokens, &rng, /*final_counts=*/false);
  size_t cut = 0, differed = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    if (reference[i].empty()) continue;
    const ByteRange first_word = {reference[i][0].range.begin,
                                  reference[i][0].range.begin + 1};
    const std::vector<ByteRange> covered = {first_word};
    std::vector<Passage> want =
        SubtractCovered(reference[i], covered, tokens[i], 10);
    std::vector<Passage> got = SubtractCovered(raw[i], covered, tokens[i], 10);
    for (Passage& q : got) {
      differed += q.count != counted->FinalCount(q);
      q.count = counted->FinalCount(q);
    }
    cut += got.size();
    ExpectSamePassages({want}, {got});
  }
  EXPECT_GT(cut, 1000u);
  EXPECT_GT(differed, 100u);  // counts so far were not yet the counts
}

// A corpus of mostly repeated text at the smallest memory limit: pass 1's
// bit array is crowded (many single windows recorded as if repeated), and
// the record pass's places and repeats spill runs of their own.
TEST(PassagesTest, RecordPassUnderPressureGivesTheSameResult) {
  std::mt19937 rng(11);
  std::vector<std::string> pool;
  for (int i = 0; i < 400; ++i)
    pool.push_back(RandomWords(&rng, 12 + rng() % 30));
  std::vector<std::string> texts;
  for (int d = 0; d < 16000; ++d) {
    std::string t;
    for (int k = 0, parts = 2 + rng() % 4; k < parts; ++k) {
      if (!t.empty()) t += ' ';
      t += rng() % 3 == 0 ? RandomWords(&rng, 5 + rng() % 40)
                          : pool[rng() % pool.size()];
    }
    if (d > 0 && rng() % 10 == 0) t = texts[rng() % d];  // an exact copy
    texts.push_back(std::move(t));
  }
  std::vector<std::vector<Token>> tokens;
  for (const std::string& t : texts) tokens.push_back(Tokenize(t));
  auto big = Prepare(texts, uint64_t{256} << 20, 1, &rng);
  ASSERT_FALSE(big->stats().record_pass);
  std::vector<std::vector<Passage>> reference;
  for (size_t i = 0; i < texts.size(); ++i) {
    reference.push_back(big->Find(i, tokens[i]));
  }
  for (int shards : {1, 2}) {
    SCOPED_TRACE(testing::Message() << "shards " << shards);
    // The filtered windows (about 110k) need more than the limit as a
    // table: a record pass.
    auto small = Prepare(texts, uint64_t{1} << 20, shards, &rng);
    const PassageStats& st = small->stats();
    EXPECT_TRUE(st.record_pass);
    EXPECT_FALSE(small->CountsInPass2());
    EXPECT_EQ(big->stats().windows, st.windows);
    EXPECT_EQ(big->stats().repeated_windows, st.repeated_windows);
    EXPECT_GT(st.candidate_windows, big->stats().repeated_windows);
    // Places of far more than 1 MiB were sorted through the disk.
    EXPECT_GT(st.recorded_occurrences * 24, uint64_t{8} << 20);
    EXPECT_GT(st.bytes_spilled, uint64_t{16} << 20);
    ExpectSamePassages(reference, FindInBatches(small.get(), tokens, &rng));
  }
}

// Shards added at once from their own threads, as the sketching threads
// do: one shard gets only the first documents (it filters its records only
// at Finish) and one gets none. The same passages as one shard in memory.
TEST(PassagesTest, ShardsAddedOnThreadsGiveTheSameResult) {
  std::mt19937 rng(17);
  std::vector<std::string> pool;
  for (int i = 0; i < 200; ++i)
    pool.push_back(RandomWords(&rng, 12 + rng() % 20));
  std::vector<std::string> texts;
  for (int d = 0; d < 8000; ++d) {
    std::string t = RandomWords(&rng, 10 + rng() % 30);
    for (int k = 0, parts = 1 + rng() % 3; k < parts; ++k) {
      t += ' ';
      t += pool[rng() % pool.size()];
    }
    texts.push_back(std::move(t));
  }
  std::vector<std::vector<Token>> tokens;
  for (const std::string& t : texts) tokens.push_back(Tokenize(t));
  auto big = Prepare(texts, uint64_t{256} << 20, 1, &rng);
  std::vector<std::vector<Passage>> reference;
  for (size_t i = 0; i < texts.size(); ++i) {
    reference.push_back(big->Find(i, tokens[i]));
  }
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE(testing::Message() << "round " << round);
    PassageOptions options;
    options.memory_limit = uint64_t{1} << 20;
    options.threads = 4;
    // A record pass, then a table counted in pass 2, then a record pass.
    options.max_table_bytes = round == 1 ? UINT64_MAX : 0;
    auto f = PassageFinder::Create(options);
    ASSERT_TRUE(f.ok());
    // Shard 0: the first 300 documents; shard 3: none; shards 1 and 2 the
    // rest, interleaved.
    std::vector<std::thread> threads;
    for (int shard = 0; shard < 3; ++shard) {
      threads.emplace_back([&, shard]() {
        for (size_t i = 0; i < texts.size(); ++i) {
          const int to = i < 300 ? 0 : 1 + static_cast<int>(i % 2);
          if (to != shard) continue;
          EXPECT_TRUE(
              (*f)->Add(shard, static_cast<uint32_t>(i), tokens[i]).ok());
        }
      });
    }
    for (std::thread& t : threads) t.join();
    ASSERT_TRUE((*f)->Finish().ok());
    ASSERT_EQ((*f)->NeedsRecordPass(), round != 1);
    ASSERT_EQ((*f)->CountsInPass2(), round == 1);
    if (round != 1) {
      for (size_t first = 0; first < texts.size(); first += 500) {
        const size_t n = std::min<size_t>(500, texts.size() - first);
        std::vector<absl::Span<const Token>> batch(tokens.begin() + first,
                                                   tokens.begin() + first + n);
        ASSERT_TRUE(
            (*f)->RecordBatch(static_cast<uint32_t>(first), batch).ok());
      }
      ASSERT_TRUE((*f)->FinishRecordPass().ok());
    }
    EXPECT_EQ((*f)->stats().windows, big->stats().windows);
    const std::vector<std::vector<Passage>> found =
        FindInBatches(f->get(), tokens, &rng);
    EXPECT_EQ((*f)->stats().repeated_windows, big->stats().repeated_windows);
    ExpectSamePassages(reference, found);
  }
}

// One window met more than a million times (a word repeated over a whole
// text): its repeats are held past memory in the record pass, and the
// result is the in-memory one.
TEST(PassagesTest, WindowRepeatedAMillionTimes) {
  std::string periodic;
  periodic.reserve(3 * 1100000);
  for (int i = 0; i < 1100000; ++i) periodic += "la ";
  std::mt19937 rng(3);
  const std::vector<std::string> texts = {
      RandomWords(&rng, 30), periodic,
      RandomWords(&rng, 20) + " " + periodic.substr(0, 300)};
  std::vector<std::vector<Token>> tokens;
  for (const std::string& t : texts) tokens.push_back(Tokenize(t));
  auto big = Prepare(texts, uint64_t{256} << 20, 1, &rng);
  auto small = Prepare(texts, uint64_t{1} << 20, 1, &rng, /*table=*/0);
  ASSERT_TRUE(small->stats().record_pass);
  EXPECT_EQ(small->stats().repeated_windows, 1u);
  std::vector<std::vector<Passage>> reference;
  for (size_t i = 0; i < texts.size(); ++i) {
    reference.push_back(big->Find(i, tokens[i]));
  }
  // 10-word passages, each repeating the text's first ten words.
  ASSERT_GT(reference[1].size(), 100000u);
  EXPECT_EQ(reference[1][0].count, 1100000u - 9 + 91);
  ExpectSamePassages(reference, FindInBatches(small.get(), tokens, &rng));
}

// Before the record pass nothing is found, and the record pass is refused
// where none is needed.
TEST(PassagesTest, RecordPassOrder) {
  std::mt19937 rng(5);
  std::vector<std::string> texts;
  const std::string shared = RandomWords(&rng, 20);
  for (int d = 0; d < 3000; ++d) {
    texts.push_back(RandomWords(&rng, 60) + " " + shared);
  }
  PassageOptions options;
  options.memory_limit = uint64_t{1} << 20;
  options.max_table_bytes = 0;
  auto f = PassageFinder::Create(options);
  ASSERT_TRUE(f.ok());
  for (size_t i = 0; i < texts.size(); ++i) {
    ASSERT_TRUE((*f)->Add(i, Tokenize(texts[i])).ok());
  }
  ASSERT_TRUE((*f)->Finish().ok());
  ASSERT_TRUE((*f)->NeedsRecordPass());
  EXPECT_TRUE((*f)->Find(1, Tokenize(texts[1])).empty());
  for (size_t i = 0; i < texts.size(); ++i) {
    const std::vector<Token> tokens = Tokenize(texts[i]);
    const absl::Span<const Token> batch[] = {tokens};
    ASSERT_TRUE((*f)->RecordBatch(i, batch).ok());
  }
  EXPECT_TRUE((*f)->FinishRecordPass().ok());
  EXPECT_FALSE((*f)->NeedsRecordPass());
  EXPECT_EQ((*f)->RecordBatch(0, {}).code(),
            absl::StatusCode::kFailedPrecondition);
  // Pass 2 over the first half only: the repeats of the rest are left
  // unread, and EndPass2 says so.
  size_t found = 0;
  for (size_t i = 0; i < texts.size() / 2; ++i) {
    found += (*f)->Find(i, Tokenize(texts[i])).size();
  }
  EXPECT_GT(found, 1000u);
  EXPECT_EQ((*f)->EndPass2().code(), absl::StatusCode::kFailedPrecondition);

  auto g = PassageFinder::Create(PassageOptions());
  ASSERT_TRUE(g.ok());
  ASSERT_TRUE((*g)->Add(0, Tokenize(texts[0])).ok());
  ASSERT_TRUE((*g)->Finish().ok());
  EXPECT_FALSE((*g)->NeedsRecordPass());
  EXPECT_EQ((*g)->FinishRecordPass().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(PassagesTest, SubtractCoveredKeepsOnlyUncoveredLongEnoughParts) {
  const std::string shared =
      "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu "
      "xi omicron pi rho sigma tau upsilon";
  const std::string a = "start " + shared + " end";
  const std::string b = "begin " + shared + " finish";
  auto finder = PassageFinder::Create({});
  ASSERT_TRUE((*finder)->Add(0, Tokenize(a)).ok());
  ASSERT_TRUE((*finder)->Add(1, Tokenize(b)).ok());
  ASSERT_TRUE((*finder)->Finish().ok());
  (*finder)->Find(0, Tokenize(a));
  const auto tokens = Tokenize(b);
  const auto passages = (*finder)->Find(1, tokens);
  ASSERT_EQ(passages.size(), 1u);
  // Cover the first five shared words: 15 remain, still a passage.
  const uint32_t cut = 6 + std::string("alpha beta gamma delta epsilon").size();
  const ByteRange covered[] = {{6, cut}};
  auto left = SubtractCovered(passages, covered, tokens, 10);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(Slice(b, left[0].range), shared.substr(cut - 6 + 1));
  EXPECT_EQ(Slice(a, left[0].first), shared.substr(cut - 6 + 1));
  // Cover the middle: two 10-word halves would remain -> both kept.
  const uint32_t mid = 6 + shared.find("kappa");
  const ByteRange middle[] = {{mid, mid + 5}};
  left = SubtractCovered(passages, middle, tokens, 10);
  ASSERT_EQ(left.size(), 1u);  // 9 words before "kappa", 10 after
  EXPECT_EQ(Slice(b, left[0].range), shared.substr(shared.find("lambda")));
  // Everything covered: nothing left.
  const ByteRange all[] = {{0, static_cast<uint32_t>(b.size())}};
  EXPECT_TRUE(SubtractCovered(passages, all, tokens, 10).empty());
}

TEST(PassagesTest, OptionsAreValidated) {
  PassageOptions o;
  o.min_tokens = 3;
  EXPECT_FALSE(o.Validate().ok());
  o = PassageOptions();
  o.memory_limit = 1000;
  EXPECT_FALSE(o.Validate().ok());
  EXPECT_TRUE(PassageOptions().Validate().ok());
  o.temp_dir = "/nonexistent-folder-for-newsdedup";
  o.memory_limit = 1 << 20;
  auto f = PassageFinder::Create(o);
  ASSERT_TRUE(f.ok());
  std::mt19937 rng(5);
  absl::Status s;
  for (int i = 0; i < 5000 && s.ok(); ++i) {  // 8 bytes a window: 1.6 MB
    s = (*f)->Add(i, Tokenize(RandomWords(&rng, 50)));
  }
  EXPECT_FALSE(s.ok());  // the spill cannot be written: an error, not a crash
  EXPECT_NE(std::string(s.message()).find("nonexistent"), std::string::npos);
}

}  // namespace
}  // namespace newsdedup

namespace newsdedup {
namespace {

TEST(PassagesReviewTest, PartlyCoveredWordCountsAsCovered) {
  const std::string shared =
      "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu "
      "xi omicron pi rho sigma tau upsilon";
  const std::string a = "start " + shared;
  const std::string b = "begin " + shared;
  auto finder = PassageFinder::Create({});
  ASSERT_TRUE((*finder)->Add(0, Tokenize(a)).ok());
  ASSERT_TRUE((*finder)->Add(1, Tokenize(b)).ok());
  ASSERT_TRUE((*finder)->Finish().ok());
  (*finder)->Find(0, Tokenize(a));
  const auto tokens = Tokenize(b);
  const auto passages = (*finder)->Find(1, tokens);
  ASSERT_EQ(passages.size(), 1u);
  // A covered range ending inside "gamma" covers that word too.
  const uint32_t inside_gamma = 6 + shared.find("gamma") + 2;
  const ByteRange covered[] = {{0, inside_gamma}};
  auto left = SubtractCovered(passages, covered, tokens, 10);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_GE(left[0].range.begin, inside_gamma);
  EXPECT_EQ(
      b.substr(left[0].range.begin, left[0].range.end - left[0].range.begin),
      shared.substr(shared.find("delta")));
}

TEST(PassagesReviewTest, PeriodicTextIsNotItsOwnSource) {
  // A phrase repeated back to back: a window's first occurrence overlapping
  // it is not reported; the later, separate copy is.
  std::string text;
  for (int i = 0; i < 6; ++i) text += "ha ";
  text += "and then something else entirely happens here in the end. ";
  auto found = FindAll({text});
  for (const Passage& p : found[0]) {
    EXPECT_LE(p.first.end, p.range.begin) << "source overlaps its copy";
  }
}

}  // namespace
}  // namespace newsdedup
