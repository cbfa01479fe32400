#include "newsdedup/output_file.h"

#include <libdeflate.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace newsdedup {

enum class Codec { kPlain, kGzip, kZstd };

namespace {

// Compressed output is cut into chunks of this many bytes (the last one
// shorter), each compressed on its own as a whole gzip member or zstd frame
// and written in order: the chunks can then be compressed on several
// threads, and the file is the same bytes for any number of them. gzip's
// 32 KB window loses nothing at 1 MiB; zstd's level 3 lost 0.3% at 4 MiB
// (2.5% at 1 MiB) against one stream, on Reuters 2006-2010's cleaned text.
size_t ChunkBytes(Codec codec) {
  return codec == Codec::kZstd ? size_t{4} << 20 : size_t{1} << 20;
}

// One thread's compressor: libdeflate at gzip's default level (6), 2.6
// times zlib's speed at a slightly smaller size here, or zstd at level 3
// with a checksum per frame.
class Compressor {
 public:
  explicit Compressor(Codec codec) : codec_(codec) {}
  ~Compressor() {
    if (deflate_ != nullptr) libdeflate_free_compressor(deflate_);
    if (zstd_ != nullptr) ZSTD_freeCCtx(zstd_);
  }
  Compressor(const Compressor&) = delete;
  Compressor& operator=(const Compressor&) = delete;

  // Compresses `in` into the first *size bytes of *out: a whole member or
  // frame. *out only grows: a buffer used again is not cleared again.
  absl::Status Compress(std::string_view in, std::string* out, size_t* size) {
    if (codec_ == Codec::kGzip) {
      if (deflate_ == nullptr) deflate_ = libdeflate_alloc_compressor(6);
      if (deflate_ == nullptr) return absl::ResourceExhaustedError("gzip");
      const size_t bound = libdeflate_gzip_compress_bound(deflate_, in.size());
      if (out->size() < bound) out->resize(bound);
      *size = libdeflate_gzip_compress(deflate_, in.data(), in.size(),
                                       out->data(), out->size());
      if (*size == 0) return absl::InternalError("gzip failed");
      return absl::OkStatus();
    }
    if (zstd_ == nullptr) {
      zstd_ = ZSTD_createCCtx();
      if (zstd_ == nullptr) return absl::ResourceExhaustedError("zstd");
      ZSTD_CCtx_setParameter(zstd_, ZSTD_c_compressionLevel, 3);
      ZSTD_CCtx_setParameter(zstd_, ZSTD_c_checksumFlag, 1);
    }
    const size_t bound = ZSTD_compressBound(in.size());
    if (out->size() < bound) out->resize(bound);
    *size =
        ZSTD_compress2(zstd_, out->data(), out->size(), in.data(), in.size());
    if (ZSTD_isError(*size)) {
      return absl::InternalError(
          absl::StrCat("zstd failed: ", ZSTD_getErrorName(*size)));
    }
    return absl::OkStatus();
  }

 private:
  Codec codec_;
  libdeflate_compressor* deflate_ = nullptr;
  ZSTD_CCtx* zstd_ = nullptr;
};

}  // namespace

class OutputFile::Impl {
 public:
  Impl(std::string path, std::string temp, FILE* file, Codec codec, int threads)
      : path_(std::move(path)),
        temp_(std::move(temp)),
        file_(file),
        codec_(codec),
        threads_(std::max(threads, 1)),
        own_(codec) {}

  ~Impl() {
    StopWorkers();
    if (file_ != nullptr && file_ != stdout) {
      std::fclose(file_);
      if (!temp_.empty()) std::remove(temp_.c_str());
    }
  }

  absl::Status Write(std::string_view bytes) {
    if (!status_.ok()) return status_;
    if (file_ == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat(path_, ": written after Commit"));
    }
    if (codec_ == Codec::kPlain) return Raw(bytes.data(), bytes.size());
    const size_t chunk = ChunkBytes(codec_);
    while (!bytes.empty()) {
      if (filling_.capacity() < chunk) filling_.reserve(chunk);
      const size_t n = std::min(bytes.size(), chunk - filling_.size());
      filling_.append(bytes.data(), n);
      bytes.remove_prefix(n);
      any_ = true;
      if (filling_.size() == chunk) {
        if (absl::Status s = Submit(); !s.ok()) return s;
      }
    }
    return absl::OkStatus();
  }

  absl::Status Commit() {
    if (file_ == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat(path_, ": already committed"));
    }
    // A write refused before: the file stays unfinished (and is removed).
    if (!status_.ok()) return status_;
    // The last chunk; an empty file still gets an (empty) member or frame,
    // so that it decompresses.
    if (codec_ != Codec::kPlain && (!filling_.empty() || !any_)) {
      if (absl::Status s = Submit(); !s.ok()) return s;
    }
    if (absl::Status s = Drain(0); !s.ok()) return s;
    StopWorkers();
    if (file_ == stdout) {
      file_ = nullptr;
      if (std::fflush(stdout) != 0)
        return absl::DataLossError("stdout: write failed");
      return absl::OkStatus();
    }
    const bool closed = std::fclose(file_) == 0;
    file_ = nullptr;
    if (temp_.empty()) {  // written in place
      if (closed) return absl::OkStatus();
      return absl::DataLossError(
          absl::StrCat(path_, ": cannot write: ", std::strerror(errno)));
    }
    if (!closed || std::rename(temp_.c_str(), path_.c_str()) != 0) {
      const std::string why = std::strerror(errno);
      std::remove(temp_.c_str());
      return absl::DataLossError(absl::StrCat(path_, ": cannot write: ", why));
    }
    return absl::OkStatus();
  }

 private:
  struct Chunk {
    std::string in;
    std::string out;  // its first out_size bytes
    size_t out_size = 0;
    bool taken = false;  // by a thread that compresses it
    bool done = false;
    absl::Status status;
  };

  // A chunk written out, kept with its buffers for the next one (by the
  // writing thread only).
  void Recycle(std::unique_ptr<Chunk> chunk) {
    chunk->in.clear();
    chunk->taken = chunk->done = false;
    chunk->status = absl::OkStatus();
    spare_.push_back(std::move(chunk));
  }

  // Queues the chunk being filled. The workers compress the queue; this
  // thread writes the chunks in order and, with more than threads + 1
  // queued (any, with one thread), compresses the oldest waiting one
  // itself (or waits) before it goes on.
  absl::Status Submit() {
    std::unique_ptr<Chunk> chunk;
    if (spare_.empty()) {
      chunk = std::make_unique<Chunk>();
    } else {
      chunk = std::move(spare_.back());
      spare_.pop_back();
    }
    // The spare's emptied input buffer is the one filled next.
    chunk->in.swap(filling_);
    bool more;
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(std::move(chunk));
      more = queue_.size() > 1;
    }
    // From the second chunk: a file of one chunk starts no thread. (With
    // one thread there are no workers: Drain compresses each chunk.)
    if (more) StartWorkers();
    queued_.notify_one();
    return Drain(threads_ == 1 ? 0 : static_cast<size_t>(threads_) + 1);
  }

  // Writes the finished chunks at the queue's front, helping and waiting
  // until at most `keep` chunks are left.
  absl::Status Drain(size_t keep) {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      while (!queue_.empty() && queue_.front()->done) {
        std::unique_ptr<Chunk> front = std::move(queue_.front());
        queue_.pop_front();
        lock.unlock();
        absl::Status s = front->status.ok()
                             ? Raw(front->out.data(), front->out_size)
                             : Failed(front->status);
        Recycle(std::move(front));
        lock.lock();
        if (!s.ok()) return s;
      }
      if (queue_.size() <= keep) return absl::OkStatus();
      Chunk* waiting = nullptr;
      for (const std::unique_ptr<Chunk>& c : queue_) {
        if (!c->taken) {
          waiting = c.get();
          break;
        }
      }
      if (waiting == nullptr) {
        finished_.wait(lock);
        continue;
      }
      waiting->taken = true;
      lock.unlock();
      waiting->status =
          own_.Compress(waiting->in, &waiting->out, &waiting->out_size);
      lock.lock();
      waiting->done = true;
    }
  }

  void StartWorkers() {
    if (!workers_.empty()) return;
    for (int t = 1; t < threads_; ++t) {
      workers_.emplace_back([this] {
        Compressor mine(codec_);
        std::unique_lock<std::mutex> lock(mu_);
        while (true) {
          Chunk* next = nullptr;
          queued_.wait(lock, [&] {
            if (stop_) return true;
            for (const std::unique_ptr<Chunk>& c : queue_) {
              if (!c->taken) {
                next = c.get();
                return true;
              }
            }
            return false;
          });
          if (next == nullptr) return;  // stopping
          next->taken = true;
          lock.unlock();
          next->status = mine.Compress(next->in, &next->out, &next->out_size);
          lock.lock();
          next->done = true;
          finished_.notify_all();
        }
      });
    }
  }

  void StopWorkers() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    queued_.notify_all();
    for (std::thread& t : workers_) t.join();
    workers_.clear();
  }

  absl::Status Failed(const absl::Status& s) {
    status_ = absl::InternalError(absl::StrCat(path_, ": ", s.message()));
    return status_;
  }

  absl::Status Raw(const char* data, size_t size) {
    if (!status_.ok()) return status_;
    if (size == 0) return absl::OkStatus();
    if (std::fwrite(data, 1, size, file_) != size) {
      status_ = absl::DataLossError(
          absl::StrCat(path_, ": write failed: ", std::strerror(errno)));
    }
    return status_;
  }

  std::string path_;
  std::string temp_;
  FILE* file_;
  Codec codec_;
  int threads_;
  absl::Status status_;  // the first error: every call after returns it
  std::string filling_;  // the chunk being written
  bool any_ = false;     // bytes were written
  Compressor own_;       // the writing thread's
  std::vector<std::unique_ptr<Chunk>> spare_;  // see Recycle

  std::mutex mu_;
  std::condition_variable queued_;            // a chunk to compress, or stop_
  std::condition_variable finished_;          // a chunk compressed
  std::deque<std::unique_ptr<Chunk>> queue_;  // in file order
  bool stop_ = false;
  std::vector<std::thread> workers_;  // threads_ - 1, from the second chunk
};

OutputFile::OutputFile(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
OutputFile::~OutputFile() = default;

absl::StatusOr<std::unique_ptr<OutputFile>> OutputFile::Open(
    const std::string& path, int threads) {
  if (path.empty()) return absl::InvalidArgumentError("empty output path");
  std::unique_ptr<Impl> impl;
  if (path == "-") {
    impl = std::make_unique<Impl>(path, "", stdout, Codec::kPlain, 1);
  } else {
    const Codec codec = absl::EndsWith(path, ".gz")    ? Codec::kGzip
                        : absl::EndsWith(path, ".zst") ? Codec::kZstd
                                                       : Codec::kPlain;
    // A device or a pipe (/dev/null, /dev/stdout, a FIFO) is written in
    // place: renaming a file over it would replace it. So is anything under
    // /dev or /proc (/dev/stdout or /proc/self/fd/1 naming a redirected
    // file, whose link a rename would replace).
    struct stat st;
    std::string temp;
    const bool special_folder =
        absl::StartsWith(path, "/dev/") || absl::StartsWith(path, "/proc/");
    if (!special_folder &&
        (stat(path.c_str(), &st) != 0 || S_ISREG(st.st_mode))) {
      // Unique per process and per open file.
      static std::atomic<uint64_t> counter{0};
      temp = absl::StrCat(path, ".tmp-", getpid(), "-", counter.fetch_add(1));
    }
    FILE* file = std::fopen(temp.empty() ? path.c_str() : temp.c_str(), "wb");
    if (file == nullptr) {
      return absl::PermissionDeniedError(
          absl::StrCat(path, ": cannot write: ", std::strerror(errno)));
    }
    impl = std::make_unique<Impl>(path, std::move(temp), file, codec, threads);
  }
  return std::unique_ptr<OutputFile>(new OutputFile(std::move(impl)));
}

absl::Status OutputFile::Write(std::string_view bytes) {
  return impl_->Write(bytes);
}

absl::Status OutputFile::Commit() { return impl_->Commit(); }

}  // namespace newsdedup
