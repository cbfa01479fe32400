// Output files written atomically: bytes go to a temporary file next to the
// target, renamed into place on Commit(), so an interrupted run never leaves
// a half-written file under the final name. Names ending in .gz or .zst are
// compressed: in chunks (1 MiB for gzip, 4 MiB for zstd), each a whole gzip
// member or zstd frame, compressed on `threads` threads and written in
// order, so the file is the same bytes for any number of threads (gzip -d
// and zstd -d read the members or frames as one stream). "-" is stdout (neither
// atomic nor compressed); a path that names a device or a pipe (/dev/null, a
// FIFO), or any path under /dev or /proc (/dev/stdout), is written in place,
// not atomically.
//
//   auto out = newsdedup::OutputFile::Open("cleaned.jsonl.zst");
//   (*out)->Write(line);
//   absl::Status s = (*out)->Commit();
#ifndef NEWSDEDUP_OUTPUT_FILE_H_
#define NEWSDEDUP_OUTPUT_FILE_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace newsdedup {

class OutputFile {
 public:
  // Opens `path` for writing through a temporary file in the same folder.
  // `threads`: threads that compress (the caller's and threads - 1 more,
  // started at the second chunk). Errors: the folder is not writable.
  static absl::StatusOr<std::unique_ptr<OutputFile>> Open(
      const std::string& path, int threads = 1);
  // Removes the temporary file unless Commit() succeeded.
  ~OutputFile();

  // Not thread-safe. Errors: the disk refused the bytes (then every call
  // after, Commit included, returns the same error); called after Commit.
  absl::Status Write(std::string_view bytes);
  // Flushes, finishes the compressed stream and renames into place.
  absl::Status Commit();

 private:
  class Impl;
  explicit OutputFile(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace newsdedup

#endif  // NEWSDEDUP_OUTPUT_FILE_H_
