#include "newsdedup/pipeline.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <condition_variable>
#include <deque>
#include <initializer_list>
#include <iterator>
#include <mutex>
#include <thread>
#include <tuple>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "internal/near_matcher.h"
#include "internal/parallel_for.h"
#include "internal/spaces.h"
#include "newsdedup/boilerplate.h"
#include "newsdedup/caption.h"
#include "newsdedup/hash.h"
#include "newsdedup/headline.h"
#include "newsdedup/lsh.h"
#include "newsdedup/minhash.h"
#include "newsdedup/shingle.h"
#include "newsdedup/tokenize.h"

namespace newsdedup {

absl::Status ScanOptions::Validate() const {
  if (shingle_size < 1 || shingle_size > 16) {
    return absl::InvalidArgumentError(
        absl::StrCat("shingle size must be in [1, 16], got ", shingle_size));
  }
  if (num_perm < 8 || num_perm > 1024 || num_perm % 8 != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "signature size must be a multiple of 8 in [8, 1024], got ", num_perm));
  }
  if (!(threshold > 0.0 && threshold < 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("threshold must be in (0, 1), got ", threshold));
  }
  if ((bands == 0) != (rows == 0)) {
    return absl::InvalidArgumentError(
        "bands and rows must be given together (or both left at 0)");
  }
  if (bands < 0 || rows < 0 || static_cast<int64_t>(bands) * rows > num_perm) {
    return absl::InvalidArgumentError(
        absl::StrCat("bands x rows must fit the signature: ", bands, " x ",
                     rows, " > ", num_perm));
  }
  if (min_tokens < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "minimum paragraph length must be >= 1, got ", min_tokens));
  }
  if (min_exact_tokens < 1 || min_exact_tokens > min_tokens) {
    return absl::InvalidArgumentError(
        absl::StrCat("minimum exact-match length must be in [1, ", min_tokens,
                     "], got ", min_exact_tokens));
  }
  if (max_edit_words < 0 || max_edit_words > 16) {
    return absl::InvalidArgumentError(absl::StrCat(
        "maximum edited words must be in [0, 16], got ", max_edit_words));
  }
  if (threads < 1 || threads > 256) {
    return absl::InvalidArgumentError(
        absl::StrCat("threads must be in [1, 256], got ", threads));
  }
  if (text_field.empty() || title_field.empty()) {
    return absl::InvalidArgumentError("field names must not be empty");
  }
  if (boilerplate_min_docs == 1 || boilerplate_min_docs < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("boilerplate document count must be 0 (off) or >= 2, got ",
                     boilerplate_min_docs));
  }
  if (headline_min_words < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "headline minimum words must be >= 1, got ", headline_min_words));
  }
  if (memory_limit < (uint64_t{1} << 20)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "matching memory limit must be at least 1 MiB, got ", memory_limit));
  }
  if (headline_near_min_words < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("headline near-match minimum words must be >= 2, got ",
                     headline_near_min_words));
  }
  return absl::OkStatus();
}

namespace {

constexpr uint32_t kNone = 0xFFFFFFFFu;
// A batch ends at this many documents or bytes of text (or one longer
// document). Up to three are in memory at once (kPostedBatches posted, or
// one fewer and one being filled): 18 MB of long documents at most. Small
// batches keep a document's text in cache between its reading and its
// sketch (128 against 256 documents on Reuters 2006-2010: one thread 2%
// faster end to end, two the same).
constexpr size_t kBatchDocuments = 128;
constexpr size_t kBatchBytes = size_t{6} << 20;
// The most string memory a matched document keeps to be read into again,
// and the most all of them keep together (batches are matched in bursts of
// a few while the reader adds one document at a time).
constexpr size_t kRecycledBytes = size_t{64} << 10;
constexpr size_t kSpentBytes = size_t{16} << 20;
// The most memory a sketching thread's scratch vector keeps between jobs.
constexpr size_t kScratchKeptBytes = size_t{4} << 20;
// Candidates taken from one LSH bucket per paragraph (the latest before it,
// each standing for its cluster's first): enough for any real repeat, and a
// bound on the work when templated lines crowd a bucket.
constexpr uint32_t kBucketWindow = 64;
// The edited-words rule applies to paragraphs with at least this many
// distinct shingles (about 20 words).
constexpr size_t kMinEditShingles = 18;
// Teaser prefixes are learned on short paragraphs only.
constexpr uint32_t kTeaserMaxWords = 30;

enum class UnitKind : uint8_t {
  kParagraph,     // a paragraph (or what is left of it) matched by content
  kTitle,         // the headline itself
  kBodyHeadline,  // the headline repeated in the body
  kCaption,       // a photo caption or credit (pattern)
  kRule,          // boilerplate by a rule (pattern)
};

enum Field : uint8_t { kTitleField = 0, kTextField = 1 };

// What the parallel stage computes for one unit of text.
struct UnitSketch {
  ByteRange range;
  Field field = kTextField;
  UnitKind kind = UnitKind::kParagraph;
  uint32_t tokens = 0;
  uint64_t sequence_hash = 0;
  uint64_t teaser_key = 0;     // paragraph units: hash of a "LABEL:" prefix
  uint64_t facts = 0;          // paragraph units: hash of its numbers, dates
                               // and direction words, in order
  uint32_t shingle_begin = 0;  // into DocumentSketch::shingles
  uint32_t shingle_end = 0;    // empty: exact matching only
  uint32_t keys_begin = 0;     // into DocumentSketch::band_keys
  float similarity = 1.0f;     // body headlines: similarity to the title
  bool exact = true;           // body headlines: same words as the title
};

// Cache-line aligned: two threads sketch neighbouring documents, and the
// vectors' ends change with every unit (false sharing otherwise).
struct alignas(64) DocumentSketch {
  std::vector<UnitSketch> units;  // sorted by (field, begin)
  // Shingle fingerprints (the high 32 bits of each shingle hash, the value
  // MinHash sees), in shingle order, per paragraph unit: half the memory of the
  // full hashes, and a false match between two paragraphs' fingerprints has
  // probability |A||B| / 2^32 (1e-5 for 200-shingle paragraphs).
  std::vector<uint32_t> shingles;
  std::vector<uint64_t> band_keys;    // params.bands per sketched unit
  std::vector<uint64_t> title_words;  // headline core, built-in decorations
                                      // removed
  uint32_t title_tail_words = 0;      // trailing core words forming a
                                      // candidate site decoration
  uint64_t title_tail_hash = 0;
};

enum class Learned : uint8_t {
  kNo,
  kText,    // the same text in many documents of one site
  kTeaser,  // the same "LABEL:" prefix in many documents of one site
};

// Documents waiting to be sketched and matched, with their sketches.
struct Batch {
  std::vector<Document> docs;
  std::vector<DocumentSketch> sketches;
  size_t bytes = 0;
  uint32_t first_ordinal = 0;  // input position of docs[0]
  // Once posted (under the scanner's pool_mu_): documents taken by a
  // sketching thread, and documents sketched.
  size_t claimed = 0;
  size_t sketched = 0;
};

// What is kept per unit after matching.
struct UnitInfo {
  uint32_t doc;
  uint32_t begin;
  uint32_t end;
  uint32_t first;       // the kept occurrence (itself if kept or pattern)
  uint32_t exact_root;  // earliest unit with the same normalized text
  uint32_t group;       // reporting group (kNone: none)
  float similarity;     // with `first`
  UnitKind kind;
  Field field;
  bool exact;           // same normalized text as `first`
  Learned boilerplate;  // learned site boilerplate
};

// Per-title data kept for headline matching at Finish.
struct TitleData {
  uint32_t unit;
  uint32_t site;
  uint32_t words_begin;  // into Impl::title_words_
  uint32_t words_count;
  uint32_t tail_words;
  uint64_t tail_hash;
};

// Shrinks [begin, end) of `text` past ASCII and Unicode whitespace (the
// same set the segmenter trims).
void Trim(std::string_view text, uint32_t* begin, uint32_t* end) {
  internal::TrimSpaces(reinterpret_cast<const unsigned char*>(text.data()),
                       begin, end);
}

// Tokens of `tokens` lying inside [begin, end).
absl::Span<const Token> TokensIn(const std::vector<Token>& tokens,
                                 uint32_t begin, uint32_t end) {
  auto lo = std::lower_bound(
      tokens.begin(), tokens.end(), begin,
      [](const Token& t, uint32_t offset) { return t.begin < offset; });
  // Tokens do not overlap, so their ends ascend too: a second binary search,
  // not a walk over the paragraph's words.
  auto hi = std::partition_point(
      lo, tokens.end(), [end](const Token& t) { return t.end <= end; });
  return absl::Span<const Token>(tokens.data() + (lo - tokens.begin()),
                                 hi - lo);
}

// The tokens' word hashes, into *out (replacing what it held).
void WordHashes(absl::Span<const Token> tokens, std::vector<uint64_t>* out) {
  out->clear();
  for (const Token& t : tokens) out->push_back(t.hash);
}

std::vector<uint64_t> WordHashes(absl::Span<const Token> tokens) {
  std::vector<uint64_t> out;
  out.reserve(tokens.size());
  WordHashes(tokens, &out);
  return out;
}

// A set of normalized words, asked by hash; a 4096-bit filter answers "no"
// for almost every word without a probe.
class WordSet {
 public:
  WordSet(std::initializer_list<const char*> words) {
    for (const char* w : words) {
      const uint64_t h = HashWord(w);
      words_.insert(h);
      filter_[h >> 58] |= uint64_t{1} << (h & 63);
    }
  }
  bool Contains(uint64_t hash) const {
    if ((filter_[hash >> 58] >> (hash & 63) & 1) == 0) return false;
    return words_.contains(hash);
  }

 private:
  absl::flat_hash_set<uint64_t> words_;
  std::array<uint64_t, 64> filter_{};
};

// clang-format off
#define NEWSDEDUP_DATE_WORDS                                                \
  "january", "february", "march", "april", "may", "june", "july", "august", \
  "september", "october", "november", "december", "jan", "feb", "mar",      \
  "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",           \
  "monday", "tuesday", "wednesday", "thursday", "friday", "saturday",       \
  "sunday"

// Words whose replacement turns a headline into another story's headline.
bool IsContrastiveWord(uint64_t hash) {
  static const WordSet* const kWords = new WordSet{
      NEWSDEDUP_DATE_WORDS,
      "first", "second", "third", "fourth", "fifth", "last", "next", "rise",
      "rises", "rose", "fall", "falls", "fell", "up", "down", "gain", "gains",
      "gained", "loss", "losses", "lose", "loses", "profit", "higher",
      "lower", "high", "low", "drop", "drops", "dropped", "jump", "jumps",
      "slip", "slips", "climb", "climbs", "surge", "surges", "slump",
      "slumps", "rally", "rallies", "beat", "beats", "miss", "misses",
      "raise", "raises", "cut", "cuts", "increase", "decrease", "more",
      "less", "above", "below", "before", "after", "open", "opens", "close",
      "closes", "buy", "buys", "sell", "sells", "win", "wins", "not", "no",
      "yes", "approve", "approves", "reject", "rejects"};
  return kWords->Contains(hash);
}

// The facts of a paragraph, which a near match by a few edited words must
// keep: besides numbers, dates, ordinals ("fifth straight meeting") and
// the words that turn a figure around ("rose"/"fell", "not"). Narrower
// than the headline list: in a paragraph of 20+ words, "more", "after" or
// "next week"/"this week" (a weekend re-file) are rarely the news.
const WordSet& ParagraphFactWords() {
  static const WordSet* const kWords = new WordSet{
      NEWSDEDUP_DATE_WORDS,
      "first", "second", "third", "fourth", "fifth", "sixth", "seventh",
      "eighth", "ninth", "tenth", "rise", "rises", "rose", "risen", "fall",
      "falls", "fell", "fallen", "up", "down", "higher", "lower", "gain",
      "gains", "gained", "loss", "losses", "increase", "increased",
      "decrease", "decreased", "drop", "drops", "dropped", "not", "no",
      "never"};
  return *kWords;
}
// clang-format on

#undef NEWSDEDUP_DATE_WORDS

// First position in [i, n) of `p` holding an ASCII digit, or n. SSE2 (the
// x86-64 baseline) checks 16 bytes at a time: most paragraphs have few
// digits, so this replaces a loop over the bytes of every word.
inline size_t FindDigit(const unsigned char* p, size_t i, size_t n) {
#if defined(__SSE2__)
  const __m128i below_0 = _mm_set1_epi8('0' - 1);
  const __m128i above_9 = _mm_set1_epi8('9' + 1);
  while (i + 16 <= n) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    const unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(
        _mm_and_si128(_mm_cmpgt_epi8(v, below_0), _mm_cmplt_epi8(v, above_9))));
    if (mask != 0) return i + static_cast<size_t>(__builtin_ctz(mask));
    i += 16;
  }
#endif
  while (i < n && static_cast<unsigned char>(p[i] - '0') >= 10u) ++i;
  return i;
}

bool IsTeaserSeparator(std::string_view gap) {
  for (char c : gap) {
    if (c == ':' || c == '|' || c == '>') return true;
  }
  // "»" (C2 BB) and "–"/"—" (E2 80 93/94).
  return gap.find("\xC2\xBB") != std::string_view::npos ||
         gap.find("\xE2\x80\x93") != std::string_view::npos ||
         gap.find("\xE2\x80\x94") != std::string_view::npos;
}

// The boilerplate rules and caption patterns one sketching thread uses.
struct Patterns {
  BoilerplateRules rules;
  CaptionFinder captions;
};

}  // namespace

class Scanner::Impl {
 public:
  // `patterns`: the boilerplate rules and caption patterns of the calling
  // thread (shard 0).
  Impl(const ScanOptions& options, MinHasher hasher, LshParams params,
       Patterns patterns)
      : options_(options),
        hasher_(std::move(hasher)),
        params_(params),
        near_(NearOptions(options, params)) {
    const size_t shards = static_cast<size_t>(std::max(options_.threads, 1));
    scratches_.resize(shards);
    patterns_.resize(shards);
    patterns_[0] = std::make_unique<Patterns>(std::move(patterns));
    scratches_[0].patterns = patterns_[0].get();
    for (Scratch& scratch : scratches_) {
      scratch.signature.resize(hasher_.num_perm());
    }
  }

  ~Impl() {
    {
      // Nothing more is taken; the documents being sketched are finished
      // (they write into the batches) before the workers go.
      std::unique_lock<std::mutex> lock(pool_mu_);
      for (std::unique_ptr<Batch>& b : posted_) b->claimed = b->docs.size();
      progress_.wait(lock, [this] { return in_progress_ == 0; });
      stopping_ = true;
    }
    work_posted_.notify_all();
    for (std::thread& t : pool_) t.join();
  }

  void Add(Document doc) {
    if (filling_ == nullptr) filling_ = TakeBatch();
    Batch& batch = *filling_;
    if (batch.docs.empty()) batch.first_ordinal = added_;
    ++added_;
    batch.bytes += doc.text.size() + doc.title.size();
    batch.docs.push_back(std::move(doc));
    if (batch.docs.size() >= kBatchDocuments || batch.bytes >= kBatchBytes) {
      Post();
      MatchSketched(/*all=*/false);
    }
  }

  // Takes *doc, and leaves in it a spent document, if there is one.
  void Add(Document* doc) {
    recycling_ = true;
    Add(std::move(*doc));
    if (spent_.empty()) {
      *doc = Document();
    } else {
      *doc = std::move(spent_.back());
      spent_.pop_back();
      spent_bytes_ -= StringBytes(*doc);
    }
  }

  // Sketches and settles what is buffered; with nothing buffered (after an
  // earlier Flush) it does nothing.
  void Flush() {
    if (filling_ != nullptr && !filling_->docs.empty()) Post();
    MatchSketched(/*all=*/true);
  }

  absl::Status Finish() {
    Flush();
    std::vector<Document> spent;
    spent.swap(spent_);
    spent_bytes_ = 0;
    if (!status_.ok()) return status_;
    // Headlines and paragraphs touch different units: with threads to
    // spare, they are matched side by side, and the shorter side also
    // frees the spent documents and gathers what boilerplate learning
    // needs of the exact repeats (on Reuters 2006-2010 the headlines take
    // a third of the paragraphs' time).
    const bool learn = options_.boilerplate_min_docs > 0;
    BoilerplateFacts facts;
    absl::Status s;
    if (options_.threads > 1) {
      std::thread beside([&]() {
        std::vector<Document>().swap(spent);
        if (options_.news_structure) MatchHeadlines();
        if (learn) facts = GatherBoilerplateFacts();
      });
      s = MatchNear();
      beside.join();
    } else {
      std::vector<Document>().swap(spent);
      s = MatchNear();
      if (s.ok() && options_.news_structure) MatchHeadlines();
      if (s.ok() && learn) facts = GatherBoilerplateFacts();
    }
    if (!s.ok()) return s;
    if (learn) LearnBoilerplate(facts);
    facts = BoilerplateFacts();
    AssignGroups();
    stats_.index_bytes = MemoryBytes();
    stats_.buffer_bytes = near_.stats().peak_buffer_bytes;
    return absl::OkStatus();
  }

  void ForEachSpan(const std::function<void(const SpanRecord&)>& fn) const {
    for (size_t i = 0; i < units_.size(); ++i) {
      SpanRecord span;
      if (Describe(static_cast<uint32_t>(i), &span)) fn(span);
    }
  }

  // The spans, listed a range of units at a time on all threads: each
  // range's spans counted first, then written in place.
  std::vector<SpanRecord> Spans() const {
    const size_t parts = UnitParts();
    std::vector<size_t> start(parts + 1, 0);
    ForEachUnitPart([&](size_t p, uint32_t begin, uint32_t end) {
      size_t n = 0;
      for (uint32_t i = begin; i < end; ++i) n += Reported(i) ? 1 : 0;
      start[p + 1] = n;
    });
    for (size_t p = 0; p < parts; ++p) start[p + 1] += start[p];
    std::vector<SpanRecord> spans(start[parts]);
    ForEachUnitPart([&](size_t p, uint32_t begin, uint32_t end) {
      SpanRecord* out = spans.data() + start[p];
      for (uint32_t i = begin; i < end; ++i) {
        if (Describe(i, out)) ++out;
      }
    });
    return spans;
  }

  const ScanStats& stats() const { return stats_; }

  void set_sharded_token_sink(ShardedTokenSink sink) {
    sharded_sink_ = std::move(sink);
  }

  void set_worker_task(std::function<void()> task) {
    std::unique_lock<std::mutex> lock(pool_mu_);
    progress_.wait(lock, [this] { return task_calls_ == 0; });
    worker_task_ = std::move(task);
  }

 private:
  // ---- Parallel stage: one document at a time, no shared writes. ----

  // Cache-line aligned: each thread's vectors grow with every token.
  struct alignas(64) Scratch {
    const Patterns* patterns = nullptr;  // the thread's own, or shard 0's
    std::vector<Token> tokens;  // of the text field; the token sink's after
                                // SketchDocument
    std::vector<Token> title_tokens;
    std::vector<uint64_t> shingles;
    std::vector<uint32_t> signature;
    std::vector<uint64_t> word_hashes;  // a paragraph's, against the headline
  };

  void AddParagraphUnit(const Document& doc, const std::vector<Token>& tokens,
                        uint32_t begin, uint32_t end, Scratch* scratch,
                        DocumentSketch* out) {
    Trim(doc.text, &begin, &end);
    if (begin >= end) return;
    const absl::Span<const Token> words = TokensIn(tokens, begin, end);
    if (words.size() < static_cast<size_t>(options_.min_exact_tokens)) return;
    UnitSketch u;
    u.range = {begin, end};
    u.tokens = static_cast<uint32_t>(words.size());
    // Numbers, dates and direction words: a near match by a few edited
    // words must keep them ("February sales fell 5.8 percent" is not a
    // re-filing of "October sales fell 2.4 percent").
    uint64_t facts = 0x1F83D9ABFB41BD6BULL;
    const auto* bytes = reinterpret_cast<const unsigned char*>(doc.text.data());
    size_t digit = FindDigit(bytes, begin, end);
    SequenceHasher sequence(words.size());  // in the same loop: it overlaps
    const WordSet& fact_words = ParagraphFactWords();
    for (const Token& t : words) {
      sequence.Add(t.hash);
      if (digit < t.begin) digit = FindDigit(bytes, t.begin, end);
      const bool number = digit < t.end;
      if (number) digit = FindDigit(bytes, t.end, end);
      if (number || fact_words.Contains(t.hash)) {
        facts = CombineOrdered(facts, t.hash);
      }
    }
    u.sequence_hash = sequence.Finish();
    u.facts = facts;
    u.shingle_begin = u.shingle_end =
        static_cast<uint32_t>(out->shingles.size());
    u.keys_begin = static_cast<uint32_t>(out->band_keys.size());
    if (words.size() >= static_cast<size_t>(options_.min_tokens) &&
        words.size() >= static_cast<size_t>(options_.shingle_size)) {
      scratch->shingles.clear();
      ShingleHashes(words, options_.shingle_size, &scratch->shingles);
      hasher_.Sketch(scratch->shingles, scratch->signature.data());
      out->band_keys.resize(out->band_keys.size() + params_.bands);
      BandKeys(scratch->signature.data(), params_,
               out->band_keys.data() + u.keys_begin);
      // The matcher sorts them into a set when it verifies a candidate.
      const size_t first = out->shingles.size();
      out->shingles.resize(first + scratch->shingles.size());
      uint32_t* fingerprints = out->shingles.data() + first;
      for (size_t k = 0; k < scratch->shingles.size(); ++k) {
        fingerprints[k] = static_cast<uint32_t>(scratch->shingles[k] >> 32);
      }
      u.shingle_end = static_cast<uint32_t>(out->shingles.size());
    }
    if (options_.news_structure && words.size() <= kTeaserMaxWords) {
      // "LABEL: anything" where LABEL is 1-4 words: the label is a teaser
      // prefix candidate, learned when it repeats across a site.
      for (size_t k = 1; k <= 4 && k < words.size(); ++k) {
        const std::string_view gap(doc.text.data() + words[k - 1].end,
                                   words[k].begin - words[k - 1].end);
        if (IsTeaserSeparator(gap)) {
          u.teaser_key = SequenceHash(words.subspan(0, k)) | 1;
          break;
        }
      }
    }
    out->units.push_back(u);
  }

  void AddPatternUnit(const Document& doc, const std::vector<Token>& tokens,
                      UnitKind kind, uint32_t begin, uint32_t end,
                      DocumentSketch* out) {
    Trim(doc.text, &begin, &end);
    if (begin >= end) return;
    UnitSketch u;
    u.range = {begin, end};
    u.kind = kind;
    const absl::Span<const Token> words = TokensIn(tokens, begin, end);
    u.tokens = static_cast<uint32_t>(words.size());
    u.sequence_hash = SequenceHash(words);
    out->units.push_back(u);
  }

  // Splits one paragraph of the text field into units.
  void SketchParagraph(const Document& doc, ByteRange paragraph,
                       const std::vector<Token>& tokens,
                       absl::Span<const uint64_t> title_all,
                       absl::Span<const uint64_t> title_core,
                       ByteRange title_in_text, Scratch* scratch,
                       DocumentSketch* out) {
    uint32_t pos = paragraph.begin, end = paragraph.end;
    if (!options_.news_structure) {
      AddParagraphUnit(doc, tokens, pos, end, scratch, out);
      return;
    }
    // The headline line of a text file is the title unit itself.
    if (title_in_text.end > title_in_text.begin && pos < title_in_text.end &&
        end > title_in_text.begin) {
      pos = std::max(pos, title_in_text.end);
      Trim(doc.text, &pos, &end);
      if (pos >= end) return;
    }
    // Boilerplate rules: a leading line, a trailer.
    for (const BoilerplateMatch& m : scratch->patterns->rules.MatchAll(
             std::string_view(doc.text).substr(pos, end - pos))) {
      const uint32_t b = pos + m.range.begin, e = pos + m.range.end;
      AddPatternUnit(doc, tokens, UnitKind::kRule, b, e, out);
      if (b == pos) {
        pos = e;
      } else {
        end = b;
      }
    }
    Trim(doc.text, &pos, &end);
    if (pos >= end) return;
    // The headline repeated in the body: the whole paragraph, or its start.
    if (!title_core.empty()) {
      const absl::Span<const Token> words = TokensIn(tokens, pos, end);
      WordHashes(words, &scratch->word_hashes);
      const absl::Span<const uint64_t> w(scratch->word_hashes);
      UnitSketch u;
      u.kind = UnitKind::kBodyHeadline;
      bool found = false;
      if (w == title_all || w == title_core) {
        found = true;
        u.range = {pos, end};
      } else if (title_core.size() >=
                     static_cast<size_t>(options_.headline_near_min_words) &&
                 WithinOneWordEdit(w, title_core)) {
        found = true;
        u.range = {pos, end};
        u.exact = false;
        u.similarity = static_cast<float>(WordSetJaccard(w, title_core));
      } else {
        for (absl::Span<const uint64_t> t : {title_all, title_core}) {
          if (t.size() >= 4 && w.size() > t.size() &&
              std::equal(t.begin(), t.end(), w.begin())) {
            found = true;
            u.range = {pos, words[t.size() - 1].end};
            break;
          }
        }
      }
      if (found) {
        u.tokens = static_cast<uint32_t>(words.size());
        out->units.push_back(u);
        pos = u.range.end;
        Trim(doc.text, &pos, &end);
        if (pos >= end) return;
      }
    }
    // Captions: leading and trailing.
    for (const ByteRange& c : scratch->patterns->captions.Find(
             std::string_view(doc.text).substr(pos, end - pos))) {
      const uint32_t b = pos + c.begin, e = pos + c.end;
      AddPatternUnit(doc, tokens, UnitKind::kCaption, b, e, out);
      if (b == pos) {
        pos = e;
      } else {
        end = b;
      }
    }
    AddParagraphUnit(doc, tokens, pos, end, scratch, out);
  }

  void SketchDocument(const Document& doc, Scratch* scratch,
                      DocumentSketch* out) {
    out->units.clear();
    out->shingles.clear();
    out->band_keys.clear();
    out->title_words.clear();
    out->title_tail_words = 0;
    out->title_tail_hash = 0;
    std::vector<Token>& tokens = scratch->tokens;
    tokens.clear();
    Tokenize(doc.text, 0, &tokens);

    // The headline: its words, and its core without decorations.
    std::vector<uint64_t> title_all, title_core;
    ByteRange title_in_text{0, 0};
    if (options_.news_structure && !doc.title.empty()) {
      const bool in_text =
          doc.title_offset >= 0 &&
          static_cast<size_t>(doc.title_offset) + doc.title.size() <=
              doc.text.size();
      const uint32_t base =
          in_text ? static_cast<uint32_t>(doc.title_offset) : 0;
      scratch->title_tokens.clear();
      Tokenize(doc.title, base, &scratch->title_tokens);
      const ByteRange core = HeadlineCore(doc.title);
      const ByteRange tail = HeadlineTail(doc.title);
      title_all = WordHashes(scratch->title_tokens);
      title_core = WordHashes(
          TokensIn(scratch->title_tokens, base + core.begin, base + core.end));
      if (tail.end > tail.begin && tail.end <= core.end &&
          tail.begin >= core.begin) {
        const auto tail_tokens =
            TokensIn(scratch->title_tokens, base + tail.begin, base + tail.end);
        if (tail_tokens.size() < title_core.size()) {
          out->title_tail_words = static_cast<uint32_t>(tail_tokens.size());
          out->title_tail_hash = SequenceHash(tail_tokens);
        }
      }
      // Stored for cross-document matching with the lowest bit marking
      // "contrastive" words: numbers, dates, directions. Headlines differing
      // in one such word are different stories ("Jobless claims rise" /
      // "... fall", "... in third quarter" / "... fourth quarter").
      {
        const absl::Span<const Token> core_tokens =
            TokensIn(scratch->title_tokens, base + core.begin, base + core.end);
        out->title_words.clear();
        const std::string_view title_bytes(doc.title);
        for (const Token& t : core_tokens) {
          const std::string_view word =
              title_bytes.substr(t.begin - base, t.end - t.begin);
          const bool contrastive =
              word.find_first_of("0123456789") != std::string_view::npos ||
              IsContrastiveWord(t.hash);
          out->title_words.push_back((t.hash & ~uint64_t{1}) |
                                     (contrastive ? 1 : 0));
        }
      }
      UnitSketch u;
      u.kind = UnitKind::kTitle;
      u.field = in_text ? kTextField : kTitleField;
      uint32_t b = base, e = base + static_cast<uint32_t>(doc.title.size());
      Trim(in_text ? std::string_view(doc.text) : std::string_view(doc.title),
           &b, &e);
      u.range = {b, e};
      u.tokens = static_cast<uint32_t>(title_all.size());
      u.sequence_hash = SequenceHash(scratch->title_tokens);
      if (b < e) out->units.push_back(u);
      if (in_text) title_in_text = {b, e};
    }
    for (const ByteRange& paragraph :
         SegmentParagraphs(doc.text, options_.segment)) {
      SketchParagraph(doc, paragraph, tokens, title_all, title_core,
                      title_in_text, scratch, out);
    }
    std::stable_sort(out->units.begin(), out->units.end(),
                     [](const UnitSketch& a, const UnitSketch& b) {
                       return a.field != b.field
                                  ? a.field < b.field
                                  : a.range.begin < b.range.begin;
                     });
  }

  // Sketching: filled batches are posted to a queue, in input order, and
  // sketched a document at a time by the workers (threads - 1 of them,
  // started with the first batch and kept to the end, each with its own
  // scratch) and by the matching thread when the queue is full; each
  // document's sketch lands in its own slot, so who sketched what does not
  // matter. Batches are matched in input order as their sketching ends, so
  // the output does not depend on the thread count. The reading thread goes
  // on reading while fewer than kPostedBatches batches wait: the workers do
  // not run dry at the end of a batch, and the matching thread does not
  // wait for the last document of one while others are still to be
  // sketched. With one thread each batch is sketched and matched in turn.
  // The queue is short: the later a document is sketched after it was
  // read, the further its text has fallen out of the caches (four batches
  // of 256 waiting cost 1 µs a document on Reuters 2006-2010, 9% of the
  // sketching, at one thread as at two).
  static constexpr size_t kPostedBatches = 3;

  // Units per range where the spans are counted or listed on all threads.
  static constexpr size_t kUnitsPerPart = size_t{1} << 14;

  size_t UnitParts() const {
    return (units_.size() + kUnitsPerPart - 1) / kUnitsPerPart;
  }

  // Calls fn(part, begin, end) for every range of units, on all threads.
  template <typename Fn>
  void ForEachUnitPart(const Fn& fn) const {
    internal::ParallelFor(UnitParts(), options_.threads, [&](size_t p) {
      const size_t begin = p * kUnitsPerPart;
      const size_t end = std::min(units_.size(), begin + kUnitsPerPart);
      fn(p, static_cast<uint32_t>(begin), static_cast<uint32_t>(end));
    });
  }

  // The first posted document not yet taken, oldest batch first; false
  // when there is none. Under pool_mu_.
  bool Claim(Batch** batch, size_t* index) {
    for (const std::unique_ptr<Batch>& b : posted_) {
      if (b->claimed < b->docs.size()) {
        *batch = b.get();
        *index = b->claimed++;
        ++in_progress_;
        return true;
      }
    }
    return false;
  }

  // Sketches a claimed document; `lock` (on pool_mu_) is released meanwhile.
  // `shard`: 0 for the matching thread, 1.. for the workers.
  void SketchClaimed(Batch* batch, size_t i, int shard,
                     std::unique_lock<std::mutex>* lock) {
    lock->unlock();
    Scratch& scratch = scratches_[static_cast<size_t>(shard)];
    if (options_.threads > 1) Prefetch(batch->docs[i]);
    SketchDocument(batch->docs[i], &scratch, &batch->sketches[i]);
    if (sharded_sink_) {
      sharded_sink_(shard, batch->first_ordinal + static_cast<uint32_t>(i),
                    scratch.tokens);
    }
    // The scratch lives as long as the scanner: what a very long record
    // made it grow to is given back.
    ReleaseIfLarge(&scratch.tokens);
    ReleaseIfLarge(&scratch.title_tokens);
    ReleaseIfLarge(&scratch.shingles);
    ReleaseIfLarge(&scratch.word_hashes);
    lock->lock();
    --in_progress_;
    if (++batch->sketched == batch->docs.size() || in_progress_ == 0) {
      progress_.notify_all();
    }
  }

  // Asks for a document's title and text (up to 32 KiB, about the L1
  // cache) at once: the sketch then finds them in cache, where its first
  // pass alone would have waited on them a few lines at a time (they were
  // read a batch or two ago, by the reading thread). -4% of the read
  // phase's CPU at two threads; with one, the text was just read and is
  // still in cache.
  static void Prefetch(const Document& doc) {
    constexpr size_t kLine = 64;
    constexpr size_t kMost = size_t{32} << 10;
    for (const std::string* s : {&doc.title, &doc.text}) {
      const size_t n = std::min(s->size(), kMost);
      for (size_t o = 0; o < n; o += kLine) __builtin_prefetch(s->data() + o);
    }
  }

  template <typename T>
  static void ReleaseIfLarge(std::vector<T>* v) {
    if (v->capacity() * sizeof(T) > kScratchKeptBytes)
      std::vector<T>().swap(*v);
  }

  // A worker: sketches posted documents until the scanner goes away,
  // running the worker task before each one and before it waits.
  void Work(int shard) {
    BuildWorkerPatterns(static_cast<size_t>(shard));
    std::unique_lock<std::mutex> lock(pool_mu_);
    while (true) {
      if (worker_task_ && !stopping_) {
        ++task_calls_;
        lock.unlock();
        worker_task_();
        lock.lock();
        if (--task_calls_ == 0) progress_.notify_all();
      }
      Batch* batch = nullptr;
      size_t i = 0;
      work_posted_.wait(lock, [&] { return stopping_ || Claim(&batch, &i); });
      if (stopping_) return;
      SketchClaimed(batch, i, shard, &lock);
    }
  }

  // A worker's own patterns, built as it starts (beside the reading, not
  // before it: about 5 ms of captions and 2-3 ms of rules): RE2 locks each
  // expression's cache, and threads sharing one wait on each other. The
  // rules are cloned from shard 0's, whose sources never change. Without
  // news structure no pattern is used. Should a build fail (it compiled
  // once already: memory ran out), the worker shares shard 0's patterns:
  // slower, the same spans.
  void BuildWorkerPatterns(size_t shard) {
    const Patterns& first = *patterns_[0];
    scratches_[shard].patterns = &first;
    if (!options_.news_structure) return;
    absl::StatusOr<BoilerplateRules> rules = first.rules.Clone();
    absl::StatusOr<CaptionFinder> captions = CaptionFinder::Create();
    assert(rules.ok() && captions.ok());
    if (rules.ok() && captions.ok()) {
      patterns_[shard] = std::make_unique<Patterns>(
          Patterns{std::move(*rules), std::move(*captions)});
      scratches_[shard].patterns = patterns_[shard].get();
    }
  }

  // An empty batch to fill: a matched one, or a new one.
  std::unique_ptr<Batch> TakeBatch() {
    if (spare_batches_.empty()) return std::make_unique<Batch>();
    std::unique_ptr<Batch> b = std::move(spare_batches_.back());
    spare_batches_.pop_back();
    return b;
  }

  // Queues the batch being filled for sketching.
  void Post() {
    Batch* batch = filling_.get();
    if (batch->sketches.size() < batch->docs.size()) {
      batch->sketches.resize(batch->docs.size());
    }
    batch->claimed = batch->sketched = 0;
    const int workers = options_.threads - 1;
    if (workers > 0 && pool_.empty()) {
      for (int w = 0; w < workers; ++w) {
        pool_.emplace_back([this, w]() { Work(w + 1); });
      }
    }
    {
      std::lock_guard<std::mutex> lock(pool_mu_);
      posted_.push_back(std::move(filling_));
    }
    if (workers > 0) work_posted_.notify_all();
  }

  // Matches the posted batches whose sketching is done, in input order.
  // `all`: every posted batch, sketching what is left; otherwise only
  // while kPostedBatches or more wait (the caller then reads on), helping
  // to sketch the oldest instead of waiting where the workers are behind.
  void MatchSketched(bool all) {
    std::unique_lock<std::mutex> lock(pool_mu_);
    while (!posted_.empty()) {
      Batch* front = posted_.front().get();
      if (front->sketched == front->docs.size()) {
        std::unique_ptr<Batch> done = std::move(posted_.front());
        posted_.pop_front();
        lock.unlock();
        MatchBatch(done.get());
        lock.lock();
        spare_batches_.push_back(std::move(done));
        continue;
      }
      if (!all && !pool_.empty() && posted_.size() < kPostedBatches) break;
      Batch* batch = nullptr;
      size_t i = 0;
      if (Claim(&batch, &i)) {
        SketchClaimed(batch, i, 0, &lock);
      } else {
        progress_.wait(
            lock, [front] { return front->sketched == front->docs.size(); });
      }
    }
  }

  static size_t StringBytes(const Document& doc) {
    return doc.id.capacity() + doc.site.capacity() + doc.title.capacity() +
           doc.text.capacity() + doc.source.capacity() + doc.raw.capacity();
  }

  void MatchBatch(Batch* batch) {
    for (size_t i = 0; i < batch->docs.size(); ++i) {
      Match(batch->docs[i], batch->sketches[i]);
    }
    // Matched documents are handed back to Add(Document*)'s caller emptied,
    // their strings keeping their memory: the next records are read into
    // them. Only small ones: a few long records would otherwise keep their
    // size in every buffer they pass through.
    for (Document& doc : batch->docs) {
      if (!recycling_) break;
      const size_t bytes = StringBytes(doc);
      if (bytes > kRecycledBytes || spent_bytes_ + bytes > kSpentBytes) {
        continue;
      }
      spent_bytes_ += bytes;
      doc.id.clear();
      doc.site.clear();
      doc.title.clear();
      doc.text.clear();
      doc.source.clear();
      doc.raw.clear();
      doc.line = 0;
      doc.title_offset = -1;
      spent_.push_back(std::move(doc));
    }
    batch->docs.clear();
    batch->bytes = 0;
    // The sketches stay for the batch's next use, but not what a very long
    // record made them grow to.
    for (DocumentSketch& sketch : batch->sketches) {
      ReleaseIfLarge(&sketch.shingles);
      ReleaseIfLarge(&sketch.band_keys);
    }
  }

  // ---- Sequential stage, in input order. ----

  uint32_t SiteId(const std::string& site) {
    if (site.empty()) return 0;
    auto [it, inserted] = site_ids_.try_emplace(
        site, static_cast<uint32_t>(site_ids_.size() + 1));
    return it->second;
  }

  void Match(const Document& doc, const DocumentSketch& sketch) {
    const uint32_t doc_index = static_cast<uint32_t>(doc_ids_.size());
    doc_ids_.push_back(doc.id);
    doc_sites_.push_back(SiteId(doc.site));
    ++stats_.documents;
    stats_.text_bytes += doc.text.size();
    uint32_t title_unit = kNone;
    for (const UnitSketch& s : sketch.units) {
      const uint32_t id = static_cast<uint32_t>(units_.size());
      UnitInfo info{doc_index, s.range.begin, s.range.end, id,
                    id,        kNone,         1.0f,        s.kind,
                    s.field,   true,          Learned::kNo};
      switch (s.kind) {
        case UnitKind::kTitle:
          title_unit = id;
          titles_.push_back({id, doc_sites_.back(),
                             static_cast<uint32_t>(title_words_.size()),
                             static_cast<uint32_t>(sketch.title_words.size()),
                             sketch.title_tail_words, sketch.title_tail_hash});
          title_words_.insert(title_words_.end(), sketch.title_words.begin(),
                              sketch.title_words.end());
          break;
        case UnitKind::kBodyHeadline:
          if (title_unit != kNone) {
            info.first = title_unit;
            info.similarity = s.similarity;
            info.exact = s.exact;
          }
          break;
        case UnitKind::kCaption: {
          // A caption seen before is a repeat of its first occurrence.
          auto [it, fresh] = caption_roots_.try_emplace(s.sequence_hash, id);
          if (!fresh) info.first = info.exact_root = it->second;
          break;
        }
        case UnitKind::kRule: {
          auto [it, fresh] = rule_roots_.try_emplace(s.sequence_hash, id);
          info.exact_root = it->second;
          break;
        }
        case UnitKind::kParagraph:
          ++stats_.paragraphs;
          MatchParagraph(sketch, s, id, &info);
          if (s.teaser_key != 0) teaser_keys_.emplace(id, s.teaser_key);
          break;
      }
      units_.push_back(info);
    }
  }

  void MatchParagraph(const DocumentSketch& sketch, const UnitSketch& p,
                      uint32_t id, UnitInfo* info) {
    // 1. Exact repeat of an earlier paragraph: the same cluster as it (its
    // first is settled by MatchNear).
    auto [exact_it, fresh] = exact_.try_emplace(p.sequence_hash, id);
    if (!fresh) {
      info->exact_root = exact_it->second;
      return;
    }
    if (p.shingle_end == p.shingle_begin || !status_.ok()) return;
    // 2. Near repeat candidate: matched at Finish, in input order.
    const absl::Span<const uint32_t> shingles(
        sketch.shingles.data() + p.shingle_begin,
        p.shingle_end - p.shingle_begin);
    status_ = near_.Add(id, sketch.band_keys.data() + p.keys_begin, shingles,
                        p.facts);
  }

  // Settles near repeats, then gives exact repeats their root's cluster.
  absl::Status MatchNear() {
    absl::Status s =
        near_.Finish([this](uint32_t unit, uint32_t first, float similarity) {
          UnitInfo& u = units_[unit];
          u.first = first;
          u.similarity = similarity;
          u.exact = false;
        });
    const internal::NearMatchStats& near = near_.stats();
    stats_.indexed = near.paragraphs;
    stats_.unindexed = near.unindexed;
    stats_.candidates = near.candidates;
    stats_.spilled_bytes = near.bytes_spilled;
    stats_.match_seconds = near.finish_seconds;
    if (!s.ok()) return s;
    for (uint32_t id = 0; id < units_.size(); ++id) {
      UnitInfo& u = units_[id];
      if (u.kind != UnitKind::kParagraph || u.exact_root == id) continue;
      // The root is never an exact repeat itself: it is settled.
      const UnitInfo& root = units_[u.exact_root];
      u.first = root.first;
      u.similarity = root.similarity;
      u.exact = root.exact;
    }
    return absl::OkStatus();
  }

  static internal::NearMatchOptions NearOptions(const ScanOptions& options,
                                                const LshParams& params) {
    internal::NearMatchOptions o;
    o.params = params;
    o.threshold = options.threshold;
    // A few edited words weigh heavily in a short paragraph: each one
    // changes `shingle_size` shingles on both sides, so e edited words
    // leave a symmetric difference of at most 2 * shingle_size * e. Only
    // for paragraphs of 20+ words: in a short formulaic sentence ("X could
    // not be reached for comment") the edited words are the whole news.
    o.max_difference = static_cast<uint32_t>(2 * options.shingle_size *
                                             options.max_edit_words);
    o.min_edit_shingles = kMinEditShingles;
    o.bucket_window = kBucketWindow;
    o.memory_limit = options.memory_limit;
    o.temp_dir = options.temp_dir;
    o.threads = options.threads;
    return o;
  }

  // ---- At Finish: headlines across documents. ----

  void MatchHeadlines() {
    // Site decorations: a trailing segment repeated across a site's titles.
    absl::flat_hash_map<std::pair<uint32_t, uint64_t>, uint32_t> tail_counts;
    for (const TitleData& t : titles_) {
      if (t.tail_words > 0) ++tail_counts[{t.site, t.tail_hash}];
    }
    absl::flat_hash_map<uint64_t, uint32_t> exact_keys;  // -> title index
    // Kept titles by deletion key: the low 32 bits of the key -> the latest
    // entry, entries chained to older ones (24-30 bytes per key instead of
    // a vector per key; titles sharing 32 bits by chance fail the word
    // comparison).
    absl::flat_hash_map<uint32_t, uint32_t> near_heads;
    std::vector<uint32_t> near_titles, near_next;
    std::vector<uint64_t> keys;
    for (uint32_t ti = 0; ti < titles_.size(); ++ti) {
      TitleData& t = titles_[ti];
      if (t.tail_words > 0 && tail_counts[{t.site, t.tail_hash}] >= 3) {
        t.words_count -= t.tail_words;  // learned decoration: drop it
      }
      if (t.words_count < static_cast<uint32_t>(options_.headline_min_words)) {
        continue;
      }
      const absl::Span<const uint64_t> words = TitleWords(t);
      UnitInfo& unit = units_[t.unit];
      const uint64_t key = Finalize(HashWordsKey(words));
      auto [it, fresh] = exact_keys.try_emplace(key, ti);
      if (!fresh) {
        const UnitInfo& earlier = units_[titles_[it->second].unit];
        unit.first = earlier.first;
        unit.exact_root = titles_[it->second].unit;
        unit.similarity = earlier.similarity;
        unit.exact = earlier.exact;
        continue;
      }
      keys.clear();
      DeletionKeys(words, options_.headline_near_min_words, &keys);
      bool matched = false;
      if (words.size() >=
          static_cast<size_t>(options_.headline_near_min_words)) {
        std::vector<uint32_t> candidates;
        for (uint64_t k : keys) {
          auto found = near_heads.find(static_cast<uint32_t>(k));
          if (found == near_heads.end()) continue;
          for (uint32_t e = found->second; e != kNone; e = near_next[e]) {
            candidates.push_back(near_titles[e]);
          }
        }
        SortedUnique(&candidates);
        for (uint32_t c : candidates) {
          const absl::Span<const uint64_t> other = TitleWords(titles_[c]);
          if (WithinOneWordEdit(words, other) &&
              !DiffersInContrastiveWord(words, other)) {
            unit.first = titles_[c].unit;
            unit.similarity = static_cast<float>(WordSetJaccard(words, other));
            unit.exact = false;
            matched = true;
            break;
          }
        }
      }
      if (!matched) {
        // A kept headline: findable by its deletion keys.
        for (uint64_t k : keys) {
          const uint32_t entry = static_cast<uint32_t>(near_titles.size());
          auto [head, fresh_key] =
              near_heads.try_emplace(static_cast<uint32_t>(k), entry);
          near_titles.push_back(ti);
          near_next.push_back(fresh_key ? kNone : head->second);
          head->second = entry;
        }
      }
    }
  }

  // For two word sequences within one edit: whether a word that differs
  // carries the contrastive mark (the lowest bit, see SketchDocument).
  static bool DiffersInContrastiveWord(absl::Span<const uint64_t> a,
                                       absl::Span<const uint64_t> b) {
    if (a.size() < b.size()) std::swap(a, b);
    size_t prefix = 0;
    while (prefix < b.size() && a[prefix] == b[prefix]) ++prefix;
    if (prefix == a.size()) return false;   // equal
    if ((a[prefix] & 1) != 0) return true;  // replaced or inserted word
    return a.size() == b.size() && (b[prefix] & 1) != 0;
  }

  static uint64_t HashWordsKey(absl::Span<const uint64_t> words) {
    uint64_t h = 0x452821E638D01377ULL ^ words.size();
    for (uint64_t w : words) h = CombineOrdered(h, w);
    return h;
  }

  absl::Span<const uint64_t> TitleWords(const TitleData& t) const {
    return absl::Span<const uint64_t>(title_words_.data() + t.words_begin,
                                      t.words_count);
  }

  // ---- At Finish: learned site boilerplate. ----

  // What boilerplate learning reads of the exact repeats alone, so that it
  // can be gathered while the near-duplicate matching runs.
  struct Longest {
    uint32_t unit = kNone;
    uint32_t length = 0;
  };
  struct BoilerplateFacts {
    // Per document, its longest paragraph and the longest one with other
    // text (see LearnBoilerplate).
    std::vector<Longest> top1, top2;
    absl::flat_hash_map<uint32_t, uint32_t> copies;  // exact root -> copies
    absl::flat_hash_map<uint32_t, uint32_t> site_docs;
  };

  // Reads only what reading settled (kinds, ranges, exact roots of
  // paragraphs): safe beside MatchNear, which writes `first`, `similarity`
  // and `exact`, and MatchHeadlines, which touches titles.
  BoilerplateFacts GatherBoilerplateFacts() const {
    BoilerplateFacts facts;
    facts.top1.resize(doc_ids_.size());
    facts.top2.resize(doc_ids_.size());
    for (uint32_t i = 0; i < units_.size(); ++i) {
      const UnitInfo& u = units_[i];
      if (u.kind != UnitKind::kParagraph) continue;
      const uint32_t length = u.end - u.begin;
      Longest& a = facts.top1[u.doc];
      Longest& b = facts.top2[u.doc];
      if (a.unit == kNone || length > a.length) {
        if (a.unit != kNone && units_[a.unit].exact_root != u.exact_root) b = a;
        a = {i, length};
      } else if (units_[a.unit].exact_root != u.exact_root &&
                 (b.unit == kNone || length > b.length)) {
        b = {i, length};
      }
    }
    for (uint32_t site : doc_sites_) ++facts.site_docs[site];
    // Only text occurring at least min_docs times can be under min_docs
    // stories: the sets in LearnBoilerplate hold those alone (a set entry
    // per paragraph took gigabytes at 100M paragraphs).
    for (uint32_t i = 0; i < units_.size(); ++i) {
      const UnitInfo& u = units_[i];
      if (u.kind == UnitKind::kParagraph && u.exact_root != i) {
        ++facts.copies[u.exact_root];
      }
    }
    return facts;
  }

  void LearnBoilerplate(const BoilerplateFacts& facts) {
    const uint32_t min_docs =
        static_cast<uint32_t>(options_.boilerplate_min_docs);
    // A document's story: the cluster of its longest paragraph. A story
    // re-filed five times on one site is not boilerplate of that site; a
    // line found under five different stories is. So repeats are counted in
    // distinct stories, not distinct documents. When the paragraph counted
    // is itself the longest (a long template block), the story is read from
    // the next longest paragraph with other text; a document with no other
    // paragraph has no story of its own (kNone) and counts once.
    const std::vector<Longest>& top1 = facts.top1;
    const std::vector<Longest>& top2 = facts.top2;
    const absl::flat_hash_map<uint32_t, uint32_t>& site_docs = facts.site_docs;
    const absl::flat_hash_map<uint32_t, uint32_t>& copies = facts.copies;
    auto story_of = [&](const UnitInfo& u) -> uint32_t {
      const Longest& a = top1[u.doc];
      if (units_[a.unit].exact_root != u.exact_root)
        return units_[a.unit].first;
      const Longest& b = top2[u.doc];
      return b.unit == kNone ? kNone : units_[b.unit].first;
    };
    auto may_repeat = [&](uint32_t root) {
      auto it = copies.find(root);
      return it != copies.end() && it->second + 1 >= min_docs;
    };
    absl::flat_hash_set<std::tuple<uint64_t, uint32_t, uint32_t>> seen;
    absl::flat_hash_map<std::pair<uint32_t, uint32_t>, uint32_t> text_counts;
    absl::flat_hash_map<std::pair<uint64_t, uint32_t>, uint32_t> teaser_counts;
    for (uint32_t i = 0; i < units_.size(); ++i) {
      const UnitInfo& u = units_[i];
      if (u.kind != UnitKind::kParagraph) continue;
      const uint32_t site = doc_sites_[u.doc];
      // Documents without a site share no template: nothing to learn.
      if (site == 0) continue;
      // Text keys and teaser keys live in different ranges of the set:
      // exact roots are < 2^32, teaser keys have their top bit set.
      auto teaser = teaser_keys_.find(i);
      const bool text = may_repeat(u.exact_root);
      if (!text && teaser == teaser_keys_.end()) continue;
      const uint32_t story = story_of(u);
      if (text && seen.insert({u.exact_root, site, story}).second) {
        ++text_counts[{u.exact_root, site}];
      }
      if (teaser != teaser_keys_.end() &&
          seen.insert({teaser->second | (uint64_t{1} << 63), site, story})
              .second) {
        ++teaser_counts[{teaser->second, site}];
      }
    }
    for (uint32_t i = 0; i < units_.size(); ++i) {
      UnitInfo& u = units_[i];
      if (u.kind != UnitKind::kParagraph) continue;
      const uint32_t site = doc_sites_[u.doc];
      // Documents without a site share no template: nothing to learn.
      if (site == 0) continue;
      auto text = text_counts.find({u.exact_root, site});
      if (text != text_counts.end() && text->second >= min_docs) {
        u.boilerplate = Learned::kText;
        continue;
      }
      // A teaser label must also head a real share of the site's stories
      // (2%): structured copy ("BONDS: ...", "WHAT: ...") repeats its labels
      // too, but only in the few stories of its kind.
      auto teaser = teaser_keys_.find(i);
      if (teaser != teaser_keys_.end()) {
        const uint32_t needed =
            std::max<uint32_t>(min_docs, (site_docs.at(site) + 49) / 50);
        auto count = teaser_counts.find({teaser->second, site});
        if (count != teaser_counts.end() && count->second >= needed) {
          u.boilerplate = Learned::kTeaser;
        }
      }
    }
    // Copies elsewhere are syndication: the earliest copy that is not
    // boilerplate is kept. Exact copies of a boilerplate first move to it.
    absl::flat_hash_map<uint32_t, uint32_t> kept;  // exact root -> kept unit
    for (uint32_t i = 0; i < units_.size(); ++i) {
      UnitInfo& u = units_[i];
      if (u.kind != UnitKind::kParagraph || u.boilerplate != Learned::kNo) {
        continue;
      }
      if (u.first == i || units_[u.first].boilerplate == Learned::kNo ||
          !u.exact) {
        continue;
      }
      auto [it, fresh] = kept.try_emplace(u.exact_root, i);
      u.first = it->second;
      u.similarity = 1.0f;
    }
  }

  // ---- Reporting. ----

  // True if unit i is reported.
  bool Reported(uint32_t i) const {
    const UnitInfo& u = units_[i];
    switch (u.kind) {
      case UnitKind::kCaption:
      case UnitKind::kRule:
        return true;
      case UnitKind::kBodyHeadline:
        return u.first != i;
      case UnitKind::kTitle:
        return u.first != i;
      case UnitKind::kParagraph:
        return u.boilerplate != Learned::kNo || u.first != i;
    }
    return false;
  }

  // The group a unit is counted in: its kept copy, or for boilerplate and
  // pattern units the earliest copy of the same text.
  uint32_t GroupOf(uint32_t i) const {
    const UnitInfo& u = units_[i];
    switch (u.kind) {
      case UnitKind::kRule:
        return u.exact_root;
      case UnitKind::kCaption:
        return u.exact_root;
      case UnitKind::kBodyHeadline:
        // Body repeats of one headline form a group with the headline.
        return u.first;
      case UnitKind::kTitle:
        return u.first;
      case UnitKind::kParagraph:
        return u.boilerplate != Learned::kNo ? u.exact_root : u.first;
    }
    return i;
  }

  void AssignGroups() {
    // Group sizes, counting every member (kept copies too).
    std::vector<uint32_t> size(units_.size(), 0);
    for (uint32_t i = 0; i < units_.size(); ++i) {
      UnitInfo& u = units_[i];
      u.group = GroupOf(i);
      ++size[u.group];
    }
    group_sizes_ = std::move(size);
    // Cluster numbers in order of the groups' first members, for groups
    // with a reported member.
    cluster_ids_.assign(units_.size(), 0);
    uint32_t next = 1;
    for (uint32_t i = 0; i < units_.size(); ++i) {
      if (!Reported(i)) continue;
      const uint32_t g = units_[i].group;
      if (cluster_ids_[g] == 0) cluster_ids_[g] = next++;
    }
    // Renumber in order of the group representative, so cluster numbers
    // follow input order of first occurrences.
    std::vector<uint32_t> reps;
    for (uint32_t g = 0; g < units_.size(); ++g) {
      if (cluster_ids_[g] != 0) reps.push_back(g);
    }
    for (uint32_t k = 0; k < reps.size(); ++k) cluster_ids_[reps[k]] = k + 1;
    stats_.clusters = reps.size();
    // The span counts, a range of units at a time on all threads, summed in
    // order.
    constexpr size_t kKinds = std::size(ScanStats().spans_by_kind);
    static_assert(std::size(ScanStats().bytes_by_kind) == kKinds);
    struct Counts {
      uint64_t flagged = 0, exact = 0, bytes = 0;
      uint64_t spans_by_kind[kKinds] = {};
      uint64_t bytes_by_kind[kKinds] = {};
    };
    std::vector<Counts> parts(UnitParts());
    ForEachUnitPart([&](size_t p, uint32_t begin, uint32_t end) {
      Counts c;  // here, not in parts: threads write parts side by side
      SpanRecord span;
      for (uint32_t i = begin; i < end; ++i) {
        if (!Describe(i, &span)) continue;
        const uint64_t bytes = span.at.end - span.at.start;
        ++c.flagged;
        c.exact += span.match == MatchType::kExact;
        c.bytes += bytes;
        ++c.spans_by_kind[static_cast<int>(span.kind)];
        c.bytes_by_kind[static_cast<int>(span.kind)] += bytes;
      }
      parts[p] = c;
    });
    for (const Counts& c : parts) {
      stats_.flagged += c.flagged;
      stats_.flagged_exact += c.exact;
      stats_.flagged_bytes += c.bytes;
      for (size_t k = 0; k < kKinds; ++k) {
        stats_.spans_by_kind[k] += c.spans_by_kind[k];
        stats_.bytes_by_kind[k] += c.bytes_by_kind[k];
      }
    }
  }

  uint32_t GroupCount(uint32_t i) const {
    const UnitInfo& u = units_[i];
    uint32_t count = group_sizes_[u.group];
    // A title that heads its own body repeats but belongs to another
    // headline group still counts as one occurrence here.
    if (u.kind == UnitKind::kBodyHeadline && units_[u.group].group != u.group) {
      ++count;
    }
    return count;
  }

  std::string_view FieldName(Field f) const {
    return f == kTitleField ? std::string_view(options_.title_field)
                            : std::string_view(options_.text_field);
  }

  Scope ScopeBetween(const UnitInfo& a, const UnitInfo& b) const {
    if (a.doc == b.doc) return Scope::kSameDocument;
    if (doc_sites_[a.doc] != 0 && doc_sites_[a.doc] == doc_sites_[b.doc]) {
      return Scope::kSameSite;
    }
    return Scope::kCrossSite;
  }

  bool Describe(uint32_t i, SpanRecord* span) const {
    if (!Reported(i)) return false;
    const UnitInfo& u = units_[i];
    span->at = {doc_ids_[u.doc], FieldName(u.field), u.begin, u.end};
    span->doc_ordinal = u.doc;
    span->is_title = u.kind == UnitKind::kTitle;
    span->cluster = cluster_ids_[u.group];
    span->count = GroupCount(i);
    span->has_first = u.first != i;
    span->similarity = u.exact ? 1.0 : u.similarity;
    span->match = u.exact ? MatchType::kExact : MatchType::kNear;
    switch (u.kind) {
      case UnitKind::kTitle:
      case UnitKind::kBodyHeadline:
        span->kind = SpanKind::kHeadline;
        break;
      case UnitKind::kCaption:
        span->kind = SpanKind::kCaption;
        if (!span->has_first) span->match = MatchType::kPattern;
        break;
      case UnitKind::kRule:
        span->kind = SpanKind::kBoilerplate;
        span->match = MatchType::kPattern;
        span->has_first = false;
        break;
      case UnitKind::kParagraph:
        if (u.boilerplate != Learned::kNo) {
          span->kind = SpanKind::kBoilerplate;
          span->has_first = false;
          span->match = u.boilerplate == Learned::kText ? MatchType::kExact
                                                        : MatchType::kPattern;
          span->similarity = 1.0;
        } else {
          span->kind = SpanKind::kParagraph;
        }
        break;
    }
    if (span->has_first) {
      const UnitInfo& f = units_[u.first];
      span->first = {doc_ids_[f.doc], FieldName(f.field), f.begin, f.end};
      span->first_ordinal = f.doc;
      span->scope = ScopeBetween(u, f);
    } else if (u.kind == UnitKind::kParagraph) {
      span->scope = Scope::kSameSite;  // learned from one site's documents
    } else {
      span->scope = Scope::kSameDocument;  // recognised in this document
    }
    return true;
  }

  // The per-paragraph tables at their largest.
  size_t MemoryBytes() const {
    return near_.stats().peak_table_bytes + units_.size() * sizeof(UnitInfo) +
           exact_.capacity() * 13 + title_words_.capacity() * sizeof(uint64_t) +
           titles_.capacity() * sizeof(TitleData);
  }

  ScanOptions options_;
  Scanner::ShardedTokenSink sharded_sink_;
  uint32_t added_ = 0;  // documents added so far
  MinHasher hasher_;
  LshParams params_;
  internal::NearMatcher near_;
  absl::Status status_;  // the first error of near_.Add
  // Per sketching thread (shard); a worker's is built by the worker.
  std::vector<std::unique_ptr<Patterns>> patterns_;
  std::unique_ptr<Batch> filling_;  // by Add(); null before the first
  std::vector<std::unique_ptr<Batch>> spare_batches_;  // matched, emptied
  std::vector<Document> spent_;     // matched, emptied, for Add to hand back
  size_t spent_bytes_ = 0;          // their string capacity
  bool recycling_ = false;          // Add(Document*) was called
  std::vector<Scratch> scratches_;  // per sketching thread (shard)
  // The sketching workers and their hand-over, under pool_mu_: the batches
  // posted and not yet matched, in input order, and the number of documents
  // being sketched.
  std::vector<std::thread> pool_;
  std::mutex pool_mu_;
  std::condition_variable work_posted_;  // a batch is posted, or stopping_
  std::condition_variable progress_;     // a batch is sketched, none is
                                         // being sketched, or no task runs
  std::deque<std::unique_ptr<Batch>> posted_;
  size_t in_progress_ = 0;
  bool stopping_ = false;
  // Run by the workers before each document (SetWorkerTask); task_calls_
  // of them are running.
  std::function<void()> worker_task_;
  size_t task_calls_ = 0;

  std::vector<std::string> doc_ids_;
  std::vector<uint32_t> doc_sites_;  // 0: no site
  absl::flat_hash_map<std::string, uint32_t> site_ids_;
  // A deque: no doubling and copying of a table of 32 bytes per unit (3.6 GB
  // at 100M paragraphs).
  std::deque<UnitInfo> units_;
  absl::flat_hash_map<uint64_t, uint32_t> exact_;  // paragraph text -> first
  absl::flat_hash_map<uint64_t, uint32_t> caption_roots_;
  absl::flat_hash_map<uint64_t, uint32_t> rule_roots_;
  absl::flat_hash_map<uint32_t, uint64_t> teaser_keys_;  // unit -> key
  std::vector<TitleData> titles_;
  std::vector<uint64_t> title_words_;
  std::vector<uint32_t> group_sizes_;
  std::vector<uint32_t> cluster_ids_;
  ScanStats stats_;
};

namespace {

// The boilerplate rules (built-in, and the options' file) and the caption
// patterns, compiled.
absl::StatusOr<Patterns> BuildPatterns(const ScanOptions& options) {
  BoilerplateRules rules = BoilerplateRules::Empty();
  if (options.news_structure && options.builtin_rules) {
    auto builtin = BoilerplateRules::BuiltIn();
    if (!builtin.ok()) return builtin.status();
    rules = std::move(*builtin);
  }
  if (!options.rules_file.empty()) {
    if (absl::Status s = rules.AddFromFile(options.rules_file); !s.ok()) {
      return s;
    }
  }
  auto captions = CaptionFinder::Create();
  if (!captions.ok()) return captions.status();
  return Patterns{std::move(rules), std::move(*captions)};
}

}  // namespace

absl::StatusOr<std::unique_ptr<Scanner>> Scanner::Create(
    const ScanOptions& options) {
  if (absl::Status s = options.Validate(); !s.ok()) return s;
  auto hasher = MinHasher::Create(options.num_perm, options.seed);
  if (!hasher.ok()) return hasher.status();
  LshParams params{options.bands, options.rows};
  if (params.bands == 0) {
    // Candidates must also reach paragraphs of 20 words with max_edit_words
    // edits, whose Jaccard can fall to about 0.5.
    const double lsh_threshold = options.max_edit_words > 0
                                     ? std::min(options.threshold, 0.55)
                                     : options.threshold;
    auto chosen = ChooseBands(options.num_perm, lsh_threshold);
    if (!chosen.ok()) return chosen.status();
    params = *chosen;
  }
  // This thread's patterns (the rules file read once, as it may be a pipe);
  // the workers build their own as they start (Impl::Work).
  absl::StatusOr<Patterns> patterns = BuildPatterns(options);
  if (!patterns.ok()) return patterns.status();
  return std::unique_ptr<Scanner>(new Scanner(std::make_unique<Impl>(
      options, std::move(*hasher), params, std::move(*patterns))));
}

Scanner::Scanner(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Scanner::~Scanner() = default;
void Scanner::Add(Document doc) { impl_->Add(std::move(doc)); }
void Scanner::Add(Document* doc) { impl_->Add(doc); }
void Scanner::Flush() { impl_->Flush(); }
absl::Status Scanner::Finish() { return impl_->Finish(); }
void Scanner::ForEachSpan(
    const std::function<void(const SpanRecord&)>& fn) const {
  impl_->ForEachSpan(fn);
}
std::vector<SpanRecord> Scanner::Spans() const { return impl_->Spans(); }
const ScanStats& Scanner::stats() const { return impl_->stats(); }
void Scanner::SetWorkerTask(std::function<void()> task) {
  impl_->set_worker_task(std::move(task));
}
void Scanner::SetShardedTokenSink(ShardedTokenSink sink) {
  impl_->set_sharded_token_sink(std::move(sink));
}
const char* Scanner::SimdTarget() { return MinHasher::TargetName(); }

}  // namespace newsdedup
