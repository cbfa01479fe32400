#include "internal/byte_source.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
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

class GzipSource : public ByteSource {
 public:
  explicit GzipSource(std::unique_ptr<FdReader> in)
      : in_(std::move(in)), input_(kChunk, '\0') {
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
    if (done_) return 0;
    // Fills the request, as ZstdSource does.
    n = std::min<size_t>(n, std::numeric_limits<uInt>::max());
    stream_.next_out = reinterpret_cast<Bytef*>(buf);
    stream_.avail_out = static_cast<uInt>(n);
    while (stream_.avail_out > 0) {
      if (stream_.avail_in == 0) {
        auto got = in_->Read(input_.data(), input_.size());
        if (!got.ok()) return got.status();
        if (*got == 0) {
          if (stream_.avail_out < n) break;  // the error comes next call
          if (member_started_) {
            return absl::DataLossError(absl::StrCat(
                in_->path(), ": truncated gzip stream (unexpected end)"));
          }
          done_ = true;
          return 0;
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
        return absl::DataLossError(absl::StrCat(
            in_->path(), ": corrupt gzip stream: ",
            stream_.msg != nullptr ? stream_.msg : "inflate failed"));
      }
    }
    return n - stream_.avail_out;
  }

 private:
  std::unique_ptr<FdReader> in_;
  std::string input_;
  z_stream stream_;
  bool init_ok_ = false;
  bool member_started_ = false;
  bool done_ = false;
};

class ZstdSource : public ByteSource {
 public:
  explicit ZstdSource(std::unique_ptr<FdReader> in)
      : in_(std::move(in)), input_(ZSTD_DStreamInSize(), '\0') {
    stream_ = ZSTD_createDStream();
    ZSTD_initDStream(stream_);
  }
  ~ZstdSource() override { ZSTD_freeDStream(stream_); }

  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    // Fills the request: a long run of decoding is cheaper than many short
    // ones (kMaxFill).
    ZSTD_outBuffer out{buf, n, 0};
    while (out.pos < n) {
      if (in_pos_ == in_size_) {
        auto got = in_->Read(input_.data(), input_.size());
        if (!got.ok()) return got.status();
        if (*got == 0) {
          // What was decoded comes first; a truncation is reported on the
          // next call.
          if (out.pos > 0) return out.pos;
          if (frame_open_) {
            return absl::DataLossError(absl::StrCat(
                in_->path(), ": truncated zstd stream (unexpected end)"));
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
        return absl::DataLossError(absl::StrCat(
            in_->path(), ": corrupt zstd stream: ", ZSTD_getErrorName(rc)));
      }
      // rc == 0: a frame ended exactly here; anything else: mid-frame.
      frame_open_ = rc != 0;
    }
    return out.pos;
  }

 private:
  std::unique_ptr<FdReader> in_;
  std::string input_;
  size_t in_pos_ = 0;
  size_t in_size_ = 0;
  ZSTD_DStream* stream_;
  bool frame_open_ = false;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ByteSource>> ByteSource::Open(
    const std::string& path) {
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
  auto head = in->Peek();
  if (!head.ok()) return head.status();
  const std::string& h = *head;
  if (h.size() >= 2 && static_cast<unsigned char>(h[0]) == 0x1F &&
      static_cast<unsigned char>(h[1]) == 0x8B) {
    return std::unique_ptr<ByteSource>(new GzipSource(std::move(in)));
  }
  if (h.size() >= 4 && static_cast<unsigned char>(h[0]) == 0x28 &&
      static_cast<unsigned char>(h[1]) == 0xB5 &&
      static_cast<unsigned char>(h[2]) == 0x2F &&
      static_cast<unsigned char>(h[3]) == 0xFD) {
    return std::unique_ptr<ByteSource>(new ZstdSource(std::move(in)));
  }
  return std::unique_ptr<ByteSource>(new PlainSource(std::move(in)));
}

LineReader::LineReader(std::unique_ptr<ByteSource> source,
                       uint64_t max_line_bytes)
    : source_(std::move(source)),
      max_line_bytes_(max_line_bytes),
      fill_(kChunk) {
  buffer_.resize(kChunk);
}

absl::Status LineReader::Fill() {
  // Keep the unread tail, then read more after it.
  if (pos_ > 0) {
    std::memmove(buffer_.data(), buffer_.data() + pos_, size_ - pos_);
    size_ -= pos_;
    pos_ = 0;
  }
  if (size_ + fill_ > buffer_.size()) {
    buffer_.resize(std::max(size_ + fill_, buffer_.size() * 2));
  }
  auto got = source_->Read(buffer_.data() + size_, buffer_.size() - size_);
  if (!got.ok()) return got.status();
  if (*got == 0) eof_ = true;
  // A source that fills what it is asked for is asked for more next time,
  // up to kMaxFill; a small file never grows the buffer.
  if (*got == buffer_.size() - size_ && fill_ < kMaxFill) fill_ *= 2;
  size_ += *got;
  bytes_ += *got;
  return absl::OkStatus();
}

absl::StatusOr<bool> LineReader::Next(std::string* line, bool* too_long) {
  line->clear();
  *too_long = false;
  // Appends n bytes from pos_ to *line, up to max_line_bytes_.
  auto take = [&](size_t n) {
    if (*too_long) return;
    if (line->size() + n > max_line_bytes_) {
      *too_long = true;
      line->append(buffer_.data() + pos_, max_line_bytes_ - line->size());
    } else {
      line->append(buffer_.data() + pos_, n);
    }
  };
  size_t scanned = 0;  // bytes after pos_ known to hold no newline
  while (true) {
    const char* start = buffer_.data() + pos_;
    const void* nl = std::memchr(start + scanned, '\n', size_ - pos_ - scanned);
    if (nl != nullptr) {
      const size_t n = static_cast<const char*>(nl) - start;
      take(n);
      pos_ += n + 1;
      ++line_number_;
      return true;
    }
    scanned = size_ - pos_;
    // A long line moves into *line chunk by chunk, so the buffer stays small.
    if (scanned >= kChunk) {
      take(scanned);
      pos_ = size_;
      scanned = 0;
    }
    if (eof_) {
      if (pos_ < size_) {
        take(size_ - pos_);
        pos_ = size_;
      }
      if (!line->empty() || *too_long) {
        ++line_number_;
        return true;
      }
      return false;
    }
    absl::Status status = Fill();
    if (!status.ok()) return status;
  }
}

}  // namespace newsdedup::internal
