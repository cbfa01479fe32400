// Byte streams from files or stdin with transparent gzip/zstd decompression,
// and a line splitter on top. Private to the reader.
#ifndef NEWSDEDUP_INTERNAL_BYTE_SOURCE_H_
#define NEWSDEDUP_INTERNAL_BYTE_SOURCE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace newsdedup::internal {

class ByteSource {
 public:
  // Opens `path` ("-" for stdin) and recognises gzip (1F 8B) and zstd
  // (28 B5 2F FD) by their first bytes. Errors name the path.
  //
  // From a regular file, a gzip or zstd stream fills every read (up to
  // what was asked); from a pipe it returns what one step decoded.
  // `read_ahead`: a gzip or zstd stream from a regular file is decompressed
  // on a thread of its own, up to two chunks of 4 MB ahead of the caller,
  // so that its runs of decoding overlap the caller's work instead of
  // stalling it. For callers with a core to spare.
  static absl::StatusOr<std::unique_ptr<ByteSource>> Open(
      const std::string& path, bool read_ahead = false);
  virtual ~ByteSource() = default;

  // Reads up to `n` decompressed bytes; 0 at the end. A truncated or corrupt
  // compressed stream is an error, returned once the bytes decoded before
  // it have been read, and by every read after.
  virtual absl::StatusOr<size_t> Read(char* buf, size_t n) = 0;
};

// Splits a ByteSource into lines ('\n' removed, a trailing '\r' kept).
class LineReader {
 public:
  LineReader(std::unique_ptr<ByteSource> source, uint64_t max_line_bytes);

  // Reads the next line into *line; false at the end. A line longer than
  // max_line_bytes is consumed whole, *too_long is set and *line holds its
  // first max_line_bytes bytes.
  absl::StatusOr<bool> Next(std::string* line, bool* too_long);

  uint64_t line_number() const { return line_number_; }
  uint64_t bytes() const { return bytes_; }

 private:
  absl::Status Fill();
  std::unique_ptr<ByteSource> source_;
  uint64_t max_line_bytes_;
  std::string buffer_;
  size_t fill_;  // how much to read next (grows, see Fill)
  size_t pos_ = 0;
  size_t size_ = 0;
  bool eof_ = false;
  uint64_t line_number_ = 0;
  uint64_t bytes_ = 0;
};

}  // namespace newsdedup::internal

#endif  // NEWSDEDUP_INTERNAL_BYTE_SOURCE_H_
