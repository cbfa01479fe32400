#include "newsdedup/passages.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "internal/parallel_for.h"
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

  absl::Status Add(int shard, absl::Span<const Token> tokens) {
    const int m = options_.min_tokens;
    if (tokens.size() < static_cast<size_t>(m)) return absl::OkStatus();
    RollingWindows windows(tokens, m);
    for (size_t i = 0; i + m <= tokens.size(); ++i) {
      absl::Status s = records_.Add(shard, windows.Next(i));
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::Status Finish() {
    // Window hashes sorted: a run of equal hashes is one window and its
    // number of occurrences. In memory, each hash range is sorted and
    // counted on its own, on all threads; spilled, the runs are merged.
    std::vector<std::vector<std::pair<uint64_t, uint32_t>>> kept(
        records_.InMemoryPartitions());
    if (records_.ForEachPartitionSorted(
            options_.threads,
            [&kept](size_t p, const std::vector<uint64_t>& hashes) {
              CountRepeats(hashes.data(), hashes.size(), &kept[p]);
            })) {
      // The partitions' repeats in order, copied side by side.
      std::vector<size_t> offset(kept.size() + 1, 0);
      for (size_t p = 0; p < kept.size(); ++p) {
        offset[p + 1] = offset[p] + kept[p].size();
      }
      hashes_.resize(offset.back());
      entries_.resize(offset.back());
      internal::ParallelFor(kept.size(), options_.threads, [&](size_t p) {
        for (size_t k = 0; k < kept[p].size(); ++k) {
          hashes_[offset[p] + k] = kept[p][k].first;
          entries_[offset[p] + k].count = kept[p][k].second;
        }
        std::vector<std::pair<uint64_t, uint32_t>>().swap(kept[p]);
      });
    } else {
      absl::Status s = records_.Finish(options_.threads);
      if (!s.ok()) return s;
      uint64_t hash = 0, next = 0;
      uint32_t count = 0;
      while (records_.Next(&next)) {
        if (count > 0 && next == hash) {
          if (count < UINT32_MAX) ++count;
          continue;
        }
        if (count >= 2) Keep(hash, count);
        hash = next;
        count = 1;
      }
      if (count >= 2) Keep(hash, count);
    }
    records_.Release();
    // Entries are numbered in 32 bits (kFirst is the largest).
    if (hashes_.size() >= kFirst) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "more than ", kFirst - 1,
          " distinct repeated passage windows; scan the input in parts"));
    }
    BuildIndex();
    const internal::SortedRunsStats sorted = records_.stats();
    stats_.windows = sorted.records;
    stats_.runs_spilled = sorted.runs_spilled;
    stats_.bytes_spilled = sorted.bytes_spilled;
    stats_.peak_record_bytes = sorted.peak_buffer_bytes;
    BuildFilter();
    stats_.repeated_windows = hashes_.size();
    stats_.table_bytes = entries_.capacity() * sizeof(Entry) +
                         hashes_.capacity() * sizeof(uint64_t) +
                         index_.capacity() * sizeof(uint32_t) +
                         filter_.size() * sizeof(uint64_t);
    return absl::OkStatus();
  }

  void FindBatch(uint32_t first_ordinal,
                 absl::Span<const absl::Span<const Token>> docs,
                 std::vector<std::vector<Passage>>* out) {
    const size_t n = docs.size();
    out->resize(n);
    if (hits_.size() < n) hits_.resize(n);
    // 1. On every thread: each document's repeated windows (the table's
    // entries its windows hit), in order. Read-only.
    internal::ParallelFor(n, options_.threads,
                          [&](size_t k) { Lookup(docs[k], &hits_[k]); });
    // 2. In input order: the first time an entry is hit is its first
    // occurrence (documents come in input order, and each one's windows in
    // order); it learns its place and is no repeat itself.
    for (size_t k = 0; k < n; ++k) {
      const uint32_t ordinal = first_ordinal + static_cast<uint32_t>(k);
      for (Hit& hit : hits_[k]) {
        Entry& e = entries_[hit.entry];
        if (e.doc != kUnseen) continue;
        e.doc = ordinal;
        e.token = hit.window;
        e.begin = docs[k][hit.window].begin;
        e.end = docs[k][hit.window + options_.min_tokens - 1].end;
        hit.entry = kFirst;
      }
    }
    // 3. On every thread: the passages, from the entries now settled.
    internal::ParallelFor(n, options_.threads, [&](size_t k) {
      Assemble(first_ordinal + static_cast<uint32_t>(k), docs[k], hits_[k],
               &(*out)[k]);
    });
  }

  const PassageStats& stats() const { return stats_; }

 private:
  static constexpr uint32_t kUnseen = UINT32_MAX;  // Entry::doc before pass 2
  static constexpr uint32_t kFirst = UINT32_MAX;   // Hit::entry of a first

  struct Entry {
    uint32_t doc = kUnseen;  // first occurrence, learned in pass 2
    uint32_t token = 0;
    uint32_t begin = 0;  // its bytes
    uint32_t end = 0;
    uint32_t count = 0;  // occurrences, from pass 1
  };

  // A window of a document that is in the table.
  struct Hit {
    uint32_t window;  // index of its first word
    uint32_t entry;   // kFirst once found to be the first occurrence
  };

  void Lookup(absl::Span<const Token> tokens, std::vector<Hit>* hits) const {
    hits->clear();
    const int m = options_.min_tokens;
    if (tokens.size() < static_cast<size_t>(m) || filter_.empty()) return;
    // The window hashes first, so that the filter words they test can be
    // fetched ahead: the filter is megabytes, and waiting for each word in
    // turn was most of this loop.
    const size_t count = tokens.size() - m + 1;
    thread_local std::vector<uint64_t> hashes;
    hashes.resize(count);
    RollingWindows windows(tokens, m);
    for (size_t i = 0; i < count; ++i) hashes[i] = windows.Next(i);
    constexpr size_t kAhead = 8;
    for (size_t i = 0; i < std::min(count, kAhead); ++i) {
      __builtin_prefetch(&filter_[(hashes[i] & filter_mask_) >> 6]);
    }
    // Most windows occur once: a bit array eight times the size of the
    // table answers "not repeated" for them without a table probe. The
    // others are probed in a second loop, their index words and then their
    // hashes fetched ahead too.
    thread_local std::vector<uint32_t> maybe;
    maybe.clear();
    for (size_t i = 0; i < count; ++i) {
      const uint64_t h = hashes[i];
      if (i + kAhead < count) {
        __builtin_prefetch(&filter_[(hashes[i + kAhead] & filter_mask_) >> 6]);
      }
      if ((filter_[(h & filter_mask_) >> 6] >> (h & 63) & 1) != 0) {
        maybe.push_back(static_cast<uint32_t>(i));
      }
    }
    const size_t n = maybe.size();
    auto bucket_of = [this](uint64_t h) { return h >> index_shift_; };
    for (size_t j = 0; j < std::min(n, 2 * kAhead); ++j) {
      __builtin_prefetch(&index_[bucket_of(hashes[maybe[j]])]);
    }
    for (size_t j = 0; j < n; ++j) {
      if (j + 2 * kAhead < n) {
        __builtin_prefetch(&index_[bucket_of(hashes[maybe[j + 2 * kAhead]])]);
      }
      if (j + kAhead < n) {
        __builtin_prefetch(hashes_.data() +
                           index_[bucket_of(hashes[maybe[j + kAhead]])]);
      }
      const uint64_t h = hashes[maybe[j]];
      const uint64_t bucket = bucket_of(h);
      for (uint32_t k = index_[bucket]; k < index_[bucket + 1]; ++k) {
        if (hashes_[k] == h) {
          hits->push_back({maybe[j], k});
          break;
        }
      }
    }
  }

  void Assemble(uint32_t ordinal, absl::Span<const Token> tokens,
                const std::vector<Hit>& hits, std::vector<Passage>* out) const {
    out->clear();
    const uint32_t m = static_cast<uint32_t>(options_.min_tokens);
    const Entry* previous = nullptr;  // entry of window i - 1, if repeated
    uint32_t previous_window = 0;
    uint32_t blocked_until = 0;  // words before this are in a passage already
    for (const Hit& hit : hits) {
      const uint32_t i = hit.window;
      if (previous != nullptr && previous_window + 1 != i) previous = nullptr;
      const Entry* e = hit.entry == kFirst ? nullptr : &entries_[hit.entry];
      // A first occurrence overlapping this window in the same document
      // (periodic text) is not a copy to keep apart from it.
      if (e != nullptr && e->doc == ordinal && e->token + m > i) e = nullptr;
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
        out->push_back(std::move(p));
      }
      Passage& p = out->back();
      p.range.end = tokens[i + m - 1].end;
      p.first.end = e->end;
      p.tokens = static_cast<uint32_t>(p.first_windows.size() + m);
      p.first_windows.push_back({e->begin, e->end});
      blocked_until = i + m;
      previous = e;
      previous_window = i;
    }
  }

  // The hashes occurring twice or more in sorted [hashes, hashes + n), with
  // their counts.
  static void CountRepeats(const uint64_t* hashes, size_t n,
                           std::vector<std::pair<uint64_t, uint32_t>>* out) {
    for (size_t i = 0; i < n;) {
      size_t j = i + 1;
      while (j < n && hashes[j] == hashes[i]) ++j;
      if (j - i >= 2) {
        out->push_back({hashes[i], static_cast<uint32_t>(
                                       std::min<size_t>(j - i, UINT32_MAX))});
      }
      i = j;
    }
  }

  // Windows come in ascending hash order: the table is built by appending.
  void Keep(uint64_t hash, uint32_t count) {
    hashes_.push_back(hash);
    Entry e;
    e.count = count;
    entries_.push_back(e);
  }

  // index_[b], for the top bits b of a hash: where the hashes starting
  // with b begin in hashes_ (about one per bucket). Built in one pass over
  // the sorted hashes, where a hash map took a cache miss per insert.
  // On threads, each filling a range of buckets from where its first
  // bucket's hashes begin.
  void BuildIndex() {
    int bits = 1;
    while (bits < 32 && (uint64_t{1} << bits) < hashes_.size()) ++bits;
    index_shift_ = 64 - bits;
    const size_t buckets = size_t{1} << bits;
    index_.resize(buckets + 1);
    const size_t parts = std::min<size_t>(64, buckets);
    internal::ParallelFor(parts, options_.threads, [&](size_t part) {
      const size_t first = buckets * part / parts;
      const size_t last = buckets * (part + 1) / parts;
      size_t k = static_cast<size_t>(
          std::lower_bound(hashes_.begin(), hashes_.end(),
                           uint64_t{first} << index_shift_) -
          hashes_.begin());
      for (size_t b = first; b < last; ++b) {
        index_[b] = static_cast<uint32_t>(k);
        while (k < hashes_.size() && (hashes_[k] >> index_shift_) == b) ++k;
      }
    });
    index_.back() = static_cast<uint32_t>(hashes_.size());
  }

  void BuildFilter() {
    size_t bits = 64;
    while (bits < hashes_.size() * 8) bits <<= 1;
    filter_.assign(bits / 64, 0);
    filter_mask_ = bits - 1;
    for (uint64_t hash : hashes_) {
      filter_[(hash & filter_mask_) >> 6] |= uint64_t{1} << (hash & 63);
    }
  }

  static internal::SortedRunsOptions SortOptions(const PassageOptions& o) {
    internal::SortedRunsOptions out;
    out.memory_limit = o.memory_limit;  // shared by the shards
    out.temp_dir = o.temp_dir;
    out.tag = "passages";
    out.partition_bits = 10;  // window hashes are spread evenly
    return out;
  }

  PassageOptions options_;
  // Pass 1's window hashes; one shard per thread that adds them.
  internal::SortedShards<uint64_t> records_;
  // The repeated windows: hashes ascending, and their entries.
  std::vector<uint64_t> hashes_;
  std::vector<Entry> entries_;
  std::vector<uint32_t> index_;  // see BuildIndex
  int index_shift_ = 63;
  std::vector<uint64_t> filter_;  // one bit per table hash
  uint64_t filter_mask_ = 0;
  std::vector<std::vector<Hit>> hits_;  // FindBatch's, per document
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

absl::Status PassageFinder::Add(uint32_t /*ordinal*/,
                                absl::Span<const Token> tokens) {
  return impl_->Add(0, tokens);
}
absl::Status PassageFinder::Add(int shard, uint32_t /*ordinal*/,
                                absl::Span<const Token> tokens) {
  return impl_->Add(shard, tokens);
}
absl::Status PassageFinder::Finish() { return impl_->Finish(); }
std::vector<Passage> PassageFinder::Find(uint32_t ordinal,
                                         absl::Span<const Token> tokens) {
  std::vector<std::vector<Passage>> out;
  const absl::Span<const Token> docs[] = {tokens};
  impl_->FindBatch(ordinal, docs, &out);
  return std::move(out[0]);
}
void PassageFinder::FindBatch(uint32_t first_ordinal,
                              absl::Span<const absl::Span<const Token>> docs,
                              std::vector<std::vector<Passage>>* out) {
  impl_->FindBatch(first_ordinal, docs, out);
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
