#include "newsdedup/passages.h"

#include <algorithm>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "internal/sorted_runs.h"
#include "newsdedup/hash.h"

namespace newsdedup {

absl::Status PassageOptions::Validate() const {
  if (min_tokens < 4 || min_tokens > 1000) {
    return absl::InvalidArgumentError(absl::StrCat(
        "minimum passage length must be in [4, 1000] words, got ", min_tokens));
  }
  if (memory_limit < (uint64_t{1} << 20)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "passage memory limit must be at least 1 MiB, got ", memory_limit));
  }
  if (threads < 1 || threads > 256) {
    return absl::InvalidArgumentError(
        absl::StrCat("passage threads must be in [1, 256], got ", threads));
  }
  return absl::OkStatus();
}

namespace {

// One window occurrence from pass 1: 16 bytes per input word. Sorted by
// (hash, position), so the first record of a hash group is the window's
// first occurrence in input order. Written to disk as-is: spill files are
// private to one process run and carry a magic number and version.
struct Record {
  uint64_t hash;
  uint64_t position;  // document ordinal << 32 | word index
};
static_assert(sizeof(Record) == 16, "Record is written to disk as 16 bytes");

inline bool operator<(const Record& a, const Record& b) {
  return a.hash != b.hash ? a.hash < b.hash : a.position < b.position;
}

inline uint64_t SortKey(const Record& r) { return r.hash; }

// Window hashes by a rolling polynomial over the word hashes:
// h_i = sum_k w_{i+k} * B^(size-1-k) mod 2^64, rolled forward with two
// multiplications per word, then finalized. The word hashes are XXH3 values,
// so two different windows collide with probability about 2^-64.
class RollingWindows {
 public:
  RollingWindows(absl::Span<const Token> tokens, int size)
      : tokens_(tokens), size_(static_cast<size_t>(size)) {
    top_ = 1;
    for (size_t k = 1; k < size_; ++k) top_ *= kBase;
    if (tokens_.size() >= size_) {
      for (size_t k = 0; k < size_; ++k) h_ = h_ * kBase + tokens_[k].hash;
    }
  }
  // Hash of the window starting at word i; call with i = 0, 1, 2, ...
  uint64_t Next(size_t i) {
    if (i > 0) {
      h_ = (h_ - tokens_[i - 1].hash * top_) * kBase +
           tokens_[i + size_ - 1].hash;
    }
    return Finalize(h_ ^ (0xA0761D6478BD642FULL + size_));
  }

 private:
  static constexpr uint64_t kBase = 0x9FB21C651E98DF25ULL;  // odd
  absl::Span<const Token> tokens_;
  size_t size_;
  uint64_t top_;  // kBase^(size-1)
  uint64_t h_ = 0;
};

}  // namespace

class PassageFinder::Impl {
 public:
  explicit Impl(const PassageOptions& options)
      : options_(options), records_(options.threads, SortOptions(options)) {}

  absl::Status Add(int shard, uint32_t ordinal,
                   absl::Span<const Token> tokens) {
    const int m = options_.min_tokens;
    if (tokens.size() < static_cast<size_t>(m)) return absl::OkStatus();
    RollingWindows windows(tokens, m);
    for (size_t i = 0; i + m <= tokens.size(); ++i) {
      absl::Status s =
          records_.Add(shard, {windows.Next(i), (uint64_t{ordinal} << 32) | i});
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::Status Finish() {
    absl::Status s = records_.Finish(options_.threads);
    if (!s.ok()) return s;
    // Records come sorted by (hash, position): the first of a hash group is
    // the window's first occurrence in input order.
    bool have_group = false;
    Record group_first{};
    uint32_t group_count = 0;
    Record rec;
    while (records_.Next(&rec)) {
      if (have_group && rec.hash == group_first.hash) {
        ++group_count;
        continue;
      }
      if (have_group && group_count >= 2) Keep(group_first, group_count);
      group_first = rec;
      group_count = 1;
      have_group = true;
    }
    if (have_group && group_count >= 2) Keep(group_first, group_count);
    records_.Release();
    const internal::SortedRunsStats sorted = records_.stats();
    stats_.windows = sorted.records;
    stats_.runs_spilled = sorted.runs_spilled;
    stats_.bytes_spilled = sorted.bytes_spilled;
    stats_.peak_record_bytes = sorted.peak_buffer_bytes;
    BuildFilter();
    stats_.repeated_windows = table_.size();
    stats_.table_bytes = entries_.capacity() * sizeof(Entry) +
                         table_.capacity() * (sizeof(uint64_t) + 5) +
                         filter_.size() * sizeof(uint64_t);
    return absl::OkStatus();
  }

  std::vector<Passage> Find(uint32_t ordinal, absl::Span<const Token> tokens) {
    std::vector<Passage> out;
    const int m = options_.min_tokens;
    if (tokens.size() < static_cast<size_t>(m)) return out;
    // The window hashes first, so that the filter words they test can be
    // fetched ahead: the filter is megabytes, and waiting for each word in
    // turn was most of this loop.
    const size_t count = tokens.size() - m + 1;
    hashes_.resize(count);
    RollingWindows windows(tokens, m);
    for (size_t i = 0; i < count; ++i) hashes_[i] = windows.Next(i);
    constexpr size_t kAhead = 8;
    if (!filter_.empty()) {
      for (size_t i = 0; i < std::min(count, kAhead); ++i) {
        __builtin_prefetch(&filter_[(hashes_[i] & filter_mask_) >> 6]);
      }
    }
    const Entry* previous = nullptr;  // entry of window i - 1, if repeated
    size_t blocked_until = 0;  // words before this are in a passage already
    for (size_t i = 0; i < count; ++i) {
      const uint64_t h = hashes_[i];
      if (!filter_.empty() && i + kAhead < count) {
        __builtin_prefetch(&filter_[(hashes_[i + kAhead] & filter_mask_) >> 6]);
      }
      Entry* e = nullptr;
      // Most windows occur once: a bit array eight times the size of the
      // table answers "not repeated" for them without a hash-table probe.
      if (!filter_.empty() &&
          (filter_[(h & filter_mask_) >> 6] >> (h & 63) & 1) != 0) {
        auto it = table_.find(h);
        if (it != table_.end()) e = &entries_[it->second];
      }
      // A first occurrence overlapping this window in the same document
      // (periodic text) is not a copy to keep apart from it.
      if (e != nullptr && e->doc == ordinal && e->token != i &&
          e->token + m > i) {
        e = nullptr;
      }
      if (e != nullptr && e->doc == ordinal && e->token == i) {
        // The first occurrence itself: learn its bytes for the repeats that
        // follow (pass 2 visits documents in input order).
        e->begin = tokens[i].begin;
        e->end = tokens[i + m - 1].end;
        e = nullptr;
      }
      if (e == nullptr) {
        previous = nullptr;
        continue;
      }
      // Extend the open passage when this window's first occurrence follows
      // the previous window's first occurrence word for word.
      const bool extends = previous != nullptr && previous->doc == e->doc &&
                           previous->token + 1 == e->token;
      if (!extends) {
        // A new passage may not start on words the last one already holds:
        // the same bytes are never reported twice. Its remaining windows
        // start a passage once they clear those words.
        if (i < blocked_until) {
          previous = nullptr;
          continue;
        }
        Passage p;
        p.range.begin = tokens[i].begin;
        p.first_doc = e->doc;
        p.first.begin = e->begin;
        p.count = e->count;
        out.push_back(std::move(p));
      }
      Passage& p = out.back();
      p.range.end = tokens[i + m - 1].end;
      p.first.end = e->end;
      p.tokens = static_cast<uint32_t>(p.first_windows.size() + m);
      p.first_windows.push_back({e->begin, e->end});
      blocked_until = i + m;
      previous = e;
    }
    return out;
  }

  const PassageStats& stats() const { return stats_; }

 private:
  struct Entry {
    uint32_t doc;  // first occurrence
    uint32_t token;
    uint32_t begin;  // its bytes, learned in pass 2
    uint32_t end;
    uint32_t count;  // occurrences
  };

  void Keep(const Record& first, uint32_t count) {
    table_.emplace(first.hash, static_cast<uint32_t>(entries_.size()));
    entries_.push_back({static_cast<uint32_t>(first.position >> 32),
                        static_cast<uint32_t>(first.position), 0, 0, count});
  }

  void BuildFilter() {
    size_t bits = 64;
    while (bits < table_.size() * 8) bits <<= 1;
    filter_.assign(bits / 64, 0);
    filter_mask_ = bits - 1;
    for (const auto& [hash, index] : table_) {
      filter_[(hash & filter_mask_) >> 6] |= uint64_t{1} << (hash & 63);
    }
  }

  static internal::SortedRunsOptions SortOptions(const PassageOptions& o) {
    internal::SortedRunsOptions out;
    out.memory_limit = o.memory_limit;  // shared by the shards
    out.temp_dir = o.temp_dir;
    out.tag = "passages";
    return out;
  }

  PassageOptions options_;
  // One shard per thread that adds records.
  internal::SortedShards<Record> records_;
  std::vector<Entry> entries_;
  absl::flat_hash_map<uint64_t, uint32_t> table_;  // window hash -> entry
  std::vector<uint64_t> filter_;                   // one bit per table hash
  std::vector<uint64_t> hashes_;                   // Find's window hashes
  uint64_t filter_mask_ = 0;
  PassageStats stats_;
};

absl::StatusOr<std::unique_ptr<PassageFinder>> PassageFinder::Create(
    const PassageOptions& options) {
  if (absl::Status s = options.Validate(); !s.ok()) return s;
  return std::unique_ptr<PassageFinder>(
      new PassageFinder(std::make_unique<Impl>(options)));
}

PassageFinder::PassageFinder(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}
PassageFinder::~PassageFinder() = default;

absl::Status PassageFinder::Add(uint32_t ordinal,
                                absl::Span<const Token> tokens) {
  return impl_->Add(0, ordinal, tokens);
}
absl::Status PassageFinder::Add(int shard, uint32_t ordinal,
                                absl::Span<const Token> tokens) {
  return impl_->Add(shard, ordinal, tokens);
}
absl::Status PassageFinder::Finish() { return impl_->Finish(); }
std::vector<Passage> PassageFinder::Find(uint32_t ordinal,
                                         absl::Span<const Token> tokens) {
  return impl_->Find(ordinal, tokens);
}
const PassageStats& PassageFinder::stats() const { return impl_->stats(); }

std::vector<Passage> SubtractCovered(const std::vector<Passage>& passages,
                                     absl::Span<const ByteRange> covered,
                                     absl::Span<const Token> tokens,
                                     int min_tokens) {
  std::vector<Passage> out;
  for (const Passage& p : passages) {
    // Token indices of the passage.
    auto first_token = std::lower_bound(
        tokens.begin(), tokens.end(), p.range.begin,
        [](const Token& t, uint32_t offset) { return t.begin < offset; });
    const size_t a = first_token - tokens.begin();
    const size_t b = a + p.tokens;
    // Walk the passage's words, cutting out those inside covered ranges.
    size_t run_start = a;
    // A word is covered when any covered range overlaps it (a range may
    // end inside a word).
    auto is_covered = [&](const Token& t) {
      auto c = std::upper_bound(
          covered.begin(), covered.end(), t.begin,
          [](uint32_t offset, const ByteRange& r) { return offset < r.begin; });
      if (c != covered.end() && c->begin < t.end) return true;
      if (c == covered.begin()) return false;
      --c;
      return c->end > t.begin;
    };
    auto emit = [&](size_t x, size_t y) {  // words [x, y) of the text
      if (y - x < static_cast<size_t>(min_tokens)) return;
      Passage q;
      q.range = {tokens[x].begin, tokens[y - 1].end};
      q.tokens = static_cast<uint32_t>(y - x);
      q.first_doc = p.first_doc;
      q.count = p.count;
      const size_t wx = x - a, wy = y - min_tokens - a;  // windows kept
      q.first = {p.first_windows[wx].begin, p.first_windows[wy].end};
      q.first_windows.assign(p.first_windows.begin() + wx,
                             p.first_windows.begin() + wy + 1);
      out.push_back(std::move(q));
    };
    for (size_t k = a; k < b; ++k) {
      if (is_covered(tokens[k])) {
        emit(run_start, k);
        run_start = k + 1;
      }
    }
    emit(run_start, b);
  }
  return out;
}

}  // namespace newsdedup
