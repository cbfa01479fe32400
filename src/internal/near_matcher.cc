#include "internal/near_matcher.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <numeric>
#include <thread>

#include "absl/strings/str_cat.h"
#include "newsdedup/shingle.h"

namespace newsdedup {
namespace internal {

// Each paragraph's facts and fingerprints, appended in input order as
// 32-bit words: facts (low, high), fingerprints (the count is the distance
// to the next record's offset). The buffer goes to
// a temporary file whenever it reaches its budget; once anything is on
// disk, Seal writes the rest and records are read back with pread (the page
// cache keeps what fits, without counting as this process's memory).
class NearMatcher::FingerprintStore {
 public:
  FingerprintStore(uint64_t memory_limit, std::string temp_dir)
      : limit_words_(std::max<uint64_t>(1024, memory_limit / 4)),
        temp_dir_(TempDir(temp_dir)) {}
  ~FingerprintStore() {
    if (file_ != nullptr) std::fclose(file_);
  }

  absl::Status Append(uint64_t facts, absl::Span<const uint32_t> fp) {
    const size_t need = 2 + fp.size();
    if (!buffer_.empty() && buffer_.size() + need > limit_words_) {
      absl::Status s = Flush();
      if (!s.ok()) return s;
    }
    if (buffer_.size() + need > buffer_.capacity()) {
      // The whole budget at once (backed only as written; see SortedRuns).
      buffer_.reserve(std::max<uint64_t>(buffer_.size() + need, limit_words_));
      AdviseHugePages(buffer_.data(), buffer_.capacity() * 4);
    }
    offsets_.push_back(base_ + buffer_.size());
    buffer_.push_back(static_cast<uint32_t>(facts));
    buffer_.push_back(static_cast<uint32_t>(facts >> 32));
    buffer_.insert(buffer_.end(), fp.begin(), fp.end());
    return absl::OkStatus();
  }

  // Ends appending.
  absl::Status Seal() {
    offsets_.push_back(base_ + buffer_.size());
    if (file_ == nullptr) return absl::OkStatus();
    absl::Status s = Flush();
    if (!s.ok()) return s;
    std::vector<uint32_t>().swap(buffer_);
    return absl::OkStatus();
  }

  // Record r (after Seal): its facts, and its fingerprints as a sorted set
  // in *fp.
  absl::Status Get(uint32_t r, uint64_t* facts,
                   std::vector<uint32_t>* fp) const {
    const uint64_t begin = offsets_[r];
    const uint64_t words = offsets_[r + 1] - begin;
    if (file_ == nullptr) {
      fp->assign(buffer_.begin() + begin, buffer_.begin() + begin + words);
    } else {
      fp->resize(words);
      char* out = reinterpret_cast<char*>(fp->data());
      size_t left = words * 4;
      off_t at = static_cast<off_t>(begin * 4);
      while (left > 0) {
        const ssize_t got = pread(fileno(file_), out, left, at);
        if (got <= 0) {
          return absl::DataLossError(
              absl::StrCat(path_, ": cannot read fingerprints back: ",
                           got == 0 ? "file too short" : std::strerror(errno)));
        }
        out += got;
        left -= static_cast<size_t>(got);
        at += got;
      }
    }
    *facts = (*fp)[0] | uint64_t{(*fp)[1]} << 32;
    // Sorted here rather than when sketched: most paragraphs are never
    // verified.
    fp->erase(fp->begin(), fp->begin() + 2);
    SortedUnique(fp);
    return absl::OkStatus();
  }

  uint64_t BufferBytes() const {
    return std::max<uint64_t>(peak_words_, buffer_.size()) * 4;
  }
  uint64_t TableBytes() const { return offsets_.capacity() * 8; }
  uint64_t bytes_spilled() const { return bytes_spilled_; }

 private:
  absl::Status Flush() {
    if (file_ == nullptr) {
      path_ = absl::StrCat(temp_dir_, "/newsdedup-fingerprints-", getpid(), "-",
                           reinterpret_cast<uintptr_t>(this), ".bin");
      absl::StatusOr<FILE*> file = CreateScratchFile(path_, "fingerprints");
      if (!file.ok()) return file.status();
      file_ = *file;
    }
    if (std::fwrite(buffer_.data(), 4, buffer_.size(), file_) !=
            buffer_.size() ||
        std::fflush(file_) != 0) {
      return ScratchWriteError(path_, "fingerprints");
    }
    base_ += buffer_.size();
    bytes_spilled_ += buffer_.size() * 4;
    peak_words_ = std::max<uint64_t>(peak_words_, buffer_.size());
    buffer_.clear();
    return absl::OkStatus();
  }

  uint64_t limit_words_;
  std::string temp_dir_;
  std::vector<uint32_t> buffer_;
  uint64_t base_ = 0;              // words already on disk
  uint64_t peak_words_ = 0;        // most words buffered before a flush
  std::vector<uint64_t> offsets_;  // record -> first word; one past the end
  FILE* file_ = nullptr;
  std::string path_;
  uint64_t bytes_spilled_ = 0;
};

namespace {

SortedRunsOptions RunOptions(const NearMatchOptions& o, const char* tag) {
  SortedRunsOptions out;
  out.memory_limit = std::max<uint64_t>(8, o.memory_limit / 2);
  out.temp_dir = o.temp_dir;
  out.tag = tag;
  out.threads = o.threads;
  return out;
}

// Band keys are hashes, spread evenly: partitioned as they are added.
SortedRunsOptions BandRunOptions(const NearMatchOptions& o) {
  SortedRunsOptions out = RunOptions(o, "bands");
  out.partition_bits = 10;
  return out;
}

}  // namespace

NearMatcher::NearMatcher(const NearMatchOptions& options)
    : options_(options),
      bands_(std::make_unique<SortedRuns<BandRecord>>(BandRunOptions(options))),
      store_(std::make_unique<FingerprintStore>(options.memory_limit / 2,
                                                options.temp_dir)) {}

NearMatcher::~NearMatcher() = default;

void NearMatcher::NotePeak(uint64_t buffers, uint64_t tables) {
  stats_.peak_buffer_bytes = std::max(stats_.peak_buffer_bytes, buffers);
  stats_.peak_table_bytes = std::max(stats_.peak_table_bytes, tables);
}

absl::Status NearMatcher::Add(uint32_t unit, const uint64_t* keys,
                              absl::Span<const uint32_t> fingerprints,
                              uint64_t facts) {
  // Paragraphs are numbered with 32 bits in the band records and pairs.
  if (unit_of_.size() >= 0xFFFFFFFFu) {
    ++stats_.unindexed;
    return absl::OkStatus();
  }
  const uint32_t r = static_cast<uint32_t>(unit_of_.size());
  unit_of_.push_back(unit);
  ++stats_.paragraphs;
  for (int band = 0; band < options_.params.bands; ++band) {
    const BandRecord record{static_cast<uint32_t>(keys[band] >> 32),
                            static_cast<uint32_t>(keys[band]), r};
    absl::Status s = bands_->Add(record);
    if (!s.ok()) return s;
  }
  return store_->Append(facts, fingerprints);
}

absl::Status NearMatcher::Finish(const MatchFn& on_match) {
  const auto start = std::chrono::steady_clock::now();
  absl::Status s = FinishPhases(on_match);
  stats_.finish_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  return s;
}

absl::Status NearMatcher::FinishPhases(const MatchFn& on_match) {
  absl::Status s = store_->Seal();
  // Band records all in memory: each partition is sorted and paired on one
  // thread, in one go; otherwise the merged runs are paired in order.
  const bool in_memory = s.ok() && bands_->in_memory_partitions();
  if (s.ok() && !in_memory) s = bands_->Finish();
  if (!s.ok()) return s;
  bands_->NoteBuffer();
  NotePeak(bands_->stats().peak_buffer_bytes + store_->BufferBytes(),
           store_->TableBytes() + unit_of_.capacity() * 4);
  SortedRuns<uint64_t> pairs(RunOptions(options_, "pairs"));
  s = in_memory ? SortAndPairInPartitions(&pairs) : MakePairs(&pairs);
  const SortedRunsStats band_stats = bands_->stats();
  bands_.reset();  // its runs are deleted now
  if (s.ok()) s = pairs.Finish();
  if (!s.ok()) return s;
  s = Verify(&pairs, on_match);
  stats_.runs_spilled = band_stats.runs_spilled + pairs.stats().runs_spilled;
  stats_.bytes_spilled = band_stats.bytes_spilled +
                         pairs.stats().bytes_spilled + store_->bytes_spilled();
  store_.reset();
  return s;
}

// Phase 2: band records sorted by (key, paragraph) list each bucket in
// input order; every paragraph pairs with the window of paragraphs before
// it. Pairs are (later << 32 | earlier), sorted next by the later one.
namespace {

// Takes band records in sorted order and emits their pairs.
class PairMaker {
 public:
  explicit PairMaker(uint32_t bucket_window)
      : window_(std::max<uint32_t>(1, bucket_window)) {}

  template <typename Emit>
  bool Take(const BandRecord& record, const Emit& emit) {
    const uint64_t key = record.key();
    const uint32_t r = record.paragraph;
    if (filled_ == 0 || key != bucket_) {
      bucket_ = key;
      filled_ = next_ = 0;
    }
    for (size_t k = 0; k < filled_; ++k) {
      // Two bands of one paragraph may (rarely) have the same key.
      if (window_[k] == r) continue;
      if (!emit(uint64_t{r} << 32 | window_[k])) return false;
    }
    window_[next_] = r;
    next_ = (next_ + 1) % window_.size();
    filled_ = std::min(filled_ + 1, window_.size());
    return true;
  }

 private:
  std::vector<uint32_t> window_;  // a ring of the latest ids
  size_t filled_ = 0, next_ = 0;
  uint64_t bucket_ = 0;
};

}  // namespace

absl::Status NearMatcher::MakePairs(SortedRuns<uint64_t>* pairs) {
  PairMaker maker(options_.bucket_window);
  absl::Status s;
  const auto add = [&](uint64_t pair) {
    s = pairs->Add(pair);
    return s.ok();
  };
  BandRecord record;
  while (bands_->Next(&record)) {
    if (!maker.Take(record, add)) return s;
  }
  if (!bands_->status().ok()) return bands_->status();
  stats_.pairs = pairs->stats().records;
  return absl::OkStatus();
}

// The same from partitions in memory, sorted and paired on all threads a
// group at a time (a bucket lies in one partition), the pairs then added
// in order. The pairs waiting are kept near an eighth of the memory
// limit: groups grow while they hold less, and shrink when they hold more
// (counted with the matcher's buffers).
absl::Status NearMatcher::SortAndPairInPartitions(SortedRuns<uint64_t>* pairs) {
  const size_t parts = bands_->partitions();
  const uint64_t budget =
      std::max<uint64_t>(options_.memory_limit / 8, 1 << 20);
  constexpr size_t kMaxGroup = 128;
  const size_t min_group = std::min(
      kMaxGroup, static_cast<size_t>(std::max(1, options_.threads)) * 4);
  struct alignas(64) Found {
    std::vector<uint64_t> pairs;
  };
  std::vector<Found> found;
  size_t group = min_group;
  for (size_t begin = 0; begin < parts;) {
    const size_t end = std::min(parts, begin + group);
    if (found.size() < end - begin) found.resize(end - begin);
    bands_->SortEachPartition(
        begin, end, options_.threads,
        [&](size_t p, const BandRecord* records, size_t n) {
          std::vector<uint64_t>& out = found[p - begin].pairs;
          out.clear();
          PairMaker maker(options_.bucket_window);
          const auto emit = [&out](uint64_t pair) {
            out.push_back(pair);
            return true;
          };
          for (size_t i = 0; i < n; ++i) maker.Take(records[i], emit);
        });
    uint64_t held = 0;
    for (size_t k = 0; k < end - begin; ++k) {
      held += found[k].pairs.capacity() * sizeof(uint64_t);
      for (uint64_t pair : found[k].pairs) {
        absl::Status s = pairs->Add(pair);
        if (!s.ok()) return s;
      }
      if (held > budget) std::vector<uint64_t>().swap(found[k].pairs);
    }
    NotePeak(bands_->stats().peak_buffer_bytes + store_->BufferBytes() +
                 pairs->stats().peak_buffer_bytes + held,
             0);
    begin = end;
    if (held > budget) {
      group = std::max(min_group, group / 2);
    } else if (held < budget / 2) {
      group = std::min(kMaxGroup, group * 2);
    }
  }
  stats_.pairs = pairs->stats().records;
  return absl::OkStatus();
}

// Phase 3: paragraphs in input order, each with its candidates; every
// earlier paragraph is settled (first of its cluster or not) when a later
// one asks. Pairs are taken a chunk at a time; the threads first verify
// each paragraph against its candidates' firsts as far as they are known
// (settled before the chunk; inside it, the candidate itself), then one
// pass in input order settles the chunk, verifying only what the guess
// missed. A verdict depends on the two paragraphs alone, so the result is
// the same as verifying in order, for any thread count.
absl::Status NearMatcher::Verify(SortedRuns<uint64_t>* pairs,
                                 const MatchFn& on_match) {
  std::vector<uint32_t> lead(unit_of_.size());  // paragraph -> its first
  std::iota(lead.begin(), lead.end(), 0u);
  NotePeak(
      pairs->stats().peak_buffer_bytes + store_->BufferBytes(),
      store_->TableBytes() + unit_of_.capacity() * 4 + lead.capacity() * 4);
  struct Group {
    uint32_t q;
    uint32_t begin;  // into `earlier` and `guesses`
    uint32_t end;
    uint32_t guessed;  // guesses[begin, begin + guessed) are filled
  };
  struct Verdict {
    uint32_t first;
    float similarity;
    bool match;
  };
  std::vector<uint32_t> earlier;  // the chunk's candidates, by group
  std::vector<Verdict> guesses;
  std::vector<Group> groups;
  Scratch settle;  // for settling, on this thread
  std::vector<uint32_t>& firsts = settle.firsts;
  uint64_t pair;
  bool have = pairs->Next(&pair);
  while (have) {
    // A chunk of whole groups.
    earlier.clear();
    groups.clear();
    while (have && earlier.size() < options_.chunk_pairs) {
      const uint32_t q = static_cast<uint32_t>(pair >> 32);
      Group g{q, static_cast<uint32_t>(earlier.size()), 0, 0};
      while (have && static_cast<uint32_t>(pair >> 32) == q) {
        earlier.push_back(static_cast<uint32_t>(pair));
        have = pairs->Next(&pair);
      }
      g.end = static_cast<uint32_t>(earlier.size());
      groups.push_back(g);
    }
    guesses.resize(earlier.size());
    const uint32_t chunk_start = groups.front().q;
    absl::Status s = GuessInParallel(
        groups.size(), [&](size_t i, Scratch* scratch) -> absl::Status {
          Group& g = groups[i];
          std::vector<uint32_t>& guess = scratch->firsts;
          guess.clear();
          for (uint32_t k = g.begin; k < g.end; ++k) {
            const uint32_t c = earlier[k];
            guess.push_back(c < chunk_start ? lead[c] : c);
          }
          SortedUnique(&guess);
          uint64_t facts = 0;
          absl::Status st = store_->Get(g.q, &facts, &scratch->own);
          for (size_t k = 0; st.ok() && k < guess.size(); ++k) {
            Verdict& v = guesses[g.begin + k];
            v.first = guess[k];
            st = Check(scratch->own, facts, guess[k], scratch, &v.similarity,
                       &v.match);
          }
          g.guessed = static_cast<uint32_t>(guess.size());
          return st;
        });
    if (!s.ok()) return s;
    for (const Group& g : groups) {
      firsts.clear();
      for (uint32_t k = g.begin; k < g.end; ++k) {
        firsts.push_back(lead[earlier[k]]);
      }
      SortedUnique(&firsts);
      const Verdict* guess = guesses.data() + g.begin;
      const Verdict* guess_end = guess + g.guessed;
      bool loaded = false;
      uint64_t facts = 0;
      for (uint32_t c : firsts) {
        ++stats_.candidates;
        while (guess != guess_end && guess->first < c) ++guess;
        Verdict v;
        if (guess != guess_end && guess->first == c) {
          v = *guess;
        } else {
          // The guess took a candidate for a first that is not.
          if (!loaded) {
            s = store_->Get(g.q, &facts, &settle.own);
            if (!s.ok()) return s;
            loaded = true;
          }
          v.first = c;
          s = Check(settle.own, facts, c, &settle, &v.similarity, &v.match);
          if (!s.ok()) return s;
        }
        if (v.match) {
          lead[g.q] = c;
          ++stats_.matched;
          on_match(unit_of_[g.q], unit_of_[c], v.similarity);
          break;
        }
      }
    }
  }
  if (!pairs->status().ok()) return pairs->status();
  pairs->Release();
  return absl::OkStatus();
}

// Whether paragraph q (its sorted fingerprint set `own` and `facts`) nearly
// repeats paragraph c.
absl::Status NearMatcher::Check(const std::vector<uint32_t>& own,
                                uint64_t facts, uint32_t c, Scratch* scratch,
                                float* similarity, bool* match) const {
  CachedFingerprints& cached =
      scratch->cache[(c * 0x9E3779B1u) >> 24 & (kCachedFingerprints - 1)];
  if (cached.record != c) {
    cached.record = UINT32_MAX;
    absl::Status s = store_->Get(c, &cached.facts, &cached.set);
    if (!s.ok()) return s;
    cached.record = c;
  }
  const uint64_t other_facts = cached.facts;
  const absl::Span<const uint32_t> a(own), b(cached.set);
  const double j = ExactJaccard(a, b);
  // |A u B| = (|A| + |B|) / (1 + J); |A delta B| = |A u B| (1 - J).
  const double union_size = (a.size() + b.size()) / (1.0 + j);
  const bool few_edits =
      options_.max_difference > 0 && a.size() >= options_.min_edit_shingles &&
      b.size() >= options_.min_edit_shingles &&
      union_size * (1.0 - j) <=
          static_cast<double>(options_.max_difference) + 0.5 &&
      facts == other_facts;
  *similarity = static_cast<float>(j);
  *match = j >= options_.threshold || few_edits;
  return absl::OkStatus();
}

// Runs fn(i, scratch) for i in [0, n) on options_.threads threads (the
// caller is one); the first error wins.
absl::Status NearMatcher::GuessInParallel(
    size_t n, const std::function<absl::Status(size_t, Scratch*)>& fn) {
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  absl::Status first_error;
  auto work = [&]() {
    Scratch scratch;
    for (size_t i = next.fetch_add(1); i < n && !failed.load();
         i = next.fetch_add(1)) {
      absl::Status s = fn(i, &scratch);
      if (!s.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        if (first_error.ok()) first_error = s;
        failed.store(true);
      }
    }
  };
  const size_t helpers = std::min<size_t>(
      n / 64, static_cast<size_t>(std::max(1, options_.threads) - 1));
  std::vector<std::thread> pool;
  for (size_t t = 0; t < helpers; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
  return first_error;
}

}  // namespace internal
}  // namespace newsdedup
