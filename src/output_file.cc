#include "newsdedup/output_file.h"

#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace newsdedup {

enum class Codec { kPlain, kGzip, kZstd };

class OutputFile::Impl {
 public:
  Impl(std::string path, std::string temp, FILE* file, Codec codec)
      : path_(std::move(path)),
        temp_(std::move(temp)),
        file_(file),
        codec_(codec) {}

  ~Impl() {
    if (zstd_ != nullptr) ZSTD_freeCCtx(zstd_);
    if (gzip_started_) deflateEnd(&gzip_);
    if (file_ != nullptr && file_ != stdout) {
      std::fclose(file_);
      if (!temp_.empty()) std::remove(temp_.c_str());
    }
  }

  absl::Status Init() {
    if (codec_ == Codec::kGzip) {
      std::memset(&gzip_, 0, sizeof(gzip_));
      // 15 + 16: a gzip header and trailer around the deflate stream.
      if (deflateInit2(&gzip_, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
          Z_OK) {
        return absl::InternalError(absl::StrCat(path_, ": cannot start gzip"));
      }
      gzip_started_ = true;
    } else if (codec_ == Codec::kZstd) {
      zstd_ = ZSTD_createCCtx();
      if (zstd_ == nullptr) {
        return absl::InternalError(absl::StrCat(path_, ": cannot start zstd"));
      }
      ZSTD_CCtx_setParameter(zstd_, ZSTD_c_compressionLevel, 3);
    }
    return absl::OkStatus();
  }

  absl::Status Write(std::string_view bytes, bool finish) {
    switch (codec_) {
      case Codec::kPlain:
        return Raw(bytes.data(), bytes.size());
      case Codec::kGzip: {
        gzip_.next_in =
            reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
        gzip_.avail_in = static_cast<uInt>(bytes.size());
        int rc;
        do {
          gzip_.next_out = reinterpret_cast<Bytef*>(buffer_);
          gzip_.avail_out = sizeof(buffer_);
          rc = deflate(&gzip_, finish ? Z_FINISH : Z_NO_FLUSH);
          if (rc == Z_STREAM_ERROR) {
            return absl::InternalError(absl::StrCat(path_, ": gzip failed"));
          }
          absl::Status s = Raw(buffer_, sizeof(buffer_) - gzip_.avail_out);
          if (!s.ok()) return s;
        } while (gzip_.avail_out == 0 || (finish && rc != Z_STREAM_END));
        return absl::OkStatus();
      }
      case Codec::kZstd: {
        ZSTD_inBuffer in{bytes.data(), bytes.size(), 0};
        size_t remaining;
        do {
          ZSTD_outBuffer out{buffer_, sizeof(buffer_), 0};
          remaining = ZSTD_compressStream2(
              zstd_, &out, &in, finish ? ZSTD_e_end : ZSTD_e_continue);
          if (ZSTD_isError(remaining)) {
            return absl::InternalError(absl::StrCat(
                path_, ": zstd failed: ", ZSTD_getErrorName(remaining)));
          }
          absl::Status s = Raw(buffer_, out.pos);
          if (!s.ok()) return s;
        } while (finish ? remaining != 0 : in.pos < in.size);
        return absl::OkStatus();
      }
    }
    return absl::OkStatus();
  }

  absl::Status Commit() {
    if (file_ == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat(path_, ": already committed"));
    }
    absl::Status s = Write({}, /*finish=*/true);
    if (!s.ok()) return s;
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
  absl::Status Raw(const char* data, size_t size) {
    if (size == 0) return absl::OkStatus();
    if (std::fwrite(data, 1, size, file_) != size) {
      return absl::DataLossError(
          absl::StrCat(path_, ": write failed: ", std::strerror(errno)));
    }
    return absl::OkStatus();
  }

  std::string path_;
  std::string temp_;
  FILE* file_;
  Codec codec_;
  z_stream gzip_;
  bool gzip_started_ = false;
  ZSTD_CCtx* zstd_ = nullptr;
  char buffer_[1 << 16];
};

OutputFile::OutputFile(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
OutputFile::~OutputFile() = default;

absl::StatusOr<std::unique_ptr<OutputFile>> OutputFile::Open(
    const std::string& path) {
  if (path.empty()) return absl::InvalidArgumentError("empty output path");
  std::unique_ptr<Impl> impl;
  if (path == "-") {
    impl = std::make_unique<Impl>(path, "", stdout, Codec::kPlain);
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
    impl = std::make_unique<Impl>(path, std::move(temp), file, codec);
  }
  absl::Status s = impl->Init();
  if (!s.ok()) return s;
  return std::unique_ptr<OutputFile>(new OutputFile(std::move(impl)));
}

absl::Status OutputFile::Write(std::string_view bytes) {
  return impl_->Write(bytes, /*finish=*/false);
}

absl::Status OutputFile::Commit() { return impl_->Commit(); }

}  // namespace newsdedup
