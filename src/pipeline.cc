#include "newsdedup/pipeline.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
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
  if (threads < 1 || threads > 256) {
    return absl::InvalidArgumentError(
        absl::StrCat("threads must be in [1, 256], got ", threads));
  }
  if (text_field.empty()) {
    return absl::InvalidArgumentError("text field name must not be empty");
  }
  return absl::OkStatus();
}

namespace {

constexpr uint32_t kNoParagraph = 0xFFFFFFFFu;
constexpr size_t kBatchDocuments = 256;
constexpr size_t kBatchBytes = size_t{16} << 20;

// What the parallel stage computes for one paragraph.
struct ParagraphSketch {
  ByteRange range;
  uint32_t tokens = 0;
  uint64_t sequence_hash = 0;
  uint32_t shingle_begin = 0;  // into DocumentSketch::shingles
  uint32_t shingle_end = 0;    // empty: exact matching only
  uint32_t keys_begin = 0;     // into DocumentSketch::band_keys
};

struct DocumentSketch {
  std::vector<ParagraphSketch> paragraphs;
  std::vector<uint64_t> shingles;   // sorted unique, per paragraph
  std::vector<uint64_t> band_keys;  // params.bands per sketched paragraph
};

// What is kept per paragraph after matching: 24 bytes.
struct ParagraphInfo {
  uint32_t doc;
  uint32_t begin;
  uint32_t end;
  uint32_t first;      // the cluster's first occurrence (itself if first)
  float similarity;    // exact Jaccard with `first`
  uint32_t exact : 1;  // same normalized text as `first`
  uint32_t cluster : 31;
};
static_assert(sizeof(ParagraphInfo) == 24, "keep ParagraphInfo compact");

}  // namespace

class Scanner::Impl {
 public:
  Impl(const ScanOptions& options, MinHasher hasher, LshParams params)
      : options_(options),
        hasher_(std::move(hasher)),
        params_(params),
        index_(params) {}

  void Add(Document doc) {
    batch_bytes_ += doc.text.size();
    batch_.push_back(std::move(doc));
    if (batch_.size() >= kBatchDocuments || batch_bytes_ >= kBatchBytes) {
      ProcessBatch();
    }
  }

  void Finish() {
    ProcessBatch();
    // Number the clusters with two or more members in order of their first
    // occurrence.
    std::vector<uint32_t> size(paragraphs_.size(), 0);
    for (const ParagraphInfo& p : paragraphs_) {
      if (p.first != kNoParagraph) ++size[p.first];
    }
    uint32_t next_cluster = 1;
    for (size_t i = 0; i < paragraphs_.size(); ++i) {
      ParagraphInfo& p = paragraphs_[i];
      if (p.first == kNoParagraph) continue;
      if (p.first == i) {
        p.cluster = size[i] >= 2 ? next_cluster++ : 0;
      } else {
        p.cluster = paragraphs_[p.first].cluster;
      }
    }
    cluster_sizes_.assign(next_cluster, 0);
    for (size_t i = 0; i < paragraphs_.size(); ++i) {
      const ParagraphInfo& p = paragraphs_[i];
      if (p.first != kNoParagraph && p.cluster != 0)
        ++cluster_sizes_[p.cluster];
      if (p.first != kNoParagraph && p.first != i) {
        ++stats_.flagged;
        stats_.flagged_exact += p.exact;
        stats_.flagged_bytes += p.end - p.begin;
      }
    }
    stats_.clusters = next_cluster - 1;
    stats_.index_bytes = MemoryBytes();
  }

  void ForEachSpan(const std::function<void(const SpanRecord&)>& fn) const {
    SpanRecord span;
    span.kind = SpanKind::kParagraph;
    span.has_first = true;
    span.at.field = options_.text_field;
    span.first.field = options_.text_field;
    for (size_t i = 0; i < paragraphs_.size(); ++i) {
      const ParagraphInfo& p = paragraphs_[i];
      if (p.first == kNoParagraph || p.first == i) continue;
      const ParagraphInfo& f = paragraphs_[p.first];
      span.at.doc = doc_ids_[p.doc];
      span.at.start = p.begin;
      span.at.end = p.end;
      span.first.doc = doc_ids_[f.doc];
      span.first.start = f.begin;
      span.first.end = f.end;
      span.match = p.exact ? MatchType::kExact : MatchType::kNear;
      span.similarity = p.exact ? 1.0 : p.similarity;
      if (p.doc == f.doc) {
        span.scope = Scope::kSameDocument;
      } else if (doc_sites_[p.doc] != 0 &&
                 doc_sites_[p.doc] == doc_sites_[f.doc]) {
        span.scope = Scope::kSameSite;
      } else {
        span.scope = Scope::kCrossSite;
      }
      span.cluster = p.cluster;
      span.count = cluster_sizes_[p.cluster];
      fn(span);
    }
  }

  const ScanStats& stats() const { return stats_; }

 private:
  void SketchDocument(const Document& doc, std::vector<Token>* tokens,
                      std::vector<uint64_t>* scratch,
                      std::vector<uint32_t>* signature, DocumentSketch* out) {
    out->paragraphs.clear();
    out->shingles.clear();
    out->band_keys.clear();
    const std::vector<ByteRange> ranges =
        SegmentParagraphs(doc.text, options_.segment);
    tokens->clear();
    Tokenize(doc.text, 0, tokens);
    size_t t = 0;
    for (const ByteRange& range : ranges) {
      while (t < tokens->size() && (*tokens)[t].begin < range.begin) ++t;
      size_t u = t;
      while (u < tokens->size() && (*tokens)[u].end <= range.end) ++u;
      const absl::Span<const Token> words(tokens->data() + t, u - t);
      t = u;
      if (words.size() < static_cast<size_t>(options_.min_exact_tokens)) {
        continue;
      }
      ParagraphSketch p;
      p.range = range;
      p.tokens = static_cast<uint32_t>(words.size());
      p.sequence_hash = SequenceHash(words);
      p.shingle_begin = p.shingle_end =
          static_cast<uint32_t>(out->shingles.size());
      p.keys_begin = static_cast<uint32_t>(out->band_keys.size());
      if (words.size() >= static_cast<size_t>(options_.min_tokens) &&
          words.size() >= static_cast<size_t>(options_.shingle_size)) {
        scratch->clear();
        ShingleHashes(words, options_.shingle_size, scratch);
        hasher_.Sketch(*scratch, signature->data());
        out->band_keys.resize(out->band_keys.size() + params_.bands);
        BandKeys(signature->data(), params_,
                 out->band_keys.data() + p.keys_begin);
        SortedUnique(scratch);
        out->shingles.insert(out->shingles.end(), scratch->begin(),
                             scratch->end());
        p.shingle_end = static_cast<uint32_t>(out->shingles.size());
      }
      out->paragraphs.push_back(p);
    }
  }

  void ProcessBatch() {
    if (batch_.empty()) return;
    sketches_.resize(std::max(sketches_.size(), batch_.size()));
    const size_t n = batch_.size();
    std::atomic<size_t> next{0};
    auto work = [&]() {
      std::vector<Token> tokens;
      std::vector<uint64_t> scratch;
      std::vector<uint32_t> signature(hasher_.num_perm());
      for (size_t i = next.fetch_add(1); i < n; i = next.fetch_add(1)) {
        SketchDocument(batch_[i], &tokens, &scratch, &signature, &sketches_[i]);
      }
    };
    const int workers = static_cast<int>(std::min<size_t>(options_.threads, n));
    if (workers <= 1) {
      work();
    } else {
      std::vector<std::thread> pool;
      for (int w = 0; w < workers; ++w) pool.emplace_back(work);
      for (auto& th : pool) th.join();
    }
    for (size_t i = 0; i < n; ++i) Match(batch_[i], sketches_[i]);
    batch_.clear();
    batch_bytes_ = 0;
  }

  uint32_t SiteId(const std::string& site) {
    if (site.empty()) return 0;
    auto [it, inserted] = site_ids_.try_emplace(
        site, static_cast<uint32_t>(site_ids_.size() + 1));
    return it->second;
  }

  // Sequential, in input order: assigns every paragraph of `doc` to a
  // cluster.
  void Match(const Document& doc, const DocumentSketch& sketch) {
    const uint32_t doc_index = static_cast<uint32_t>(doc_ids_.size());
    doc_ids_.push_back(doc.id);
    doc_sites_.push_back(SiteId(doc.site));
    ++stats_.documents;
    stats_.text_bytes += doc.text.size();
    for (const ParagraphSketch& p : sketch.paragraphs) {
      ++stats_.paragraphs;
      const uint32_t id = static_cast<uint32_t>(paragraphs_.size());
      ParagraphInfo info{doc_index, p.range.begin, p.range.end, id, 1.0f, 1, 0};
      // 1. Exact repeat of an earlier paragraph: same cluster as it.
      auto [exact_it, fresh] = exact_.try_emplace(p.sequence_hash, id);
      if (!fresh) {
        const ParagraphInfo& earlier = paragraphs_[exact_it->second];
        info.first = earlier.first;
        info.similarity = earlier.similarity;
        info.exact = earlier.exact;
        paragraphs_.push_back(info);
        continue;
      }
      // 2. Near repeat: the earliest cluster first that verifies.
      if (p.shingle_end > p.shingle_begin) {
        const absl::Span<const uint64_t> shingles(
            sketch.shingles.data() + p.shingle_begin,
            p.shingle_end - p.shingle_begin);
        const uint64_t* keys = sketch.band_keys.data() + p.keys_begin;
        candidates_.clear();
        index_.ForEachCandidate(keys,
                                [&](uint32_t c) { candidates_.push_back(c); });
        std::sort(candidates_.begin(), candidates_.end());
        candidates_.erase(std::unique(candidates_.begin(), candidates_.end()),
                          candidates_.end());
        for (uint32_t c : candidates_) {
          ++stats_.candidates;
          const double j = ExactJaccard(shingles, LeaderShingles(c));
          if (j >= options_.threshold) {
            info.first = c;
            info.similarity = static_cast<float>(j);
            info.exact = 0;
            break;
          }
        }
        if (info.first == id) {
          // A new cluster: index it and keep its shingle set for
          // verification.
          index_.Insert(keys, id);
          leader_offsets_.try_emplace(
              id, std::make_pair(static_cast<uint64_t>(leader_shingles_.size()),
                                 static_cast<uint32_t>(shingles.size())));
          leader_shingles_.insert(leader_shingles_.end(), shingles.begin(),
                                  shingles.end());
          ++stats_.indexed;
        }
      }
      paragraphs_.push_back(info);
    }
  }

  absl::Span<const uint64_t> LeaderShingles(uint32_t id) const {
    const auto& [offset, size] = leader_offsets_.at(id);
    return absl::Span<const uint64_t>(leader_shingles_.data() + offset, size);
  }

  size_t MemoryBytes() const {
    return index_.MemoryBytes() +
           paragraphs_.capacity() * sizeof(ParagraphInfo) +
           leader_shingles_.capacity() * sizeof(uint64_t) +
           leader_offsets_.capacity() * 17 + exact_.capacity() * 17;
  }

  ScanOptions options_;
  MinHasher hasher_;
  LshParams params_;
  LshIndex index_;
  std::vector<Document> batch_;
  size_t batch_bytes_ = 0;
  std::vector<DocumentSketch> sketches_;
  std::vector<uint32_t> candidates_;

  std::vector<std::string> doc_ids_;
  std::vector<uint32_t> doc_sites_;  // 0: no site
  absl::flat_hash_map<std::string, uint32_t> site_ids_;
  std::vector<ParagraphInfo> paragraphs_;
  absl::flat_hash_map<uint64_t, uint32_t> exact_;  // sequence hash -> first id
  absl::flat_hash_map<uint32_t, std::pair<uint64_t, uint32_t>> leader_offsets_;
  std::vector<uint64_t> leader_shingles_;
  std::vector<uint32_t> cluster_sizes_;
  ScanStats stats_;
};

absl::StatusOr<std::unique_ptr<Scanner>> Scanner::Create(
    const ScanOptions& options) {
  if (absl::Status s = options.Validate(); !s.ok()) return s;
  auto hasher = MinHasher::Create(options.num_perm, options.seed);
  if (!hasher.ok()) return hasher.status();
  LshParams params{options.bands, options.rows};
  if (params.bands == 0) {
    auto chosen = ChooseBands(options.num_perm, options.threshold);
    if (!chosen.ok()) return chosen.status();
    params = *chosen;
  }
  return std::unique_ptr<Scanner>(
      new Scanner(std::make_unique<Impl>(options, std::move(*hasher), params)));
}

Scanner::Scanner(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Scanner::~Scanner() = default;
void Scanner::Add(Document doc) { impl_->Add(std::move(doc)); }
void Scanner::Finish() { impl_->Finish(); }
void Scanner::ForEachSpan(
    const std::function<void(const SpanRecord&)>& fn) const {
  impl_->ForEachSpan(fn);
}
const ScanStats& Scanner::stats() const { return impl_->stats(); }
const char* Scanner::SimdTarget() { return MinHasher::TargetName(); }

}  // namespace newsdedup
