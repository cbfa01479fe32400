// Byte streams from files or stdin with transparent gzip/zstd decompression,
// and a line splitter on top. Private to the reader.
#ifndef NEWSDEDUP_INTERNAL_BYTE_SOURCE_H_
#define NEWSDEDUP_INTERNAL_BYTE_SOURCE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace newsdedup::internal {

// Readable bytes after every line a LineReader hands out (their values
// unspecified): simdjson parses in place when it may read SIMDJSON_PADDING
// (64) bytes past its input. A lent block promises none: the line reader
// copies a line that ends closer than this to the block's end.
inline constexpr size_t kLinePadding = 64;

// How a compressed stream from a regular file is decoded ahead of the
// caller (see ByteSource::Open).
enum class ReadAhead {
  kNone,    // by the caller's reads
  kThread,  // on a thread of its own
  kPump,    // zstd: by calls to Pump() from another thread (gzip: kThread)
};

// What a stream's first bytes (up to 4) say it is: gzip (1F 8B), zstd
// (28 B5 2F FD, or a skippable frame), or neither.
enum class Compression { kNone, kGzip, kZstd };
Compression DetectCompression(std::string_view head);

class ByteSource {
 public:
  // Opens `path` ("-" for stdin) and recognises gzip (1F 8B) and zstd
  // (28 B5 2F FD, or a skippable frame) by their first bytes. Errors name
  // the path.
  //
  // From a regular file, a gzip or zstd stream fills every read (up to
  // what was asked; zstd decodes as much as its ring has room for); from a
  // pipe it returns what one step decoded. zstd lends its ring (see Lend).
  // `read_ahead`: a gzip or zstd stream from a regular file is decompressed
  // on a thread of its own, so that its runs of decoding overlap the
  // caller's work instead of stalling it: gzip up to two chunks ahead of
  // the caller (of 4 MB, smaller at first), zstd into its ring up to 16 MB
  // ahead. For callers with a core to spare. `kPump`: zstd decodes
  // ahead only when another thread calls Pump(): a caller whose workers
  // pump between jobs has no third thread competing for its cores (the
  // reading thread decodes itself when it finds nothing decoded).
  static absl::StatusOr<std::unique_ptr<ByteSource>> Open(
      const std::string& path, ReadAhead read_ahead = ReadAhead::kNone);
  virtual ~ByteSource() = default;

  // Reads up to `n` decompressed bytes; 0 at the end. A truncated or corrupt
  // compressed stream is an error, returned once the bytes decoded before
  // it have been read, and by every read after.
  virtual absl::StatusOr<size_t> Read(char* buf, size_t n) = 0;

  // A source that decodes into memory of its own (zstd's ring, the
  // read-ahead's chunks) lends it instead of copying: Lend returns the next
  // decoded bytes in place, valid until the next call (which gives them
  // back); empty at the end. The bytes after them may be written meanwhile
  // by a decoding thread. Errors as Read. Only where lends() is true.
  virtual bool lends() const { return false; }
  virtual absl::StatusOr<std::string_view> Lend();

  // Opened with ReadAhead::kPump: decodes ahead on the calling thread (any
  // thread but the reading one, and one at a time is enough: others
  // return at once) while the ring has room for a long run. Returns
  // whether it decoded. Elsewhere it does nothing.
  virtual bool Pump() { return false; }
};

// Splits a ByteSource into lines ('\n' removed, a trailing '\r' kept).
// Lines are handed out in place: from the blocks the reader reads into its
// own buffer, or from the blocks a lending source lends; only a line that
// crosses two blocks is copied, into a buffer of its own.
class LineReader {
 public:
  LineReader(std::unique_ptr<ByteSource> source, uint64_t max_line_bytes);

  // Sets *line to the next line; false at the end. The view is valid until
  // the next call, and kLinePadding bytes after its end can be read. A line
  // longer than max_line_bytes is consumed whole, *too_long is set and
  // *line holds its first max_line_bytes bytes.
  absl::StatusOr<bool> Next(std::string_view* line, bool* too_long);

  uint64_t line_number() const { return line_number_; }
  uint64_t bytes() const { return bytes_; }

 private:
  // Makes the source's next bytes the current block; at the end, eof_.
  absl::Status NextBlock();
  std::unique_ptr<ByteSource> source_;
  const bool lends_;
  uint64_t max_line_bytes_;
  std::string buffer_;  // the blocks read from a source that does not lend
  size_t fill_;         // how much to read next (grows, see NextBlock)
  const char* block_ = nullptr;  // the current block: [pos_, size_) unread
  size_t pos_ = 0;
  size_t size_ = 0;
  std::string carry_;  // a line that crosses blocks
  bool eof_ = false;
  uint64_t line_number_ = 0;
  uint64_t bytes_ = 0;
};

}  // namespace newsdedup::internal

#endif  // NEWSDEDUP_INTERNAL_BYTE_SOURCE_H_
