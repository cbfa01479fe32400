// Sorting more fixed-size records than memory allows: records are buffered
// up to a byte budget, sorted, and spilled to disk as sorted runs; reading
// back merges the runs. With everything in memory nothing touches the disk.
//
//   SortedRuns<uint64_t> sorter(options);
//   for (...) RETURN_IF_ERROR(sorter.Add(key));
//   RETURN_IF_ERROR(sorter.Finish());
//   uint64_t key;
//   while (sorter.Next(&key)) { ... }   // ascending
//
// T is trivially copyable, ordered by operator<, and has a free function
// `uint64_t SortKey(const T&)` that orders records by their leading field
// (a < b implies SortKey(a) <= SortKey(b)): the in-memory sort partitions
// on its high bits. Runs are private to the process, written little-endian
// as the machine lays T out, behind a magic number and version, and
// unlinked as soon as they are opened (no file is left behind, even by a
// killed process).
#ifndef NEWSDEDUP_INTERNAL_SORTED_RUNS_H_
#define NEWSDEDUP_INTERNAL_SORTED_RUNS_H_

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <queue>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "internal/parallel_for.h"

namespace newsdedup {
namespace internal {

struct SortedRunsOptions {
  // Bytes of records held in memory before a sorted run is spilled. >= 1
  // record's worth.
  uint64_t memory_limit = uint64_t{64} << 20;
  // Folder for runs. "": $TMPDIR, else /tmp.
  std::string temp_dir;
  // Names the runs' files (newsdedup-<tag>-<pid>-<n>.run).
  std::string tag = "sort";
  // Threads for the in-memory sort; the order does not depend on it.
  int threads = 1;
  // For keys spread evenly over all 64 bits (hashes): > 0 files records
  // into 2^bits partitions by their top bits as they are added, so that
  // sorting is a sort of each partition while it sits in cache, instead of
  // a pass partitioning the whole buffer (whose swaps wait on each other).
  // A full partition spills, like a full buffer. 0: one buffer.
  int partition_bits = 0;
};

struct SortedRunsStats {
  uint64_t records = 0;
  uint64_t runs_spilled = 0;
  uint64_t bytes_spilled = 0;
  uint64_t peak_buffer_bytes = 0;  // most bytes of records held in memory
};

// Asks the kernel to back [data, data + bytes) with 2 MiB pages where it
// can (transparent huge pages in "madvise" mode): a buffer of hundreds of
// megabytes is then faulted in 512 times less often as it is first
// written. Only advice; nothing changes where it is refused.
inline void AdviseHugePages(const void* data, size_t bytes) {
  constexpr uintptr_t kHuge = uintptr_t{2} << 20;
  const uintptr_t begin =
      (reinterpret_cast<uintptr_t>(data) + kHuge - 1) & ~(kHuge - 1);
  const uintptr_t end =
      (reinterpret_cast<uintptr_t>(data) + bytes) & ~(kHuge - 1);
  if (end > begin) {
    madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
  }
}

// Creates `path` for writing and reading back and unlinks it at once: the
// open handle keeps the data, and nothing is left behind however the
// process ends. `what` names the contents in the error.
inline absl::StatusOr<FILE*> CreateScratchFile(const std::string& path,
                                               const char* what) {
  FILE* f = std::fopen(path.c_str(), "w+b");
  if (f == nullptr) {
    return absl::PermissionDeniedError(absl::StrCat(
        path, ": cannot write ", what, ": ", std::strerror(errno)));
  }
  std::remove(path.c_str());
  return f;
}

// The error for a failed write (fwrite or fflush) to the scratch file at
// `path`, which held `what`: the reason is `err`, the failing call's errno
// ("No space left on device" on a full disk), by default errno as it is
// now (right after the call).
inline absl::Status ScratchWriteError(const std::string& path, const char* what,
                                      int err = errno) {
  return absl::DataLossError(
      absl::StrCat(path, ": cannot write ", what, ": ",
                   err != 0 ? std::strerror(err) : "write failed"));
}

// Plain 64-bit keys sort by themselves.
inline uint64_t SortKey(uint64_t v) { return v; }

// The folder spilled files go to: `dir`, else $TMPDIR, else /tmp.
inline std::string TempDir(const std::string& dir) {
  if (!dir.empty()) return dir;
  const char* tmp = std::getenv("TMPDIR");
  return tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
}

constexpr int kRadixBits = 11;
constexpr size_t kRadixBuckets = size_t{1} << kRadixBits;

// Partitions [data, data + n) in place into kRadixBuckets buckets by
// bucket_of (American flag sort: count, then swap each record into its
// bucket); begin[b] is where bucket b starts, begin[kRadixBuckets] == n.
template <typename T, typename BucketOf>
void RadixPartition(T* data, size_t n, BucketOf bucket_of,
                    std::vector<size_t>* begin) {
  begin->assign(kRadixBuckets + 1, 0);
  for (size_t i = 0; i < n; ++i) ++(*begin)[bucket_of(data[i]) + 1];
  for (size_t b = 0; b < kRadixBuckets; ++b) (*begin)[b + 1] += (*begin)[b];
  std::vector<size_t> next(begin->begin(), begin->end() - 1);
  for (size_t b = 0; b < kRadixBuckets; ++b) {
    while (next[b] < (*begin)[b + 1]) {
      T r = data[next[b]];
      size_t target = bucket_of(r);
      // Follow the cycle until a record that belongs in bucket b lands here.
      while (target != b) {
        std::swap(r, data[next[target]++]);
        target = bucket_of(r);
      }
      data[next[b]++] = r;
    }
  }
}

// Sorts a bucket whose keys, less `lo`, agree above bit `shift`: large
// buckets are partitioned again by the next 11 bits (in cache, branch-free
// counting) and only small ranges go to std::sort, whose comparisons
// mispredict about once per level.
template <typename T>
void SortBucket(T* data, size_t n, uint64_t lo, int shift) {
  if (n < 1024 || shift <= 0) {
    std::sort(data, data + n);
    return;
  }
  const int sub = std::max(0, shift - kRadixBits);
  std::vector<size_t> begin;
  RadixPartition(
      data, n,
      [lo, sub](const T& r) {
        return static_cast<size_t>((SortKey(r) - lo) >> sub) &
               (kRadixBuckets - 1);
      },
      &begin);
  for (size_t b = 0; b < kRadixBuckets; ++b) {
    SortBucket(data + begin[b], begin[b + 1] - begin[b], lo, sub);
  }
}

// Sorts the n records at `data` by inserting each in turn: for a few.
template <typename T>
inline void InsertionSort(T* data, size_t n) {
  for (size_t i = 1; i < n; ++i) {
    T x = data[i];
    size_t j = i;
    for (; j > 0 && x < data[j - 1]; --j) data[j] = data[j - 1];
    data[j] = x;
  }
}

// Sorts the records of `ranges`, whose keys less `lo` agree above bit
// `shift` and are spread evenly below it (a partition of hashes, maybe in
// parts), into *out: one counting pass over the next bits (enough for
// about four records a bucket, at most 13), a scatter straight from the
// ranges into *out (in cache for a partition of a few hundred kilobytes),
// and small sorts of the buckets. Several times faster than partitioning
// in place, whose swaps wait on each other; and the records are not
// gathered first.
template <typename T>
void SortSpreadInto(absl::Span<const absl::Span<const T>> ranges, uint64_t lo,
                    int shift, std::vector<T>* out) {
  size_t n = 0;
  for (absl::Span<const T> r : ranges) n += r.size();
  out->resize(n);
  if (n < 1024 || shift <= 0) {
    T* at = out->data();
    for (absl::Span<const T> r : ranges) at = std::copy(r.begin(), r.end(), at);
    SortBucket(out->data(), n, lo, shift);
    return;
  }
  int bits = 8;
  while (bits < 13 && (size_t{4} << bits) < n) ++bits;
  bits = std::min(bits, shift);
  const int sub = shift - bits;
  const size_t buckets = size_t{1} << bits;
  auto bucket_of = [lo, sub, buckets](const T& r) {
    return static_cast<size_t>((SortKey(r) - lo) >> sub) & (buckets - 1);
  };
  thread_local std::vector<size_t> begin, next;
  begin.assign(buckets + 1, 0);
  for (absl::Span<const T> r : ranges) {
    for (const T& x : r) ++begin[bucket_of(x) + 1];
  }
  for (size_t b = 0; b < buckets; ++b) begin[b + 1] += begin[b];
  next.assign(begin.begin(), begin.end() - 1);
  T* data = out->data();
  for (absl::Span<const T> r : ranges) {
    for (const T& x : r) data[next[bucket_of(x)]++] = x;
  }
  for (size_t b = 0; b < buckets; ++b) {
    const size_t m = begin[b + 1] - begin[b];
    if (m <= 1) continue;
    // Most buckets hold a handful of records: sorted in line, where a call
    // to std::sort for each cost more than the rest of the sort together.
    if (m <= 16) {
      InsertionSort(data + begin[b], m);
    } else {
      SortBucket(data + begin[b], m, lo, sub);
    }
  }
}

// SortSpreadInto for the n records at `data`, sorted in place by way of
// `scratch` (and a copy back).
template <typename T>
void SortSpread(T* data, size_t n, uint64_t lo, int shift,
                std::vector<T>* scratch) {
  if (n < 1024 || shift <= 0) {
    SortBucket(data, n, lo, shift);
    return;
  }
  const absl::Span<const T> all(data, n);
  SortSpreadInto<T>(absl::MakeConstSpan(&all, 1), lo, shift, scratch);
  std::copy(scratch->begin(), scratch->end(), data);
}

// Sorts [data, data + n) by (SortKey, operator<). An in-place partition by
// the top 11 bits of SortKey's range leaves 2048 buckets, each then sorted
// while it sits in cache (SortBucket): several times faster than one
// std::sort over hundreds of megabytes. With threads > 1 the buckets are
// sorted on that many threads.
template <typename T>
void SortBuffer(T* data, size_t n, int threads) {
  if (n < 4 * kRadixBuckets) {
    std::sort(data, data + n);
    return;
  }
  uint64_t lo = SortKey(data[0]), hi = lo;
  for (size_t i = 1; i < n; ++i) {
    const uint64_t k = SortKey(data[i]);
    lo = std::min(lo, k);
    hi = std::max(hi, k);
  }
  // Keys are spread over [lo, hi]: bucket by the top bits of k - lo.
  int width = 0;
  while (width < 64 && ((hi - lo) >> width) != 0) ++width;
  const int shift = std::max(0, width - kRadixBits);
  std::vector<size_t> begin;
  RadixPartition(
      data, n,
      [lo, shift](const T& r) {
        return static_cast<size_t>((SortKey(r) - lo) >> shift);
      },
      &begin);
  ParallelFor(kRadixBuckets, threads, [&](size_t b) {
    SortBucket(data + begin[b], begin[b + 1] - begin[b], lo, shift);
  });
}

template <typename T>
class SortedRuns {
  static_assert(std::is_trivially_copyable<T>::value,
                "records are written to disk as bytes");

 public:
  explicit SortedRuns(SortedRunsOptions options)
      : options_(std::move(options)) {
    options_.temp_dir = TempDir(options_.temp_dir);
    max_records_ = std::max<uint64_t>(1, options_.memory_limit / sizeof(T));
    // Partitions of at least 64 records each.
    int bits = std::min(options_.partition_bits, 16);
    while (bits > 0 && (max_records_ >> bits) < 64) --bits;
    partition_bits_ = bits;
    if (bits > 0) {
      region_ = max_records_ >> bits;
      fill_.assign(size_t{1} << bits, 0);
    }
  }
  ~SortedRuns() {
    for (Run& run : runs_) Discard(&run);
  }
  SortedRuns(const SortedRuns&) = delete;
  SortedRuns& operator=(const SortedRuns&) = delete;

  // Before Finish. Errors: a run that cannot be written.
  absl::Status Add(const T& record) {
    if (TryAdd(record)) return absl::OkStatus();
    absl::Status s = Spill();
    if (!s.ok()) return s;
    if (!TryAdd(record)) {  // a spill leaves room
      return absl::InternalError("sorted runs: no room after a spill");
    }
    return absl::OkStatus();
  }

  // Add without spilling: false, adding nothing, where Add would spill a
  // run (a full buffer or partition).
  bool TryAdd(const T& record) {
    if (partition_bits_ > 0) {
      const size_t p =
          static_cast<size_t>(SortKey(record) >> (64 - partition_bits_));
      if (regions_ == nullptr) {
        // Not touched until written: only the pages records land on are
        // backed (no huge pages: each partition would take one).
        regions_.reset(
            static_cast<T*>(std::malloc(region_ * fill_.size() * sizeof(T))));
        if (regions_ == nullptr) throw std::bad_alloc();
      } else if (fill_[p] == region_) {
        if (held_ * 2 >= max_records_) return false;
        // Keys far from even (a window or band key repeated very often):
        // one buffer serves them better than a spill per full partition.
        Unpartition();
        return TryAdd(record);
      }
      regions_.get()[p * region_ + fill_[p]++] = record;
      ++held_;
      ++stats_.records;
      return true;
    }
    if (buffer_.size() == buffer_.capacity()) {
      if (buffer_.capacity() != 0) return false;
      // One reservation of the whole budget: pages are only backed as they
      // are written, and growing by doubling would copy the records and
      // have the kernel clear about twice the pages.
      buffer_.reserve(max_records_);
      AdviseHugePages(buffer_.data(), buffer_.capacity() * sizeof(T));
    }
    buffer_.push_back(record);
    ++stats_.records;
    return true;
  }

  // Sorts the records held in memory, keeps those `keep` leaves and spills
  // them as a run (none if it keeps nothing), then holds at most
  // `memory_limit` bytes from then on. stats().records counts only the
  // records kept. keep(data, n) gets a sorted range
  // (a partition, or the whole buffer), may rearrange it and returns how
  // many records at its start to keep, in ascending order.
  template <typename Keep>
  absl::Status SpillFiltered(const Keep& keep, uint64_t memory_limit) {
    NoteBuffer();
    if (partition_bits_ > 0) {
      SortPartitions(options_.threads);
      uint64_t kept = 0;
      for (size_t p = 0; p < fill_.size(); ++p) {
        if (fill_[p] == 0) continue;
        fill_[p] = keep(regions_.get() + p * region_, fill_[p]);
        kept += fill_[p];
      }
      stats_.records -= held_ - kept;
      held_ = kept;
    } else {
      SortBuffer(buffer_.data(), buffer_.size(), options_.threads);
      const size_t kept = keep(buffer_.data(), buffer_.size());
      stats_.records -= buffer_.size() - kept;
      buffer_.resize(kept);
    }
    if (held_ > 0 || !buffer_.empty()) {
      absl::Status s = Spill();
      if (!s.ok()) return s;
    }
    Release();
    // Free the pages: the next Add allocates the smaller buffer.
    max_records_ = std::max<uint64_t>(1, memory_limit / sizeof(T));
    if (partition_bits_ > 0) {
      int bits = partition_bits_;
      while (bits > 0 && (max_records_ >> bits) < 64) --bits;
      if (bits == 0) {
        partition_bits_ = 0;
        fill_.clear();
      } else {
        partition_bits_ = bits;
        region_ = max_records_ >> bits;
        fill_.assign(size_t{1} << bits, 0);
      }
    }
    return absl::OkStatus();
  }

  // Ends adding; Next then returns the records in ascending order. Errors:
  // a run that cannot be written or read back.
  absl::Status Finish() {
    NoteBuffer();
    if (runs_.empty()) {
      if (partition_bits_ > 0) {
        SortPartitions(options_.threads);
      } else {
        SortBuffer(buffer_.data(), buffer_.size(), options_.threads);
      }
      return absl::OkStatus();
    }
    if (held_ > 0 || !buffer_.empty()) {
      absl::Status s = Spill();
      if (!s.ok()) return s;
    }
    Release();
    return OpenRuns();
  }

  // The next record in ascending order; false at the end. After Finish.
  bool Next(T* out) {
    if (!runs_.empty()) return MergeNext(out);
    if (partition_bits_ > 0) {
      while (part_ < fill_.size() && pos_ == fill_[part_]) {
        ++part_;
        pos_ = 0;
      }
      if (part_ == fill_.size()) return false;
      *out = regions_.get()[part_ * region_ + pos_++];
      return true;
    }
    if (pos_ == buffer_.size()) return false;
    *out = buffer_[pos_++];
    return true;
  }

  // Counts the records held now toward peak_buffer_bytes (Finish does).
  void NoteBuffer() {
    stats_.peak_buffer_bytes = std::max<uint64_t>(
        stats_.peak_buffer_bytes, (buffer_.size() + held_) * sizeof(T));
  }

  // Partitioned and nothing spilled: the records sit in partitions(), in
  // the order they were added (sorted only by Finish or
  // SortEachPartition).
  bool in_memory_partitions() const {
    return partition_bits_ > 0 && runs_.empty();
  }
  size_t partitions() const { return fill_.size(); }
  const T* partition(size_t p, size_t* size) const {
    *size = regions_ == nullptr ? 0 : fill_[p];
    return regions_ == nullptr ? nullptr : regions_.get() + p * region_;
  }

  // Partitioned and nothing spilled: sorts partitions [begin, end) in
  // place on `threads` threads, calling fn(p, data, n) on each one's
  // sorted records right after, on the thread that sorted it (partitions
  // hold disjoint ranges of keys, ascending with p). Instead of Finish;
  // Next must not be called after it.
  template <typename Fn>
  void SortEachPartition(size_t begin, size_t end, int threads, const Fn& fn) {
    NoteBuffer();
    ParallelFor(end - begin, threads, [&](size_t k) {
      const size_t p = begin + k;
      const T* data = SortPartition(p);
      fn(p, data, data == nullptr ? 0 : fill_[p]);
    });
  }

  // Threads for the sorts still to come (SortedRunsOptions::threads).
  void set_threads(int threads) { options_.threads = threads; }

  // Frees the in-memory buffer (after the last Next).
  void Release() {
    std::vector<T>().swap(buffer_);
    regions_.reset();
    std::fill(fill_.begin(), fill_.end(), 0);
    held_ = 0;
  }

  // After Next returned false: OK at the end of the records, else the read
  // error that ended them early.
  const absl::Status& status() const { return read_status_; }

  // Frees the in-memory buffer and deletes the runs (after the last Next,
  // or to give up); stats stay.
  void Close() {
    Release();
    heap_ = decltype(heap_)();
    for (Run& run : runs_) Discard(&run);
    runs_.clear();
  }

  const SortedRunsStats& stats() const { return stats_; }

 private:
  static constexpr char kMagic[8] = {'N', 'D', 'S', 'R', 'U', 'N', '0', '2'};
  static constexpr size_t kReadRecords = 4096;
  // Runs open at once: past it, they are merged into one (each record is
  // then written about log_64(runs) times, and file handles stay few).
  static constexpr size_t kMaxRuns = 64;

  struct Run {
    FILE* file = nullptr;
    std::string path;
    std::vector<T> buffer;
    size_t pos = 0;
    size_t size = 0;
  };
  struct Head {
    T record;
    size_t run;
  };
  struct Later {
    bool operator()(const Head& a, const Head& b) const {
      return b.record < a.record;
    }
  };

  // The next record of `run`; false at its end, or on a read error (noted
  // in read_status_).
  bool Read(Run* run, T* out) {
    if (run->pos == run->size) {
      run->size = std::fread(run->buffer.data(), sizeof(T), run->buffer.size(),
                             run->file);
      run->pos = 0;
      if (run->size == 0) {
        if (std::ferror(run->file) && read_status_.ok()) {
          read_status_ = absl::DataLossError(absl::StrCat(
              run->path,
              ": cannot read a sorted run back: ", std::strerror(errno)));
        }
        return false;
      }
    }
    *out = run->buffer[run->pos++];
    return true;
  }

  // Moves the partitions' records into the one buffer and stops
  // partitioning: records held stay below half the budget, so both fit.
  void Unpartition() {
    buffer_.reserve(max_records_);
    for (size_t p = 0; p < fill_.size(); ++p) {
      const T* data = regions_.get() + p * region_;
      buffer_.insert(buffer_.end(), data, data + fill_[p]);
    }
    regions_.reset();
    fill_.clear();
    held_ = 0;
    partition_bits_ = 0;
  }

  // Sorts each partition in place (the buckets' keys share their top
  // partition_bits_ bits), on `threads` threads.
  void SortPartitions(int threads) {
    if (held_ == 0) return;
    ParallelFor(fill_.size(), threads, [&](size_t p) { SortPartition(p); });
  }

  // Sorts partition p in place (its keys share the top partition_bits_
  // bits, p); returns its records, null when none were ever added.
  T* SortPartition(size_t p) {
    if (regions_ == nullptr) return nullptr;
    const int shift = 64 - partition_bits_;
    thread_local std::vector<T> scratch;
    T* data = regions_.get() + p * region_;
    SortSpread(data, fill_[p], static_cast<uint64_t>(p) << shift, shift,
               &scratch);
    return data;
  }

  // Readies every run for merging: checks its header and loads its first
  // record into the heap.
  absl::Status OpenRuns() {
    for (size_t r = 0; r < runs_.size(); ++r) {
      Run& run = runs_[r];
      char magic[sizeof(kMagic)];
      if (std::fseek(run.file, 0, SEEK_SET) != 0 ||
          std::fread(magic, 1, sizeof(magic), run.file) != sizeof(magic) ||
          std::memcmp(magic, kMagic, sizeof(magic)) != 0) {
        return absl::DataLossError(
            absl::StrCat(run.path, ": not a newsdedup sorted run"));
      }
      run.buffer.resize(kReadRecords);
      run.pos = run.size = 0;
      T head;
      if (Read(&run, &head)) heap_.push({head, r});
    }
    return absl::OkStatus();
  }

  bool MergeNext(T* out) {
    if (heap_.empty()) return false;
    const Head top = heap_.top();
    heap_.pop();
    *out = top.record;
    T next;
    if (Read(&runs_[top.run], &next)) heap_.push({next, top.run});
    return true;
  }

  // A new, empty run file with its header.
  absl::Status NewRun(Run* run) {
    run->path = absl::StrCat(
        options_.temp_dir, "/newsdedup-", options_.tag, "-", getpid(), "-",
        reinterpret_cast<uintptr_t>(this), "-", files_made_++, ".run");
    absl::StatusOr<FILE*> file = CreateScratchFile(run->path, "a sorted run");
    if (!file.ok()) return file.status();
    run->file = *file;
    if (std::fwrite(kMagic, 1, sizeof(kMagic), run->file) != sizeof(kMagic)) {
      return WriteError(*run);
    }
    return absl::OkStatus();
  }

  static absl::Status WriteError(const Run& run, int err = errno) {
    return ScratchWriteError(run.path, "a sorted run", err);
  }

  static void Discard(Run* run) {
    std::fclose(run->file);
    run->file = nullptr;
  }

  absl::Status Spill() {
    NoteBuffer();
    if (partition_bits_ > 0) {
      SortPartitions(options_.threads);
    } else {
      SortBuffer(buffer_.data(), buffer_.size(), options_.threads);
    }
    Run run;
    absl::Status s = NewRun(&run);
    if (run.file != nullptr) runs_.push_back(std::move(run));
    if (!s.ok()) return s;
    FILE* f = runs_.back().file;
    bool ok = true;
    uint64_t written = buffer_.size();
    if (partition_bits_ > 0) {
      // The partitions in order are one sorted run.
      written = held_;
      for (size_t p = 0; p < fill_.size() && ok; ++p) {
        ok = std::fwrite(regions_.get() + p * region_, sizeof(T), fill_[p],
                         f) == fill_[p];
      }
      std::fill(fill_.begin(), fill_.end(), 0);
      held_ = 0;
    } else {
      ok = std::fwrite(buffer_.data(), sizeof(T), buffer_.size(), f) ==
           buffer_.size();
      buffer_.clear();
    }
    if (!ok || std::fflush(f) != 0) return WriteError(runs_.back());
    stats_.bytes_spilled += written * sizeof(T);
    ++stats_.runs_spilled;
    return runs_.size() >= kMaxRuns ? MergeRuns() : absl::OkStatus();
  }

  // Merges all runs into one.
  absl::Status MergeRuns() {
    absl::Status s = OpenRuns();
    Run merged;
    if (s.ok()) s = NewRun(&merged);
    std::vector<T> chunk;
    chunk.reserve(kReadRecords);
    T record;
    uint64_t records = 0;
    bool ok = s.ok();
    int write_errno = 0;  // of the write that failed (cleanup follows it)
    while (ok && MergeNext(&record)) {
      ++records;
      chunk.push_back(record);
      if (chunk.size() == kReadRecords) {
        ok = std::fwrite(chunk.data(), sizeof(T), chunk.size(), merged.file) ==
             chunk.size();
        if (!ok) write_errno = errno;
        chunk.clear();
      }
    }
    if (ok && s.ok()) {
      ok = std::fwrite(chunk.data(), sizeof(T), chunk.size(), merged.file) ==
               chunk.size() &&
           std::fflush(merged.file) == 0;
      if (!ok) write_errno = errno;
    }
    heap_ = decltype(heap_)();
    for (Run& run : runs_) Discard(&run);
    runs_.clear();
    if (merged.file != nullptr) runs_.push_back(std::move(merged));
    if (!s.ok()) return s;
    if (!read_status_.ok()) return read_status_;
    if (!ok) return WriteError(runs_.back(), write_errno);
    // The merged run is written again: count its bytes as spilled too.
    stats_.bytes_spilled += records * sizeof(T);
    return absl::OkStatus();
  }

  struct Free {
    void operator()(T* p) const { std::free(p); }
  };

  SortedRunsOptions options_;
  uint64_t max_records_;
  std::vector<T> buffer_;  // partition_bits_ == 0
  size_t pos_ = 0;
  // partition_bits_ > 0: partition p is regions_[p * region_, + fill_[p]).
  int partition_bits_ = 0;
  uint64_t region_ = 0;
  std::unique_ptr<T, Free> regions_;
  std::vector<uint64_t> fill_;
  uint64_t held_ = 0;  // records in the partitions
  size_t part_ = 0;    // Next's partition
  std::vector<Run> runs_;
  uint64_t files_made_ = 0;
  std::priority_queue<Head, std::vector<Head>, Later> heap_;
  SortedRunsStats stats_;
  absl::Status read_status_;  // see status()
};

// Several SortedRuns filled side by side, one per adding thread, read back
// as one sorted stream: the order does not depend on which shard a record
// went to.
template <typename T>
class SortedShards {
 public:
  // `shards` >= 1; each shard buffers options.memory_limit / shards bytes
  // and sorts what it spills on the adding thread alone.
  SortedShards(int shards, SortedRunsOptions options) {
    options.memory_limit = std::max<uint64_t>(
        sizeof(T), options.memory_limit / static_cast<uint64_t>(shards));
    options.threads = 1;
    for (int k = 0; k < shards; ++k) {
      shards_.push_back(std::make_unique<SortedRuns<T>>(options));
    }
  }

  // Calls for different shards may run at once on different threads.
  absl::Status Add(int shard, const T& record) {
    return shards_[shard]->Add(record);
  }
  bool TryAdd(int shard, const T& record) {
    return shards_[shard]->TryAdd(record);
  }
  // SortedRuns::SpillFiltered on shard `shard`, which then buffers
  // `memory_limit` bytes (not divided among the shards).
  template <typename Keep>
  absl::Status SpillFiltered(int shard, const Keep& keep,
                             uint64_t memory_limit) {
    return shards_[shard]->SpillFiltered(keep, memory_limit);
  }
  int shards() const { return static_cast<int>(shards_.size()); }

  // Sorts the shards that hold records side by side, `threads` shared
  // among them; Next then returns all records in ascending order.
  absl::Status Finish(int threads) {
    for (auto& shard : shards_) {
      if (shard->stats().records > 0) used_.push_back(shard.get());
    }
    const int per_shard = std::max<int>(
        1, threads / std::max<int>(1, static_cast<int>(used_.size())));
    std::vector<absl::Status> status(used_.size());
    std::vector<std::thread> pool;
    for (size_t k = 0; k < used_.size(); ++k) {
      used_[k]->set_threads(per_shard);
      if (k + 1 < used_.size()) {
        pool.emplace_back([&, k]() { status[k] = used_[k]->Finish(); });
      } else {
        status[k] = used_[k]->Finish();
      }
    }
    for (std::thread& t : pool) t.join();
    for (const absl::Status& s : status) {
      if (!s.ok()) return s;
    }
    // One or two shards (one or two threads) are read by comparing heads,
    // more through a heap.
    for (size_t k = 0; k < used_.size(); ++k) {
      T head;
      if (!used_[k]->Next(&head)) continue;
      if (used_.size() <= 2) {
        head_[k] = head;
        has_[k] = true;
      } else {
        heap_.push({head, k});
      }
    }
    return absl::OkStatus();
  }

  // The number of partitions when every shard holds its records in memory
  // in partitions, else 0.
  size_t InMemoryPartitions() const {
    for (const auto& shard : shards_) {
      if (!shard->in_memory_partitions()) return 0;
    }
    return shards_.front()->partitions();
  }

  // Instead of Finish and Next, when every shard kept its records in
  // memory in partitions (SortedRunsOptions::partition_bits, nothing
  // spilled): calls fn(p, records) for every partition p, records being
  // all shards' records of that partition, sorted (a vector fn may use as
  // scratch). Partitions hold ascending key ranges; calls for different
  // partitions run at once on `threads` threads. False, calling nothing,
  // otherwise.
  template <typename Fn>
  bool ForEachPartitionSorted(int threads, const Fn& fn) {
    const size_t count = InMemoryPartitions();
    if (count == 0) return false;
    for (const auto& shard : shards_) shard->NoteBuffer();
    const int shift = 64 - static_cast<int>(__builtin_ctzll(count));
    ParallelFor(count, threads, [&](size_t p) {
      thread_local std::vector<T> records;
      thread_local std::vector<absl::Span<const T>> parts;
      parts.clear();
      for (const auto& shard : shards_) {
        size_t n = 0;
        const T* data = shard->partition(p, &n);
        parts.emplace_back(data, n);
      }
      SortSpreadInto<T>(parts, static_cast<uint64_t>(p) << shift, shift,
                        &records);
      fn(p, records);
    });
    return true;
  }

  bool Next(T* out) {
    if (used_.size() <= 2) {
      if (!has_[0] && !has_[1]) return false;
      const size_t k = !has_[0] || (has_[1] && head_[1] < head_[0]) ? 1 : 0;
      *out = head_[k];
      has_[k] = used_[k]->Next(&head_[k]);
      return true;
    }
    if (heap_.empty()) return false;
    const size_t from = heap_.top().second;
    *out = heap_.top().first;
    heap_.pop();
    T next;
    if (used_[from]->Next(&next)) heap_.push({next, from});
    return true;
  }

  // After Next returned false: OK at the end, else the first read error.
  absl::Status status() const {
    for (const auto& shard : shards_) {
      if (!shard->status().ok()) return shard->status();
    }
    return absl::OkStatus();
  }

  // Frees the in-memory buffers (after the last Next).
  void Release() {
    for (auto& shard : shards_) shard->Release();
  }
  // Frees the buffers and deletes the runs (after the last Next).
  void Close() {
    for (auto& shard : shards_) shard->Close();
    heap_ = decltype(heap_)();
    has_[0] = has_[1] = false;
  }

  // The shards' statistics summed.
  SortedRunsStats stats() const {
    SortedRunsStats sum;
    for (const auto& shard : shards_) {
      const SortedRunsStats& s = shard->stats();
      sum.records += s.records;
      sum.runs_spilled += s.runs_spilled;
      sum.bytes_spilled += s.bytes_spilled;
      sum.peak_buffer_bytes += s.peak_buffer_bytes;
    }
    return sum;
  }

 private:
  using Head = std::pair<T, size_t>;  // record, shard
  struct Later {
    bool operator()(const Head& a, const Head& b) const {
      return b.first < a.first;
    }
  };

  std::vector<std::unique_ptr<SortedRuns<T>>> shards_;
  std::vector<SortedRuns<T>*> used_;  // those holding records
  T head_[2];
  bool has_[2] = {false, false};
  std::priority_queue<Head, std::vector<Head>, Later> heap_;
};

}  // namespace internal
}  // namespace newsdedup

#endif  // NEWSDEDUP_INTERNAL_SORTED_RUNS_H_
