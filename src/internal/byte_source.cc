#include "internal/byte_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <limits>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace newsdedup::internal {
namespace {

constexpr size_t kChunk = 1 << 18;
// The most a line reader asks of its source at once. Reads grow from kChunk
// while the source fills them. A decompressor run this long keeps its
// window (8 MB for zstd's default levels) in cache across the run: decoding
// in 128 KB steps between batches of tokenizing and sketching, which evict
// it, made decompression twice its own cost (bench/README.md, "Reading in
// long runs").
constexpr size_t kMaxFill = size_t{16} << 20;
// The read-ahead's chunks (at most four in memory: two waiting, the one
// being read and the one being decoded): its thread decodes one in a run,
// then waits for room. The first is kChunk, and each next one twice the one
// before up to this, so that the reader starts after a short decode.
constexpr size_t kAheadChunk = size_t{4} << 20;

// Raw bytes of a file descriptor, with a few bytes of look-ahead already
// consumed for format detection.
class FdReader {
 public:
  FdReader(int fd, bool owned, std::string path)
      : fd_(fd), owned_(owned), path_(std::move(path)) {}
  ~FdReader() {
    if (owned_) close(fd_);
  }
  absl::StatusOr<size_t> Read(char* buf, size_t n) {
    size_t done = 0;
    if (pending_pos_ < pending_.size()) {
      done = std::min(n, pending_.size() - pending_pos_);
      std::memcpy(buf, pending_.data() + pending_pos_, done);
      pending_pos_ += done;
      if (done == n) return done;
    }
    while (true) {
      const ssize_t got = read(fd_, buf + done, n - done);
      if (got < 0) {
        if (errno == EINTR) continue;
        return absl::DataLossError(
            absl::StrCat(path_, ": read failed: ", std::strerror(errno)));
      }
      return done + static_cast<size_t>(got);
    }
  }
  // Reads up to 4 bytes for format detection; they are returned again by
  // the following Read calls.
  absl::StatusOr<std::string> Peek() {
    char head[4];
    size_t have = 0;
    while (have < sizeof(head)) {
      const ssize_t got = read(fd_, head + have, sizeof(head) - have);
      if (got < 0) {
        if (errno == EINTR) continue;
        return absl::DataLossError(
            absl::StrCat(path_, ": read failed: ", std::strerror(errno)));
      }
      if (got == 0) break;
      have += static_cast<size_t>(got);
    }
    pending_.assign(head, have);
    pending_pos_ = 0;
    return pending_;
  }
  const std::string& path() const { return path_; }
  int fd() const { return fd_; }

 private:
  int fd_;
  bool owned_;
  std::string path_;
  std::string pending_;
  size_t pending_pos_ = 0;
};

class PlainSource : public ByteSource {
 public:
  explicit PlainSource(std::unique_ptr<FdReader> in) : in_(std::move(in)) {}
  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    return in_->Read(buf, n);
  }

 private:
  std::unique_ptr<FdReader> in_;
};

// The decompressing sources below fill what they are asked for when `fill`
// (a regular file: a long run of decoding is cheaper than many short ones,
// kMaxFill), and return after the first bytes otherwise (a pipe: records
// arrive as they come). An error after some bytes were decoded in the same
// call is kept: those bytes are returned first, the error by every call
// after, so nothing decoded before a corruption or a truncation is lost.

class GzipSource : public ByteSource {
 public:
  GzipSource(std::unique_ptr<FdReader> in, bool fill)
      : in_(std::move(in)), input_(kChunk, '\0'), fill_(fill) {
    std::memset(&stream_, 0, sizeof(stream_));
    // 15 + 32: zlib or gzip header, detected automatically.
    init_ok_ = inflateInit2(&stream_, 15 + 32) == Z_OK;
  }
  ~GzipSource() override { inflateEnd(&stream_); }

  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    if (!init_ok_) {
      return absl::InternalError(
          absl::StrCat(in_->path(), ": cannot initialise zlib"));
    }
    if (!error_.ok()) return error_;
    if (done_) return 0;
    n = std::min<size_t>(n, std::numeric_limits<uInt>::max());
    stream_.next_out = reinterpret_cast<Bytef*>(buf);
    stream_.avail_out = static_cast<uInt>(n);
    // zlib counts what it wrote before an error (avail_out), so the bytes
    // before one do not depend on how the reads were cut.
    while (stream_.avail_out > 0 && (fill_ || stream_.avail_out == n)) {
      if (stream_.avail_in == 0) {
        auto got = in_->Read(input_.data(), input_.size());
        if (!got.ok()) {
          error_ = got.status();
          break;
        }
        if (*got == 0) {
          if (member_started_) {
            error_ = absl::DataLossError(absl::StrCat(
                in_->path(), ": truncated gzip stream (unexpected end)"));
          } else {
            done_ = true;
          }
          break;
        }
        stream_.next_in = reinterpret_cast<Bytef*>(input_.data());
        stream_.avail_in = static_cast<uInt>(*got);
      }
      member_started_ = true;
      const int rc = inflate(&stream_, Z_NO_FLUSH);
      if (rc == Z_STREAM_END) {
        // Concatenated gzip members are one stream (as gzip -d treats them).
        member_started_ = false;
        inflateReset(&stream_);
        continue;
      }
      if (rc != Z_OK && rc != Z_BUF_ERROR) {
        error_ = absl::DataLossError(absl::StrCat(
            in_->path(), ": corrupt gzip stream: ",
            stream_.msg != nullptr ? stream_.msg : "inflate failed"));
        break;
      }
    }
    const size_t produced = n - stream_.avail_out;
    if (produced == 0 && !error_.ok()) return error_;
    return produced;
  }

 private:
  std::unique_ptr<FdReader> in_;
  std::string input_;
  bool fill_;
  z_stream stream_;
  bool init_ok_ = false;
  bool member_started_ = false;
  bool done_ = false;
  absl::Status error_;  // kept for the calls after the bytes before it
};

class ZstdSource : public ByteSource {
 public:
  ZstdSource(std::unique_ptr<FdReader> in, bool fill)
      : in_(std::move(in)),
        input_(ZSTD_DStreamInSize(), '\0'),
        staged_(ZSTD_DStreamOutSize(), '\0'),
        fill_(fill) {
    stream_ = ZSTD_createDStream();
    ZSTD_initDStream(stream_);
  }
  ~ZstdSource() override { ZSTD_freeDStream(stream_); }

  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    size_t done = 0;
    while (done < n) {
      if (staged_pos_ < staged_size_) {
        const size_t k = std::min(n - done, staged_size_ - staged_pos_);
        std::memcpy(buf + done, staged_.data() + staged_pos_, k);
        staged_pos_ += k;
        done += k;
        continue;
      }
      if (done > 0 && !fill_) break;
      if (n - done >= staged_.size()) {
        // Room for a whole piece: decoded in place, by the same calls as
        // through staged_.
        const size_t got = Decode(buf + done);
        if (got == 0) break;  // the end, or an error
        done += got;
      } else {
        staged_pos_ = 0;
        staged_size_ = Decode(staged_.data());
        if (staged_size_ == 0) break;
      }
    }
    if (done == 0 && !error_.ok()) return error_;
    return done;
  }

 private:
  // Decodes the next piece into dst (room for staged_.size() bytes) and
  // returns its size: 0 at the end or on an error, which is kept in error_.
  // zstd's output comes in pieces of a fixed size, whether decoded in place
  // or staged: a corrupt block loses what its piece decoded, and this way
  // that does not depend on how the caller cut its reads (nor on the thread
  // count).
  size_t Decode(char* dst) {
    if (!error_.ok() || ended_) return 0;
    ZSTD_outBuffer out{dst, staged_.size(), 0};
    while (out.pos == 0) {
      if (in_pos_ == in_size_) {
        auto got = in_->Read(input_.data(), input_.size());
        if (!got.ok()) {
          error_ = got.status();
          return 0;
        }
        if (*got == 0) {
          if (frame_open_) {
            error_ = absl::DataLossError(absl::StrCat(
                in_->path(), ": truncated zstd stream (unexpected end)"));
          } else {
            ended_ = true;
          }
          return 0;
        }
        in_size_ = *got;
        in_pos_ = 0;
      }
      ZSTD_inBuffer in{input_.data(), in_size_, in_pos_};
      const size_t rc = ZSTD_decompressStream(stream_, &out, &in);
      in_pos_ = in.pos;
      if (ZSTD_isError(rc)) {
        error_ = absl::DataLossError(absl::StrCat(
            in_->path(), ": corrupt zstd stream: ", ZSTD_getErrorName(rc)));
        return 0;
      }
      // rc == 0: a frame ended exactly here; anything else: mid-frame.
      frame_open_ = rc != 0;
    }
    return out.pos;
  }

  std::unique_ptr<FdReader> in_;
  std::string input_;
  size_t in_pos_ = 0;
  size_t in_size_ = 0;
  std::string staged_;  // decoded, not yet read: [staged_pos_, staged_size_)
  size_t staged_pos_ = 0;
  size_t staged_size_ = 0;
  bool fill_;
  ZSTD_DStream* stream_;
  bool frame_open_ = false;
  bool ended_ = false;
  absl::Status error_;  // kept for the calls after the bytes before it
};

// Reads another source ahead on a thread of its own: chunks of up to
// kAheadChunk bytes (smaller at first), at most two of them waiting. Read
// copies out of the oldest; Lend hands it out in place.
class ReadAheadSource : public ByteSource {
 public:
  explicit ReadAheadSource(std::unique_ptr<ByteSource> source)
      : source_(std::move(source)), thread_([this] { Produce(); }) {}

  ~ReadAheadSource() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    space_.notify_all();
    thread_.join();
  }

  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    if (pos_ == current_.size) {
      absl::StatusOr<bool> more = Advance();
      if (!more.ok()) return more.status();
      if (!*more) return 0;
    }
    const size_t k = std::min(n, current_.size - pos_);
    std::memcpy(buf, current_.bytes.data() + pos_, k);
    pos_ += k;
    return k;
  }

  bool lends() const override { return true; }

  absl::StatusOr<std::string_view> Lend() override {
    if (pos_ == current_.size) {
      absl::StatusOr<bool> more = Advance();
      if (!more.ok()) return more.status();
      if (!*more) return std::string_view();
    }
    // The chunk has kLinePadding bytes of room after its end.
    const std::string_view rest(current_.bytes.data() + pos_,
                                current_.size - pos_);
    pos_ = current_.size;
    return rest;
  }

 private:
  struct Chunk {
    std::string bytes;  // its size + kLinePadding
    size_t size = 0;    // 0: the end (or an error, in status)
    absl::Status status;
  };

  // Makes the next queued chunk current (the one before goes back to the
  // decoding thread): false at the end. An empty chunk is the end (or an
  // error) and stays current.
  absl::StatusOr<bool> Advance() {
    if (current_.size == 0 && taken_any_) {
      if (!current_.status.ok()) return current_.status;
      return false;
    }
    std::unique_lock<std::mutex> lock(mu_);
    ready_.wait(lock, [this] { return !chunks_.empty(); });
    if (!current_.bytes.empty()) spare_ = std::move(current_.bytes);
    current_ = std::move(chunks_.front());
    chunks_.pop_front();
    lock.unlock();
    space_.notify_one();
    taken_any_ = true;
    pos_ = 0;
    if (current_.size > 0) return true;
    if (!current_.status.ok()) return current_.status;
    return false;
  }

  void Produce() {
    size_t size = kChunk;  // of the next chunk
    while (true) {
      Chunk chunk;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (!spare_.empty()) chunk.bytes = std::move(spare_);
      }
      chunk.bytes.resize(size + kLinePadding);
      // The sources fill what they are asked for; a short read only comes
      // at the end of the stream, or before an error.
      while (chunk.size < size) {
        absl::StatusOr<size_t> got =
            source_->Read(chunk.bytes.data() + chunk.size, size - chunk.size);
        if (!got.ok()) {
          chunk.status = got.status();
          break;
        }
        if (*got == 0) break;
        chunk.size += *got;
      }
      const bool last = chunk.size == 0 || !chunk.status.ok();
      if (chunk.size > 0 && !chunk.status.ok()) {
        // The bytes before the error first, then the error on its own.
        Chunk error;
        error.status = std::move(chunk.status);
        chunk.status = absl::OkStatus();
        if (!Push(std::move(chunk))) return;
        Push(std::move(error));
        return;
      }
      if (!Push(std::move(chunk)) || last) return;
      size = std::min(2 * size, kAheadChunk);
    }
  }

  // Queues a chunk once there is room; false when the reader is going away.
  bool Push(Chunk chunk) {
    std::unique_lock<std::mutex> lock(mu_);
    space_.wait(lock, [this] { return chunks_.size() < 2 || stop_; });
    if (stop_) return false;
    chunks_.push_back(std::move(chunk));
    lock.unlock();
    ready_.notify_one();
    return true;
  }

  std::unique_ptr<ByteSource> source_;
  std::mutex mu_;
  std::condition_variable ready_;  // a chunk is queued
  std::condition_variable space_;  // room in the queue, or stop
  std::deque<Chunk> chunks_;
  std::string spare_;  // a used chunk's buffer, for the next one
  bool stop_ = false;
  // The caller's side.
  Chunk current_;
  size_t pos_ = 0;
  bool taken_any_ = false;
  std::thread thread_;  // last: starts once the rest is built
};

}  // namespace

absl::StatusOr<std::unique_ptr<ByteSource>> ByteSource::Open(
    const std::string& path, bool read_ahead) {
  std::unique_ptr<FdReader> in;
  if (path == "-") {
    in = std::make_unique<FdReader>(STDIN_FILENO, false, "-");
  } else {
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return absl::NotFoundError(
          absl::StrCat(path, ": cannot open: ", std::strerror(errno)));
    }
    in = std::make_unique<FdReader>(fd, true, path);
  }
  // A regular file never makes a read wait: decoders fill their reads and
  // may run ahead. A pipe or a terminal may (stdin from a slow producer).
  struct stat st;
  const bool regular = fstat(in->fd(), &st) == 0 && S_ISREG(st.st_mode);
  read_ahead = read_ahead && regular;
  auto head = in->Peek();
  if (!head.ok()) return head.status();
  const std::string& h = *head;
  if (h.size() >= 2 && static_cast<unsigned char>(h[0]) == 0x1F &&
      static_cast<unsigned char>(h[1]) == 0x8B) {
    std::unique_ptr<ByteSource> gzip(new GzipSource(std::move(in), regular));
    if (read_ahead) return std::make_unique<ReadAheadSource>(std::move(gzip));
    return gzip;
  }
  if (h.size() >= 4 && static_cast<unsigned char>(h[0]) == 0x28 &&
      static_cast<unsigned char>(h[1]) == 0xB5 &&
      static_cast<unsigned char>(h[2]) == 0x2F &&
      static_cast<unsigned char>(h[3]) == 0xFD) {
    std::unique_ptr<ByteSource> zstd(new ZstdSource(std::move(in), regular));
    if (read_ahead) return std::make_unique<ReadAheadSource>(std::move(zstd));
    return zstd;
  }
  return std::unique_ptr<ByteSource>(new PlainSource(std::move(in)));
}

absl::StatusOr<std::string_view> ByteSource::Lend() {
  return absl::UnimplementedError("this byte source does not lend its memory");
}

LineReader::LineReader(std::unique_ptr<ByteSource> source,
                       uint64_t max_line_bytes)
    : source_(std::move(source)),
      lends_(source_->lends()),
      max_line_bytes_(max_line_bytes),
      fill_(kChunk) {}

absl::Status LineReader::NextBlock() {
  pos_ = size_ = 0;
  if (lends_) {
    absl::StatusOr<std::string_view> got = source_->Lend();
    if (!got.ok()) return got.status();
    block_ = got->data();
    size_ = got->size();
  } else {
    if (buffer_.size() < fill_ + kLinePadding) {
      buffer_.resize(fill_ + kLinePadding);
    }
    absl::StatusOr<size_t> got = source_->Read(buffer_.data(), fill_);
    if (!got.ok()) return got.status();
    block_ = buffer_.data();
    size_ = *got;
    // A source that fills what it is asked for is asked for more next time,
    // up to kMaxFill; a small file never grows the buffer.
    if (size_ == fill_ && fill_ < kMaxFill) fill_ *= 2;
  }
  if (size_ == 0) eof_ = true;
  bytes_ += size_;
  return absl::OkStatus();
}

absl::StatusOr<bool> LineReader::Next(std::string_view* line, bool* too_long) {
  *too_long = false;
  carry_.clear();
  bool carried = false;  // the line began in an earlier block
  // Appends n bytes at p to carry_, up to max_line_bytes_.
  const auto carry = [&](const char* p, size_t n) {
    carried = true;
    if (*too_long) return;
    if (carry_.size() + n > max_line_bytes_) {
      *too_long = true;
      n = max_line_bytes_ - carry_.size();
    }
    carry_.append(p, n);
  };
  const auto carried_line = [&]() {
    carry_.reserve(carry_.size() + kLinePadding);
    *line = carry_;
    ++line_number_;
    return true;
  };
  while (true) {
    if (pos_ < size_) {
      const char* start = block_ + pos_;
      const void* nl = std::memchr(start, '\n', size_ - pos_);
      if (nl != nullptr) {
        size_t n = static_cast<const char*>(nl) - start;
        pos_ += n + 1;
        if (carried) {
          carry(start, n);
          return carried_line();
        }
        if (n > max_line_bytes_) {
          *too_long = true;
          n = max_line_bytes_;
        }
        *line = std::string_view(start, n);
        ++line_number_;
        return true;
      }
      carry(start, size_ - pos_);
      pos_ = size_;
    }
    if (eof_) {
      // A last line without a newline.
      if (carried) return carried_line();
      return false;
    }
    absl::Status status = NextBlock();
    if (!status.ok()) return status;
  }
}

}  // namespace newsdedup::internal
