#include "newsdedup/passages.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "internal/parallel_for.h"
#include "internal/sorted_runs.h"
#include "internal/status_macros.h"
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

// The hashes of all of `tokens`' windows of `size` words, in order (none
// when there are fewer words).
void WindowHashes(absl::Span<const Token> tokens, int size,
                  std::vector<uint64_t>* out) {
  out->clear();
  if (tokens.size() < static_cast<size_t>(size)) return;
  const size_t count = tokens.size() - size + 1;
  out->resize(count);
  RollingWindows windows(tokens, size);
  for (size_t i = 0; i < count; ++i) (*out)[i] = windows.Next(i);
}

// The record pass (pass 1 spilled): a window that may repeat, and where.
// Sorted by hash, then by place: each hash's first record is its first
// occurrence in input order.
struct Occurrence {
  uint64_t hash;
  uint32_t doc;
  uint32_t token;  // its first word
  uint32_t begin;  // its bytes
  uint32_t end;
  bool operator<(const Occurrence& o) const {
    if (hash != o.hash) return hash < o.hash;
    if (doc != o.doc) return doc < o.doc;
    return token < o.token;
  }
};
inline uint64_t SortKey(const Occurrence& o) { return o.hash; }

// A repeat (an occurrence after the first) of a repeated window, with its
// first occurrence and number of occurrences. Sorted by place.
struct Repeat {
  uint32_t doc;
  uint32_t token;
  uint32_t first_doc;
  uint32_t first_token;
  uint32_t first_begin;
  uint32_t first_end;
  uint32_t count;
  bool operator<(const Repeat& o) const {
    return doc != o.doc ? doc < o.doc : token < o.token;
  }
};
inline uint64_t SortKey(const Repeat& r) {
  return (uint64_t{r.doc} << 32) | r.token;
}

constexpr uint32_t kUnseen = UINT32_MAX;  // Entry::doc before pass 2
constexpr uint32_t kFirst = UINT32_MAX;   // Hit::entry of a first

// A repeated window in the table. Trivial, so that a table of them can be
// made without writing it twice (NoInit).
struct Entry {
  uint32_t doc;  // first occurrence (kUnseen until pass 2 meets it)
  uint32_t token;
  uint32_t begin;  // its bytes
  uint32_t end;
  uint32_t count;  // occurrences: from pass 1, or counted in pass 2
};

// A window no document has been seen holding yet.
Entry Unseen(uint32_t count) { return {kUnseen, 0, 0, 0, count}; }

// An allocator whose vectors leave new elements of trivial types
// uninitialized: for tables that are written on all threads right after
// they are sized (value-initializing them first was a serial pass over
// tens of megabytes, and the pages were then first touched on one thread).
template <typename T>
struct NoInit : std::allocator<T> {
  template <typename U>
  struct rebind {
    using other = NoInit<U>;
  };
  NoInit() = default;
  template <typename U>
  NoInit(const NoInit<U>&) noexcept {}
  template <typename U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

// A window of a document that is in the table.
struct Hit {
  uint32_t window;  // index of its first word
  uint32_t entry;   // kFirst once found to be the first occurrence
};

struct FreeWords {
  void operator()(uint64_t* p) const { std::free(p); }
};
using Words = std::unique_ptr<uint64_t[], FreeWords>;

// `bytes` (a multiple of 8) of zeroed words, backed as they are written.
Words ZeroedWords(uint64_t bytes) {
  Words w(static_cast<uint64_t*>(std::calloc(bytes / 8, 8)));
  if (w == nullptr) throw std::bad_alloc();
  internal::AdviseHugePages(w.get(), bytes);
  return w;
}

}  // namespace

// A batch's hits, per document, and after a record pass the entries they
// refer to (each document's own, read back from disk).
struct PassageBatch::State {
  std::vector<std::vector<Hit>> hits;
  std::vector<std::vector<Entry>> entries;
};

PassageBatch::PassageBatch() : state_(std::make_unique<State>()) {}
PassageBatch::~PassageBatch() = default;
PassageBatch::PassageBatch(PassageBatch&&) noexcept = default;
PassageBatch& PassageBatch::operator=(PassageBatch&&) noexcept = default;

class PassageFinder::Impl {
 public:
  explicit Impl(const PassageOptions& options)
      : options_(WithDefaults(options)),
        records_(options.threads, SortOptions(options)),
        shard_state_(options.threads) {}

  absl::Status Add(int shard, absl::Span<const Token> tokens) {
    const int m = options_.min_tokens;
    if (tokens.size() < static_cast<size_t>(m)) return absl::OkStatus();
    RollingWindows windows(tokens, m);
    const size_t count = tokens.size() - m + 1;
    shard_state_[shard].windows += count;
    size_t i = 0;
    if (!filtering_.load(std::memory_order_acquire)) {
      for (; i < count; ++i) {
        const uint64_t h = windows.Next(i);
        if (records_.TryAdd(shard, h)) continue;
        // The first run to spill: from now on only windows seen before are
        // recorded (see StartFiltering).
        StartFiltering();
        RETURN_IF_ERROR(ConvertShard(shard));
        if (TestAndSet(h)) RETURN_IF_ERROR(records_.Add(shard, h));
        ++i;
        break;
      }
      if (i == count) return absl::OkStatus();
    } else if (!shard_state_[shard].converted) {
      RETURN_IF_ERROR(ConvertShard(shard));
    }
    // Filtering: the window hashes first, so that the bits they test can be
    // fetched ahead (the bit array is hundreds of megabytes).
    thread_local std::vector<uint64_t> hashes;
    hashes.clear();
    for (; i < count; ++i) hashes.push_back(windows.Next(i));
    constexpr size_t kAhead = 16;
    for (size_t j = 0; j < hashes.size(); ++j) {
      if (j + kAhead < hashes.size()) {
        __builtin_prefetch(SeenWord(hashes[j + kAhead]), 1);
      }
      if (TestAndSet(hashes[j])) {
        RETURN_IF_ERROR(records_.Add(shard, hashes[j]));
      }
    }
    return absl::OkStatus();
  }

  absl::Status Finish() {
    for (const ShardState& state : shard_state_)
      stats_.windows += state.windows;
    if (filtering_.load()) return FinishFiltered();
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
      internal::AdviseHugePages(hashes_.data(), hashes_.size() * 8);
      internal::AdviseHugePages(entries_.data(),
                                entries_.size() * sizeof(Entry));
      internal::ParallelFor(kept.size(), options_.threads, [&](size_t p) {
        for (size_t k = 0; k < kept[p].size(); ++k) {
          hashes_[offset[p] + k] = kept[p][k].first;
          entries_[offset[p] + k] = Unseen(kept[p][k].second);
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
      RETURN_IF_ERROR(records_.status());
    }
    NoteRecordStats();
    // The records' memory (8 bytes a word) goes back beside the table's
    // making, with threads to spare: 20 ms on Reuters 2006-2010.
    std::thread closing;
    absl::Cleanup join = [&closing] {
      if (closing.joinable()) closing.join();
    };
    if (options_.threads > 1) {
      closing = std::thread([this] { records_.Close(); });
    } else {
      records_.Close();  // its runs are deleted now
    }
    RETURN_IF_ERROR(BuildTable());
    stats_.repeated_windows = hashes_.size();
    return absl::OkStatus();
  }

  // Pass 1's sort figures into stats_; returns them.
  internal::SortedRunsStats NoteRecordStats() {
    const internal::SortedRunsStats sorted = records_.stats();
    stats_.runs_spilled = sorted.runs_spilled;
    stats_.bytes_spilled = sorted.bytes_spilled;
    stats_.peak_record_bytes = sorted.peak_buffer_bytes;
    return sorted;
  }

  // The table's index, filter and size, from hashes_ and entries_.
  absl::Status BuildTable() {
    // Entries are numbered in 32 bits (kFirst is the largest).
    if (hashes_.size() >= kFirst) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "more than ", kFirst - 1,
          " distinct repeated passage windows; scan the input in parts"));
    }
    BuildIndex();
    BuildFilter();
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
    PassageBatch::State& batch = batch_;
    Resize(n, &batch);
    // 1. On every thread: each document's repeated windows (the table's
    // entries its windows hit), in order. Read-only.
    if (!external_) {
      internal::ParallelFor(n, options_.threads,
                            [&](size_t k) { Lookup(docs[k], &batch.hits[k]); });
    }
    // 2. In input order: where each window first occurs.
    Settle(first_ordinal, docs, &batch);
    // 3. On every thread: the passages, from the entries now settled.
    out->resize(n);
    internal::ParallelFor(n, options_.threads, [&](size_t k) {
      AssembleDocument(first_ordinal, docs, batch, k, /*counts_so_far=*/true,
                       &(*out)[k]);
    });
  }

  void LookUp(absl::Span<const absl::Span<const Token>> docs,
              PassageBatch::State* batch) const {
    Resize(docs.size(), batch);
    if (external_) return;  // Settle reads the hits back from disk
    for (size_t k = 0; k < docs.size(); ++k) Lookup(docs[k], &batch->hits[k]);
  }

  // The first time an entry is hit in input order is its first occurrence
  // (documents come in input order, and each one's windows in order): it
  // learns its place and is no repeat itself. After a record pass: each
  // document's repeats, read back in order.
  void Settle(uint32_t first_ordinal,
              absl::Span<const absl::Span<const Token>> docs,
              PassageBatch::State* batch) {
    const size_t n = docs.size();
    Resize(n, batch);
    if (external_) {
      ReadRepeats(first_ordinal, n, batch);
      return;
    }
    for (size_t k = 0; k < n; ++k) {
      const uint32_t ordinal = first_ordinal + static_cast<uint32_t>(k);
      for (Hit& hit : batch->hits[k]) {
        Entry& e = entries_[hit.entry];
        if (counting_ && e.count < UINT32_MAX) ++e.count;
        if (e.doc != kUnseen) continue;
        e.doc = ordinal;
        e.token = hit.window;
        e.begin = docs[k][hit.window].begin;
        e.end = docs[k][hit.window + options_.min_tokens - 1].end;
        hit.entry = kFirst;
      }
    }
  }

  void Assemble(uint32_t first_ordinal,
                absl::Span<const absl::Span<const Token>> docs,
                const PassageBatch::State& batch,
                std::vector<std::vector<Passage>>* out) const {
    out->resize(docs.size());
    for (size_t k = 0; k < docs.size(); ++k) {
      AssembleDocument(first_ordinal, docs, batch, k, /*counts_so_far=*/false,
                       &(*out)[k]);
    }
  }

  bool NeedsRecordPass() const { return external_ && repeats_ == nullptr; }

  bool CountsInPass2() const { return counting_; }

  uint32_t FinalCount(const Passage& p) const {
    return counting_ && p.entry < entries_.size() ? entries_[p.entry].count
                                                  : p.count;
  }

  absl::Status EndPass2() {
    if (repeats_ != nullptr) {
      RETURN_IF_ERROR(repeats_->status());
      if (has_pending_) {
        return absl::FailedPreconditionError(absl::StrCat(
            "pass 2 ended before the passage repeats of document ",
            pending_.doc, ": the documents differ from the record pass's"));
      }
    }
    if (!counting_) return absl::OkStatus();
    stats_.repeated_windows = 0;
    for (const Entry& e : entries_) stats_.repeated_windows += e.count >= 2;
    return absl::OkStatus();
  }

  absl::Status RecordBatch(uint32_t first_ordinal,
                           absl::Span<const absl::Span<const Token>> docs) {
    if (!external_ || repeats_ != nullptr || occurrences_ == nullptr) {
      return absl::FailedPreconditionError(
          "passage record pass: not needed, already finished or failed");
    }
    // Documents in contiguous parts, one per shard.
    const size_t parts = std::min<size_t>(
        docs.size(), static_cast<size_t>(occurrences_->shards()));
    std::vector<absl::Status> status(parts);
    const int m = options_.min_tokens;
    internal::ParallelFor(parts, options_.threads, [&](size_t part) {
      const size_t begin = docs.size() * part / parts;
      const size_t end = docs.size() * (part + 1) / parts;
      thread_local std::vector<uint64_t> hashes;
      constexpr size_t kAhead = 8;
      for (size_t k = begin; k < end && status[part].ok(); ++k) {
        const absl::Span<const Token> tokens = docs[k];
        WindowHashes(tokens, m, &hashes);
        const size_t count = hashes.size();
        for (size_t i = 0; i < count; ++i) {
          if (i + kAhead < count) {
            __builtin_prefetch(BloomBlock(hashes[i + kAhead]));
          }
          if (!BloomMayHold(hashes[i])) continue;
          status[part] = occurrences_->Add(
              static_cast<int>(part),
              {hashes[i], first_ordinal + static_cast<uint32_t>(k),
               static_cast<uint32_t>(i), tokens[i].begin,
               tokens[i + m - 1].end});
          if (!status[part].ok()) break;
        }
      }
    });
    for (const absl::Status& st : status) RETURN_IF_ERROR(st);
    return absl::OkStatus();
  }

  absl::Status FinishRecordPass() {
    if (!external_ || repeats_ != nullptr || occurrences_ == nullptr) {
      return absl::FailedPreconditionError(
          "passage record pass: not needed, already finished or failed");
    }
    bloom_.reset();
    // Whatever happens now, the places are used up.
    std::unique_ptr<internal::SortedShards<Occurrence>> occurrences =
        std::move(occurrences_);
    RETURN_IF_ERROR(occurrences->Finish(options_.threads));
    internal::SortedRunsOptions o;
    o.memory_limit = options_.memory_limit / 2;  // the places hold the rest
    o.temp_dir = options_.temp_dir;
    o.tag = "passage-repeats";
    o.threads = options_.threads;
    auto repeats = std::make_unique<internal::SortedRuns<Repeat>>(o);
    // Occurrences by hash, each hash's first: a hash met twice or more is a
    // repeated window, and its occurrences after the first are repeats. They
    // are held until the hash's last (the count goes into each), past a
    // million in a scratch file.
    Occurrence first{}, next{};
    constexpr size_t kHeld = size_t{1} << 20;
    std::vector<std::pair<uint32_t, uint32_t>> later;  // (doc, token)
    std::unique_ptr<FILE, int (*)(FILE*)> later_file(nullptr, &std::fclose);
    std::string later_path;  // its name (unlinked once made), for errors
    uint64_t later_spilled = 0;
    auto hold = [&]() -> absl::Status {
      later.push_back({next.doc, next.token});
      if (later.size() < kHeld) return absl::OkStatus();
      if (later_file == nullptr) {
        later_path = absl::StrCat(internal::TempDir(options_.temp_dir),
                                  "/newsdedup-passage-group-", getpid(), "-",
                                  reinterpret_cast<uintptr_t>(this), ".tmp");
        absl::StatusOr<FILE*> f =
            internal::CreateScratchFile(later_path, "passage repeats");
        if (!f.ok()) return f.status();
        later_file.reset(*f);
      }
      if (std::fwrite(later.data(), sizeof(later[0]), later.size(),
                      later_file.get()) != later.size()) {
        return internal::ScratchWriteError(later_path, "passage repeats");
      }
      later_spilled += later.size();
      later.clear();
      return absl::OkStatus();
    };
    auto close = [&]() -> absl::Status {
      const uint64_t held = later_spilled + later.size();
      if (held == 0) return absl::OkStatus();
      ++stats_.repeated_windows;
      const uint32_t count =
          static_cast<uint32_t>(std::min<uint64_t>(held + 1, UINT32_MAX));
      auto emit = [&](uint32_t doc, uint32_t token) {
        return repeats->Add({doc, token, first.doc, first.token, first.begin,
                             first.end, count});
      };
      if (later_spilled > 0) {
        // Read back in order, then the rest held.
        std::vector<std::pair<uint32_t, uint32_t>> chunk(kHeld);
        if (std::fflush(later_file.get()) != 0) {
          return internal::ScratchWriteError(later_path, "passage repeats");
        }
        if (std::fseek(later_file.get(), 0, SEEK_SET) != 0) {
          return absl::DataLossError(absl::StrCat(
              later_path,
              ": cannot read passage repeats back: ", std::strerror(errno)));
        }
        for (uint64_t left = later_spilled; left > 0;) {
          const size_t n = static_cast<size_t>(std::min<uint64_t>(left, kHeld));
          if (std::fread(chunk.data(), sizeof(chunk[0]), n, later_file.get()) !=
              n) {
            return absl::DataLossError(
                absl::StrCat(later_path, ": cannot read passage repeats back",
                             std::ferror(later_file.get())
                                 ? absl::StrCat(": ", std::strerror(errno))
                                 : std::string(" (shorter than written)")));
          }
          for (size_t k = 0; k < n; ++k) {
            RETURN_IF_ERROR(emit(chunk[k].first, chunk[k].second));
          }
          left -= n;
        }
        later_file.reset();
        later_spilled = 0;
      }
      for (const auto& [doc, token] : later) RETURN_IF_ERROR(emit(doc, token));
      later.clear();
      return absl::OkStatus();
    };
    bool open = false;
    while (occurrences->Next(&next)) {
      ++stats_.recorded_occurrences;
      if (open && next.hash == first.hash) {
        RETURN_IF_ERROR(hold());
        continue;
      }
      RETURN_IF_ERROR(close());
      first = next;
      open = true;
    }
    RETURN_IF_ERROR(occurrences->status());
    RETURN_IF_ERROR(close());
    std::vector<std::pair<uint32_t, uint32_t>>().swap(later);
    const internal::SortedRunsStats occ = occurrences->stats();
    occurrences.reset();  // its runs are deleted now
    RETURN_IF_ERROR(repeats->Finish());
    const internal::SortedRunsStats rep = repeats->stats();
    stats_.runs_spilled += occ.runs_spilled + rep.runs_spilled;
    stats_.bytes_spilled += occ.bytes_spilled + rep.bytes_spilled;
    stats_.peak_record_bytes =
        std::max({stats_.peak_record_bytes, occ.peak_buffer_bytes,
                  rep.peak_buffer_bytes});
    repeats_ = std::move(repeats);
    has_pending_ = repeats_->Next(&pending_);
    return absl::OkStatus();
  }

  const PassageStats& stats() const { return stats_; }

 private:
  void Lookup(absl::Span<const Token> tokens, std::vector<Hit>* hits) const {
    hits->clear();
    const int m = options_.min_tokens;
    if (tokens.size() < static_cast<size_t>(m) || filter_.empty()) return;
    // The window hashes first, so that the filter words they test can be
    // fetched ahead: the filter is megabytes, and waiting for each word in
    // turn was most of this loop.
    thread_local std::vector<uint64_t> hashes;
    WindowHashes(tokens, m, &hashes);
    const size_t count = hashes.size();
    constexpr size_t kAhead = 8;
    for (size_t i = 0; i < std::min(count, kAhead); ++i) {
      __builtin_prefetch(FilterWord(hashes[i]));
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
        __builtin_prefetch(FilterWord(hashes[i + kAhead]));
      }
      if ((*FilterWord(h) >> (h & 63) & 1) != 0) {
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

  // The passages of document `ordinal` from its hits, in window order, whose
  // entries are in `entries`.
  void Assemble(uint32_t ordinal, absl::Span<const Token> tokens,
                const std::vector<Hit>& hits, const Entry* entries,
                bool read_counts, std::vector<Passage>* out) const {
    out->clear();
    const uint32_t m = static_cast<uint32_t>(options_.min_tokens);
    const Entry* previous = nullptr;  // entry of window i - 1, if repeated
    uint32_t previous_window = 0;
    uint32_t blocked_until = 0;  // words before this are in a passage already
    for (const Hit& hit : hits) {
      const uint32_t i = hit.window;
      if (previous != nullptr && previous_window + 1 != i) previous = nullptr;
      const Entry* e = hit.entry == kFirst ? nullptr : &entries[hit.entry];
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
        p.count = read_counts ? e->count : 0;
        p.entry = static_cast<uint32_t>(e - entries);
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

  // Pass 1 filtering, from the first spill on: a bit per window hash
  // (hashed to a bit array of half the memory limit), set by the window's
  // first occurrence; a window is recorded only when its bit was set
  // before. Every window occurring twice or more is then recorded at least
  // once: only the occurrence that set a bit goes unrecorded, one per bit.
  // Windows recorded once may also be single windows whose bit another
  // window set; the record pass sorts them out. Records are then about the
  // repeated fraction of the words, instead of every word.
  void StartFiltering() {
    std::lock_guard<std::mutex> lock(filter_mu_);
    if (seen_ != nullptr) return;
    seen_bytes_ = std::max<uint64_t>(64, options_.memory_limit / 2 / 64 * 64);
    seen_ = ZeroedWords(seen_bytes_);
    seen_bits_ = seen_bytes_ * 8;
    filtering_.store(true, std::memory_order_release);
  }

  // h's bit in an array of `bits`: its top bits scaled to the size.
  static uint64_t Scale(uint64_t h, uint64_t bits) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(h) * bits) >>
                                 64);
  }
  uint64_t* SeenWord(uint64_t h) const {
    return seen_.get() + (Scale(h, seen_bits_) >> 6);
  }

  // Sets h's bit; whether it was set before. Shards set bits at once.
  bool TestAndSet(uint64_t h) const {
    uint64_t* word = SeenWord(h);
    const uint64_t bit = uint64_t{1} << (Scale(h, seen_bits_) & 63);
    if ((__atomic_load_n(word, __ATOMIC_RELAXED) & bit) != 0) return true;
    return (__atomic_fetch_or(word, bit, __ATOMIC_RELAXED) & bit) != 0;
  }

  // Filters what shard `shard` recorded before filtering began, as if each
  // hash had been met then: a hash held twice or more, or whose bit was
  // set, is kept (once; only being recorded matters now). The shard then
  // buffers its share of what the bit array leaves of the memory limit.
  absl::Status ConvertShard(int shard) {
    shard_state_[shard].converted = true;
    auto keep = [this](uint64_t* data, size_t n) {
      size_t out = 0;
      for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && data[j] == data[i]) ++j;
        if (TestAndSet(data[i]) || j - i >= 2) data[out++] = data[i];
        i = j;
      }
      return out;
    };
    const uint64_t limit = std::max<uint64_t>(
        8,
        (options_.memory_limit - std::min(options_.memory_limit, seen_bytes_)) /
            records_.shards());
    return records_.SpillFiltered(shard, keep, limit);
  }

  // Pass 1 spilled: the distinct recorded hashes (every repeated window and
  // some single ones) make a table when they fit in max_table_bytes, whose
  // counts pass 2 settles (counting_). Otherwise they go into a Bloom
  // filter, and a record pass (RecordBatch) records every window the filter
  // may hold with its place; sorted by hash, the places give repeats and
  // first occurrences, and the repeats sorted by place are what FindBatch
  // reads back in order. Nothing held in memory grows with the corpus.
  absl::Status FinishFiltered() {
    for (int k = 0; k < records_.shards(); ++k) {
      if (!shard_state_[k].converted) RETURN_IF_ERROR(ConvertShard(k));
    }
    seen_.reset();
    RETURN_IF_ERROR(records_.Finish(options_.threads));
    const internal::SortedRunsStats sorted = NoteRecordStats();
    // The distinct recorded hashes: a table in memory while they fit in
    // max_table_bytes (kTableBytes each), else a Bloom filter of 16 bits per
    // recorded hash within half the memory limit, for a record pass.
    const uint64_t most =
        std::min<uint64_t>(options_.max_table_bytes / kTableBytes, kFirst - 1);
    hashes_.reserve(std::min<uint64_t>(sorted.records, most));
    uint64_t previous = 0, h = 0;
    bool any = false, table = most > 0;
    while (records_.Next(&h)) {
      if (any && h == previous) continue;
      previous = h;
      any = true;
      ++stats_.candidate_windows;
      if (table) {
        if (hashes_.size() < most) {
          hashes_.push_back(h);
          continue;
        }
        table = false;
        MakeBloom(sorted.records);
        for (uint64_t k : hashes_) BloomInsert(k);
        decltype(hashes_)().swap(hashes_);
      }
      if (bloom_ == nullptr) MakeBloom(sorted.records);
      BloomInsert(h);
    }
    RETURN_IF_ERROR(records_.status());
    records_.Close();  // its runs are deleted now
    if (!table && bloom_ == nullptr) MakeBloom(sorted.records);
    if (table) {
      // Counts come from pass 2, which meets every occurrence of every
      // table window (a window recorded once may occur once or twice).
      entries_.assign(hashes_.size(), Unseen(0));
      counting_ = true;
      return BuildTable();
    }
    stats_.record_pass = true;
    external_ = true;
    internal::SortedRunsOptions o;
    // Half: the Bloom filter takes at most the other half, and then the
    // repeats do (FinishRecordPass).
    o.memory_limit =
        std::max<uint64_t>(sizeof(Occurrence), options_.memory_limit / 2);
    o.temp_dir = options_.temp_dir;
    o.tag = "passage-occurrences";
    o.partition_bits = 10;  // by hash
    occurrences_ = std::make_unique<internal::SortedShards<Occurrence>>(
        options_.threads, o);
    return absl::OkStatus();
  }

  // The Bloom filter for `records` recorded hashes: 16 bits each, within
  // half of options_.memory_limit.
  void MakeBloom(uint64_t records) {
    const uint64_t bytes = std::max<uint64_t>(
        64, std::min(options_.memory_limit / 2, records * 2) / 64 * 64);
    bloom_ = ZeroedWords(bytes);
    bloom_blocks_ = bytes / 64;
    stats_.table_bytes = bytes;
  }

  // A blocked Bloom filter: a 512-bit block per hash, chosen by its top
  // bits (so that sorted hashes fill it block after block), with six bits
  // set in it. About 1% false positives at 16 bits per hash.
  const uint64_t* BloomBlock(uint64_t h) const {
    return bloom_.get() + Scale(h, bloom_blocks_) * 8;
  }
  static uint64_t BloomBits(uint64_t h, int k) {
    const uint64_t g = (h * 0x9E3779B97F4A7C15ULL) >> 10;
    return (g >> (9 * k)) & 511;
  }
  void BloomInsert(uint64_t h) {
    uint64_t* block = const_cast<uint64_t*>(BloomBlock(h));
    for (int k = 0; k < 6; ++k) {
      const uint64_t b = BloomBits(h, k);
      block[b >> 6] |= uint64_t{1} << (b & 63);
    }
  }
  bool BloomMayHold(uint64_t h) const {
    const uint64_t* block = BloomBlock(h);
    for (int k = 0; k < 6; ++k) {
      const uint64_t b = BloomBits(h, k);
      if ((block[b >> 6] >> (b & 63) & 1) == 0) return false;
    }
    return true;
  }

  // After a record pass: documents first_ordinal, ... + n - 1's repeats,
  // read back in order, each with its own entries.
  void ReadRepeats(uint32_t first_ordinal, size_t n,
                   PassageBatch::State* batch) {
    for (size_t k = 0; k < n; ++k) {
      const uint32_t ordinal = first_ordinal + static_cast<uint32_t>(k);
      std::vector<Hit>& hits = batch->hits[k];
      std::vector<Entry>& entries = batch->entries[k];
      hits.clear();
      entries.clear();
      if (repeats_ == nullptr) continue;  // the record pass is not done
      while (has_pending_ && pending_.doc < ordinal) {
        has_pending_ = repeats_->Next(&pending_);
      }
      while (has_pending_ && pending_.doc == ordinal) {
        Entry e;
        e.doc = pending_.first_doc;
        e.token = pending_.first_token;
        e.begin = pending_.first_begin;
        e.end = pending_.first_end;
        e.count = pending_.count;
        hits.push_back({pending_.token, static_cast<uint32_t>(entries.size())});
        entries.push_back(e);
        has_pending_ = repeats_->Next(&pending_);
      }
    }
  }

  // Room for n documents' hits (and entries, for a record pass).
  void Resize(size_t n, PassageBatch::State* batch) const {
    if (batch->hits.size() < n) batch->hits.resize(n);
    if (external_ && batch->entries.size() < n) batch->entries.resize(n);
  }

  // Document k of a settled batch: its passages. `counts_so_far`: each
  // passage's count as the table has it now (the final count unless
  // CountsInPass2); otherwise 0 where CountsInPass2, since later batches
  // may be settling while this runs.
  void AssembleDocument(uint32_t first_ordinal,
                        absl::Span<const absl::Span<const Token>> docs,
                        const PassageBatch::State& batch, size_t k,
                        bool counts_so_far, std::vector<Passage>* out) const {
    Assemble(first_ordinal + static_cast<uint32_t>(k), docs[k], batch.hits[k],
             external_ ? batch.entries[k].data() : entries_.data(),
             counts_so_far || !counting_, out);
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
    entries_.push_back(Unseen(count));
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

  // A bit per table hash, at least eight bits each: the word chosen by
  // the hash's top bits, the bit in it by its low six. The sorted hashes
  // then fill the words in order, a range of them on each thread.
  void BuildFilter() {
    int bits = 1;  // of a word's number
    while ((uint64_t{64} << bits) < hashes_.size() * 8) ++bits;
    filter_shift_ = 64 - bits;
    const size_t words = size_t{1} << bits;
    filter_.assign(words, 0);
    const size_t parts = std::min<size_t>(64, words);
    internal::ParallelFor(parts, options_.threads, [&](size_t part) {
      const uint64_t first = uint64_t{words * part / parts} << filter_shift_;
      const uint64_t last =
          part + 1 == parts
              ? UINT64_MAX
              : (uint64_t{words * (part + 1) / parts} << filter_shift_) - 1;
      auto k = std::lower_bound(hashes_.begin(), hashes_.end(), first);
      for (; k != hashes_.end() && *k <= last; ++k) {
        filter_[*k >> filter_shift_] |= uint64_t{1} << (*k & 63);
      }
    });
  }
  const uint64_t* FilterWord(uint64_t h) const {
    return &filter_[h >> filter_shift_];
  }

  static PassageOptions WithDefaults(PassageOptions o) {
    if (o.max_table_bytes == UINT64_MAX) o.max_table_bytes = o.memory_limit;
    return o;
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
  std::vector<uint64_t, NoInit<uint64_t>> hashes_;
  std::vector<Entry, NoInit<Entry>> entries_;
  std::vector<uint32_t, NoInit<uint32_t>> index_;  // see BuildIndex
  int index_shift_ = 63;
  std::vector<uint64_t> filter_;  // see BuildFilter
  int filter_shift_ = 63;
  PassageBatch::State batch_;  // FindBatch's
  PassageStats stats_;
  // Pass 1, per shard (padded: each is written by its shard's thread).
  struct alignas(64) ShardState {
    uint64_t windows = 0;
    bool converted = false;  // filtered since filtering began
  };
  std::vector<ShardState> shard_state_;
  // A table made from filtered records: counts come from pass 2.
  bool counting_ = false;
  // Bytes of table per window (hashes_, entries_, index_ and filter_ at
  // their largest), for PassageOptions::max_table_bytes.
  static constexpr uint64_t kTableBytes = 40;
  // Pass 1 filtering (StartFiltering).
  std::atomic<bool> filtering_{false};
  std::mutex filter_mu_;
  Words seen_;
  uint64_t seen_bytes_ = 0;
  uint64_t seen_bits_ = 0;
  // The record pass (FinishFiltered).
  bool external_ = false;
  Words bloom_;
  uint64_t bloom_blocks_ = 0;
  std::unique_ptr<internal::SortedShards<Occurrence>> occurrences_;
  std::unique_ptr<internal::SortedRuns<Repeat>> repeats_;
  Repeat pending_{};  // the next repeat to read
  bool has_pending_ = false;
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
void PassageFinder::LookUp(absl::Span<const absl::Span<const Token>> docs,
                           PassageBatch* batch) const {
  impl_->LookUp(docs, batch->state_.get());
}
void PassageFinder::Settle(uint32_t first_ordinal,
                           absl::Span<const absl::Span<const Token>> docs,
                           PassageBatch* batch) {
  impl_->Settle(first_ordinal, docs, batch->state_.get());
}
void PassageFinder::Assemble(uint32_t first_ordinal,
                             absl::Span<const absl::Span<const Token>> docs,
                             const PassageBatch& batch,
                             std::vector<std::vector<Passage>>* out) const {
  impl_->Assemble(first_ordinal, docs, *batch.state_, out);
}
bool PassageFinder::CountsInPass2() const { return impl_->CountsInPass2(); }
uint32_t PassageFinder::FinalCount(const Passage& p) const {
  return impl_->FinalCount(p);
}
absl::Status PassageFinder::EndPass2() { return impl_->EndPass2(); }
bool PassageFinder::NeedsRecordPass() const { return impl_->NeedsRecordPass(); }
absl::Status PassageFinder::RecordBatch(
    uint32_t first_ordinal, absl::Span<const absl::Span<const Token>> docs) {
  return impl_->RecordBatch(first_ordinal, docs);
}
absl::Status PassageFinder::FinishRecordPass() {
  return impl_->FinishRecordPass();
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
      q.entry = p.entry;
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
