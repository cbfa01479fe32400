#include "newsdedup/reader.h"

#include <simdjson.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <system_error>
#include <tuple>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "internal/byte_source.h"

namespace newsdedup {
namespace {

namespace fs = std::filesystem;

bool LooksLikeJsonlName(std::string name) {
  for (const char* suffix : {".gz", ".zst", ".zstd"}) {
    if (absl::EndsWith(name, suffix)) {
      name.resize(name.size() - std::strlen(suffix));
      break;
    }
  }
  return absl::EndsWith(name, ".jsonl") || absl::EndsWith(name, ".ndjson") ||
         absl::EndsWith(name, ".json");
}

// The first non-blank line of `text`, trimmed of ASCII whitespace, and its
// offset; -1 when there is none.
std::pair<std::string, int64_t> FirstLine(const std::string& text) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    size_t b = pos, e = end;
    while (b < e && (text[b] == ' ' || text[b] == '\t' || text[b] == '\r')) ++b;
    while (e > b &&
           (text[e - 1] == ' ' || text[e - 1] == '\t' || text[e - 1] == '\r'))
      --e;
    if (b < e) return {text.substr(b, e - b), static_cast<int64_t>(b)};
    pos = end + 1;
  }
  return {"", -1};
}

}  // namespace

absl::Status ReaderOptions::Validate() const {
  for (const auto* field :
       {&id_field, &title_field, &text_field, &site_field, &url_field}) {
    if (field->empty()) {
      return absl::InvalidArgumentError("field names must not be empty");
    }
  }
  if (max_line_bytes < 1024) {
    return absl::InvalidArgumentError(
        absl::StrCat("maximum line length must be at least 1024 bytes, got ",
                     max_line_bytes));
  }
  return absl::OkStatus();
}

std::string Malformed::ToString() const {
  if (line == 0) return absl::StrCat(source, ": ", message);
  return absl::StrCat(source, ":", line, ": ", message);
}

std::string HostOfUrl(const std::string& url) {
  size_t start = url.find("://");
  if (start == std::string::npos) return "";
  start += 3;
  size_t end = url.find_first_of("/?#", start);
  if (end == std::string::npos) end = url.size();
  std::string host = url.substr(start, end - start);
  if (size_t at = host.rfind('@'); at != std::string::npos)
    host.erase(0, at + 1);
  if (size_t colon = host.rfind(':');
      colon != std::string::npos && host.find(']') == std::string::npos) {
    host.resize(colon);
  }
  std::transform(host.begin(), host.end(), host.begin(), [](unsigned char c) {
    return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  });
  return host;
}

class Reader::Impl {
 public:
  Impl(std::vector<std::string> files, const ReaderOptions& options,
       MalformedCallback on_malformed)
      : files_(std::move(files)),
        options_(options),
        on_malformed_(std::move(on_malformed)) {}

  // Returns 1 for a document, 0 at the end, -1 for a malformed record
  // (already reported), or an error.
  absl::StatusOr<int> Next(Document* doc, uint64_t* bytes) {
    while (true) {
      if (lines_ == nullptr && !text_pending_) {
        if (next_file_ == files_.size()) return 0;
        const std::string& path = files_[next_file_++];
        current_ = !options_.stdin_spool.empty() && path == options_.stdin_spool
                       ? std::string("-")
                       : path;
        auto source = internal::ByteSource::Open(
            path, !options_.read_ahead ? internal::ReadAhead::kNone
                  : options_.pumped    ? internal::ReadAhead::kPump
                                       : internal::ReadAhead::kThread);
        if (!source.ok()) {
          Report(0, std::string(source.status().message()));
          return -1;
        }
        bool jsonl;
        switch (options_.format) {
          case InputFormat::kJsonl:
            jsonl = true;
            break;
          case InputFormat::kText:
            jsonl = false;
            break;
          default:
            jsonl = path == "-" ? true : LooksLikeJsonlName(path);
        }
        if (jsonl) {
          internal::ByteSource* pumped = source->get();
          lines_ = std::make_unique<internal::LineReader>(
              std::move(*source), options_.max_line_bytes);
          if (options_.pumped) {
            std::lock_guard<std::mutex> lock(pump_mu_);
            pump_source_ = pumped;
          }
        } else {
          text_source_ = std::move(*source);
          text_pending_ = true;
        }
      }
      if (text_pending_) {
        text_pending_ = false;
        auto result = ReadTextFile(doc, bytes);
        text_source_.reset();
        return result;
      }
      auto more = lines_->Next(&line_, &too_long_);
      if (!more.ok()) {
        // A read or decompression error ends this file; what was read
        // before it stands.
        Report(lines_->line_number() + 1, std::string(more.status().message()));
        *bytes += lines_->bytes() - counted_bytes_;
        counted_bytes_ = 0;
        EndLines();
        return -1;
      }
      *bytes += lines_->bytes() - counted_bytes_;
      counted_bytes_ = lines_->bytes();
      if (!*more) {
        EndLines();
        counted_bytes_ = 0;
        continue;
      }
      const uint64_t line_no = lines_->line_number();
      if (too_long_) {
        Report(line_no, absl::StrCat("line longer than ",
                                     options_.max_line_bytes, " bytes"));
        return -1;
      }
      if (line_.find_first_not_of(" \t\r") == std::string_view::npos) continue;
      return ParseJson(line_no, doc);
    }
  }

  const std::string& last_error() const { return last_error_; }

  // A Pump still running ends before the source goes.
  ~Impl() { EndLines(); }

  // Decodes ahead on the calling thread (ReaderOptions::pumped). The lock
  // keeps the source alive while it decodes; a busy one means another
  // thread is pumping, or the reading thread is changing files.
  bool Pump() {
    std::unique_lock<std::mutex> lock(pump_mu_, std::try_to_lock);
    return lock.owns_lock() && pump_source_ != nullptr && pump_source_->Pump();
  }

 private:
  void Report(uint64_t line, std::string message, bool with_line = false) {
    Malformed m{current_, line, std::move(message), ""};
    if (with_line && options_.keep_raw && !too_long_) m.raw.assign(line_);
    last_error_ = m.ToString();
    if (on_malformed_) on_malformed_(m);
  }

  absl::StatusOr<int> ReadTextFile(Document* doc, uint64_t* bytes) {
    doc->text.clear();
    char buf[1 << 16];
    while (true) {
      auto got = text_source_->Read(buf, sizeof(buf));
      if (!got.ok()) {
        Report(0, std::string(got.status().message()));
        return -1;
      }
      if (*got == 0) break;
      doc->text.append(buf, *got);
      *bytes += *got;
      if (doc->text.size() > options_.max_line_bytes) {
        Report(0, absl::StrCat("file larger than ", options_.max_line_bytes,
                               " bytes"));
        return -1;
      }
    }
    doc->id = current_;
    doc->raw.clear();
    std::tie(doc->title, doc->title_offset) = FirstLine(doc->text);
    doc->site.clear();
    doc->source = current_;
    doc->line = 0;
    return 1;
  }

  absl::StatusOr<int> ParseJson(uint64_t line_no, Document* doc) {
    // Parsed in place: the line reader leaves room for simdjson to read up
    // to SIMDJSON_PADDING bytes past the end.
    static_assert(internal::kLinePadding >= simdjson::SIMDJSON_PADDING);
    simdjson::dom::element root;
    auto error = parser_.parse(line_.data(), line_.size(), false).get(root);
    if (error) {
      Report(line_no,
             absl::StrCat("invalid JSON: ", simdjson::error_message(error)),
             /*with_line=*/true);
      return -1;
    }
    simdjson::dom::object object;
    if (root.get_object().get(object)) {
      Report(line_no, "record is not a JSON object", true);
      return -1;
    }
    bool have_text = false, text_wrong_type = false;
    doc->id.clear();
    doc->title.clear();
    doc->text.clear();
    doc->site.clear();
    doc->title_offset = -1;
    std::string url;
    for (auto field : object) {
      const std::string_view key = field.key;
      std::string_view value;
      const bool is_string = !field.value.get_string().get(value);
      if (key == options_.text_field) {
        if (is_string) {
          doc->text.assign(value);
          have_text = true;
        } else {
          text_wrong_type = true;
        }
      } else if (key == options_.id_field) {
        if (is_string) {
          doc->id.assign(value);
        } else if (field.value.is_int64() || field.value.is_uint64()) {
          doc->id = simdjson::minify(field.value);
        }
      } else if (key == options_.title_field) {
        if (is_string) doc->title.assign(value);
      } else if (key == options_.site_field) {
        if (is_string) doc->site.assign(value);
      } else if (key == options_.url_field) {
        if (is_string) url.assign(value);
      }
    }
    if (!have_text) {
      Report(line_no,
             absl::StrCat(text_wrong_type ? "non-string" : "missing",
                          " field \"", options_.text_field, "\""),
             true);
      return -1;
    }
    if (doc->text.size() >= (uint64_t{1} << 32) - 1) {
      Report(line_no, "text field of 4 GiB or more", true);
      return -1;
    }
    if (doc->id.empty()) doc->id = absl::StrCat(current_, ":", line_no);
    if (doc->site.empty() && !url.empty()) doc->site = HostOfUrl(url);
    doc->source = current_;
    doc->line = line_no;
    if (options_.keep_raw) {
      doc->raw.assign(line_.data(), line_.size());
    } else {
      doc->raw.clear();
    }
    return 1;
  }

  // Ends the current file's lines, once no Pump is decoding into them.
  void EndLines() {
    if (options_.pumped) {
      std::lock_guard<std::mutex> lock(pump_mu_);
      pump_source_ = nullptr;
    }
    lines_.reset();
  }

  std::vector<std::string> files_;
  ReaderOptions options_;
  MalformedCallback on_malformed_;
  size_t next_file_ = 0;
  std::string current_;
  std::unique_ptr<internal::LineReader> lines_;
  // The source of lines_ that Pump decodes into, under pump_mu_.
  std::mutex pump_mu_;
  internal::ByteSource* pump_source_ = nullptr;
  std::unique_ptr<internal::ByteSource> text_source_;
  bool text_pending_ = false;
  uint64_t counted_bytes_ = 0;
  std::string_view line_;  // the line reader's, until its next line
  bool too_long_ = false;
  simdjson::dom::parser parser_;
  std::string last_error_;
};

absl::StatusOr<std::unique_ptr<Reader>> Reader::Open(
    std::vector<std::string> inputs, const ReaderOptions& options,
    MalformedCallback on_malformed) {
  if (absl::Status s = options.Validate(); !s.ok()) return s;
  if (inputs.empty()) return absl::InvalidArgumentError("no input files");
  std::vector<std::string> files;
  for (const std::string& input : inputs) {
    if (input == "-") {
      files.push_back(input);
      continue;
    }
    std::error_code ec;
    const fs::file_status status = fs::status(input, ec);
    if (ec || !fs::exists(status)) {
      return absl::NotFoundError(
          absl::StrCat(input, ": no such file or folder"));
    }
    if (fs::is_directory(status)) {
      std::vector<std::string> found;
      fs::recursive_directory_iterator it(
          input, fs::directory_options::skip_permission_denied, ec);
      if (ec) {
        return absl::PermissionDeniedError(
            absl::StrCat(input, ": cannot list folder: ", ec.message()));
      }
      for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) break;
        std::error_code type_ec;
        // Symbolic links are kept even when dangling: opening them then
        // reports the file as unreadable instead of skipping it silently.
        if (it->is_regular_file(type_ec) || it->is_symlink(type_ec)) {
          found.push_back(it->path().string());
        }
      }
      if (ec) {
        return absl::PermissionDeniedError(
            absl::StrCat(input, ": cannot list folder: ", ec.message()));
      }
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else {
      files.push_back(input);
    }
  }
  std::unique_ptr<Reader> reader(new Reader());
  reader->impl_ = std::make_unique<Impl>(std::move(files), options,
                                         std::move(on_malformed));
  reader->strict_ = options.strict;
  return reader;
}

Reader::~Reader() = default;

bool Reader::Pump() { return impl_->Pump(); }

absl::StatusOr<bool> Reader::Next(Document* doc) {
  while (true) {
    auto result = impl_->Next(doc, &bytes_);
    if (!result.ok()) return result.status();
    if (*result == 1) {
      ++records_;
      return true;
    }
    if (*result == 0) return false;
    ++malformed_;
    if (strict_) {
      return absl::DataLossError(impl_->last_error());
    }
  }
}

}  // namespace newsdedup
