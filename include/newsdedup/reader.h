// Reader: streams documents from JSONL files, plain-text files, folders of
// either, and stdin, decompressing gzip and zstd transparently (detected by
// content, not by name).
//
//   newsdedup::ReaderOptions options;
//   auto reader = newsdedup::Reader::Open({"news.jsonl.zst"}, options,
//       [](const newsdedup::Malformed& m) { std::cerr << m.ToString(); });
//   newsdedup::Document doc;
//   while (true) {
//     auto more = (*reader)->Next(&doc);
//     if (!more.ok() || !*more) break;
//   }
//
// Memory: one line (or one text file) at a time plus fixed buffers.
#ifndef NEWSDEDUP_READER_H_
#define NEWSDEDUP_READER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "newsdedup/document.h"

namespace newsdedup {

enum class InputFormat {
  kAuto,   // by name (.jsonl/.ndjson/.json, before .gz/.zst) for files; for
           // stdin, JSONL when the first non-blank byte is '{'
  kJsonl,  // one JSON object per line
  kText,   // one document per file; the first non-empty line is the title
};

struct ReaderOptions {
  // Names of the JSON fields. Defaults: "id", "title", "text", "site", "url".
  // The text field is required (a record without a string there is
  // malformed); the others are optional. Must be non-empty.
  std::string id_field = "id";
  std::string title_field = "title";
  std::string text_field = "text";
  std::string site_field = "site";
  std::string url_field = "url";
  InputFormat format = InputFormat::kAuto;
  // Longest accepted line (decompressed bytes); longer lines are malformed
  // records. Default 256 MiB; at least 1 KiB.
  uint64_t max_line_bytes = uint64_t{256} << 20;
  // Make the first malformed record an error returned by Next().
  bool strict = false;
  // A file that holds a copy of stdin: it is named "-" in documents and
  // messages. Default "": none.
  std::string stdin_spool;
  // Keep each record's original line in Document::raw and Malformed::raw
  // (for rewriting records byte for byte). Default false.
  bool keep_raw = false;
  // Decompress gzip and zstd files on a thread of its own, ahead of Next()
  // (up to 8 MB of decompressed bytes waiting; not for stdin or other
  // pipes): for callers with a core to spare. Default false. The records,
  // and the malformed ones, are the same either way.
  bool read_ahead = false;
  // With read_ahead: zstd files are decompressed ahead by calls to Pump()
  // from the caller's other threads (its workers, between jobs) instead of
  // on a thread of their own, which would compete with them for the cores;
  // Next() decodes what it needs where nobody has pumped. gzip files keep
  // their thread. Default false.
  bool pumped = false;

  absl::Status Validate() const;
};

// A record that could not be read, reported through the callback.
struct Malformed {
  std::string source;   // file name
  uint64_t line = 0;    // 1-based line, 0 when not line-based
  std::string message;  // what is wrong
  std::string raw;      // the record's line, with ReaderOptions::keep_raw
                        // (empty when the input is not line-based or the
                        // line was too long to keep)
  // "source:line: message" (or "source: message").
  std::string ToString() const;
};

using MalformedCallback = std::function<void(const Malformed&)>;

class Reader {
 public:
  // Expands folders (recursively, files in byte order of their paths) and
  // checks that every input exists. "-" is stdin. Errors: invalid options,
  // a missing path, no inputs.
  static absl::StatusOr<std::unique_ptr<Reader>> Open(
      std::vector<std::string> inputs, const ReaderOptions& options,
      MalformedCallback on_malformed);
  ~Reader();

  // Reads the next document into *doc. Returns false at the end of all
  // inputs. Malformed records (bad JSON, missing text field, a line over
  // max_line_bytes, an unreadable file, a truncated compressed stream) are
  // reported, counted and skipped; with options.strict the first one is
  // returned as an error instead.
  absl::StatusOr<bool> Next(Document* doc);

  // With ReaderOptions::pumped: decompresses ahead of Next() on the calling
  // thread, a long run where the current file's buffer has room for one,
  // and returns whether it did. Safe to call from any thread while the
  // reader exists, also while another thread is in Next() (which may be
  // called from different threads in turn, one call at a time); one call
  // at a time decodes (others return false at once). Otherwise it does
  // nothing.
  bool Pump();

  uint64_t records() const { return records_; }
  uint64_t malformed() const { return malformed_; }
  // Decompressed bytes consumed so far.
  uint64_t bytes() const { return bytes_; }

 private:
  class Impl;
  Reader() = default;
  std::unique_ptr<Impl> impl_;
  uint64_t records_ = 0;
  uint64_t malformed_ = 0;
  uint64_t bytes_ = 0;
  bool strict_ = false;
};

// The host of an http(s) URL ("https://www.bbc.co.uk/news/x" ->
// "www.bbc.co.uk"), or "" when `url` has none.
std::string HostOfUrl(const std::string& url);

}  // namespace newsdedup

#endif  // NEWSDEDUP_READER_H_
