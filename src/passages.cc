#include "newsdedup/passages.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <queue>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
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

// Sorts by (hash, position). The hashes are uniform, so an in-place
// partition by their top 11 bits (American flag sort: count, then swap each
// record into its bucket) leaves 2048 buckets of a few hundred kilobytes,
// each sorted while it sits in cache. About 2x faster than one std::sort
// over hundreds of megabytes.
// With threads > 1, the buckets are sorted on that many threads (each takes
// every threads-th bucket); the result is the same.
void SortRecords(std::vector<Record>* records, int threads) {
  constexpr int kBits = 11;
  constexpr size_t kBuckets = size_t{1} << kBits;
  Record* data = records->data();
  const size_t n = records->size();
  if (n < 4 * kBuckets) {
    std::sort(records->begin(), records->end());
    return;
  }
  auto bucket_of = [](const Record& r) { return r.hash >> (64 - kBits); };
  std::vector<size_t> begin(kBuckets + 1, 0);
  for (size_t i = 0; i < n; ++i) ++begin[bucket_of(data[i]) + 1];
  for (size_t b = 0; b < kBuckets; ++b) begin[b + 1] += begin[b];
  std::vector<size_t> next(begin.begin(), begin.end() - 1);
  for (size_t b = 0; b < kBuckets; ++b) {
    while (next[b] < begin[b + 1]) {
      Record r = data[next[b]];
      size_t target = bucket_of(r);
      // Follow the cycle until a record that belongs in bucket b lands here.
      while (target != b) {
        std::swap(r, data[next[target]++]);
        target = bucket_of(r);
      }
      data[next[b]++] = r;
    }
  }
  auto sort_buckets = [&](size_t first, size_t step) {
    for (size_t b = first; b < kBuckets; b += step) {
      std::sort(data + begin[b], data + begin[b + 1]);
    }
  };
  const size_t workers = static_cast<size_t>(std::max(1, threads));
  std::vector<std::thread> pool;
  for (size_t t = 1; t < workers; ++t)
    pool.emplace_back(sort_buckets, t, workers);
  sort_buckets(0, workers);
  for (std::thread& t : pool) t.join();
}

constexpr char kRunMagic[8] = {'N', 'D', 'P', 'S', 'R', 'U', 'N', '1'};

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

// Reads a spilled run record by record, through a buffer.
class RunReader {
 public:
  explicit RunReader(FILE* file) : file_(file), buffer_(4096) {}
  // Loads the next record into *out; false at the end.
  bool Next(Record* out) {
    if (pos_ == size_) {
      size_ = std::fread(buffer_.data(), sizeof(Record), buffer_.size(), file_);
      pos_ = 0;
      if (size_ == 0) return false;
    }
    *out = buffer_[pos_++];
    return true;
  }

 private:
  FILE* file_;
  std::vector<Record> buffer_;
  size_t pos_ = 0;
  size_t size_ = 0;
};

}  // namespace

class PassageFinder::Impl {
 public:
  explicit Impl(const PassageOptions& options) : options_(options) {
    if (options_.temp_dir.empty()) {
      const char* tmp = std::getenv("TMPDIR");
      options_.temp_dir = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
    }
    max_records_ =
        std::max<uint64_t>(1, options_.memory_limit / sizeof(Record));
  }

  ~Impl() {
    for (FILE* f : runs_) std::fclose(f);
    for (const std::string& path : run_paths_) std::remove(path.c_str());
  }

  absl::Status Add(uint32_t ordinal, absl::Span<const Token> tokens) {
    const int m = options_.min_tokens;
    if (tokens.size() < static_cast<size_t>(m)) return absl::OkStatus();
    // One reservation up to the budget: growing by doubling would copy the
    // records and touch (and have the kernel clear) about twice the pages.
    if (records_.capacity() == 0) records_.reserve(max_records_);
    RollingWindows windows(tokens, m);
    for (size_t i = 0; i + m <= tokens.size(); ++i) {
      records_.push_back({windows.Next(i), (uint64_t{ordinal} << 32) | i});
      ++stats_.windows;
      if (records_.size() >= max_records_) {
        absl::Status s = Spill();
        if (!s.ok()) return s;
      }
    }
    return absl::OkStatus();
  }

  absl::Status Finish() {
    if (runs_.empty()) {
      SortRecords(&records_, options_.threads);
      NoteBuffer();
      size_t i = 0;
      while (i < records_.size()) {
        size_t j = i + 1;
        while (j < records_.size() && records_[j].hash == records_[i].hash) ++j;
        if (j - i >= 2) Keep(records_[i], static_cast<uint32_t>(j - i));
        i = j;
      }
    } else {
      if (!records_.empty()) {
        absl::Status s = Spill();
        if (!s.ok()) return s;
      }
      absl::Status s = Merge();
      if (!s.ok()) return s;
    }
    std::vector<Record>().swap(records_);
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
    RollingWindows windows(tokens, m);
    const Entry* previous = nullptr;  // entry of window i - 1, if repeated
    size_t blocked_until = 0;  // words before this are in a passage already
    for (size_t i = 0; i + m <= tokens.size(); ++i) {
      const uint64_t h = windows.Next(i);
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

  void NoteBuffer() {
    stats_.peak_record_bytes = std::max<uint64_t>(
        stats_.peak_record_bytes, records_.capacity() * sizeof(Record));
  }

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

  absl::Status Spill() {
    NoteBuffer();
    SortRecords(&records_, options_.threads);
    const std::string path = absl::StrCat(
        options_.temp_dir, "/newsdedup-passages-", getpid(), "-",
        reinterpret_cast<uintptr_t>(this), "-", runs_.size(), ".run");
    FILE* f = std::fopen(path.c_str(), "w+b");
    if (f == nullptr) {
      return absl::PermissionDeniedError(absl::StrCat(
          path, ": cannot write a sorted run: ", std::strerror(errno)));
    }
    run_paths_.push_back(path);
    runs_.push_back(f);
    const bool ok =
        std::fwrite(kRunMagic, 1, sizeof(kRunMagic), f) == sizeof(kRunMagic) &&
        std::fwrite(records_.data(), sizeof(Record), records_.size(), f) ==
            records_.size() &&
        std::fflush(f) == 0;
    if (!ok) {
      return absl::DataLossError(
          absl::StrCat(path, ": cannot write a sorted run (disk full?)"));
    }
    stats_.bytes_spilled += records_.size() * sizeof(Record);
    ++stats_.runs_spilled;
    records_.clear();
    return absl::OkStatus();
  }

  absl::Status Merge() {
    std::vector<RunReader> readers;
    for (size_t r = 0; r < runs_.size(); ++r) {
      FILE* f = runs_[r];
      char magic[sizeof(kRunMagic)];
      if (std::fseek(f, 0, SEEK_SET) != 0 ||
          std::fread(magic, 1, sizeof(magic), f) != sizeof(magic) ||
          std::memcmp(magic, kRunMagic, sizeof(magic)) != 0) {
        return absl::DataLossError(
            absl::StrCat(run_paths_[r], ": not a newsdedup sorted run"));
      }
      readers.emplace_back(f);
    }
    using Head = std::pair<Record, size_t>;  // record, run
    auto later = [](const Head& a, const Head& b) { return b.first < a.first; };
    std::priority_queue<Head, std::vector<Head>, decltype(later)> heap(later);
    for (size_t r = 0; r < readers.size(); ++r) {
      Record rec;
      if (readers[r].Next(&rec)) heap.push({rec, r});
    }
    bool have_group = false;
    Record group_first{};
    uint32_t group_count = 0;
    while (!heap.empty()) {
      const auto [rec, r] = heap.top();
      heap.pop();
      Record next;
      if (readers[r].Next(&next)) heap.push({next, r});
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
    return absl::OkStatus();
  }

  PassageOptions options_;
  uint64_t max_records_;
  std::vector<Record> records_;
  std::vector<FILE*> runs_;
  std::vector<std::string> run_paths_;
  std::vector<Entry> entries_;
  absl::flat_hash_map<uint64_t, uint32_t> table_;  // window hash -> entry
  std::vector<uint64_t> filter_;                   // one bit per table hash
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
  return impl_->Add(ordinal, tokens);
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
