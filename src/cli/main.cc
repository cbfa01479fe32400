// newsdedup: the command-line face of the library. Flags, the summary, exit
// codes; all work happens in the library.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "newsdedup/pipeline.h"
#include "newsdedup/reader.h"
#include "newsdedup/report.h"

namespace {

using newsdedup::InputFormat;

struct ScanFlags {
  std::vector<std::string> inputs;
  std::string report = "-";
  std::string format = "auto";
  bool strict = false;
  bool quiet = false;
  bool no_split_lines = false;
  bool no_split_double_space = false;
  bool no_structure = false;
  bool no_builtin_rules = false;
  newsdedup::ReaderOptions reader;
  newsdedup::ScanOptions scan;
};

// Writes to `path` through a temporary file renamed into place on Commit(),
// so an interrupted run never leaves a partial file under the final name.
class OutputFile {
 public:
  explicit OutputFile(std::string path) : path_(std::move(path)) {}
  ~OutputFile() {
    if (file_ != nullptr) {
      std::fclose(file_);
      std::remove(temp_.c_str());
    }
  }
  bool Open(std::string* error) {
    if (path_ == "-") {
      file_ = stdout;
      return true;
    }
    temp_ = absl::StrCat(path_, ".tmp.", getpid());
    file_ = std::fopen(temp_.c_str(), "wb");
    if (file_ == nullptr) {
      *error = absl::StrCat(path_, ": cannot write: ", std::strerror(errno));
      return false;
    }
    return true;
  }
  bool Write(const std::string& bytes) {
    return std::fwrite(bytes.data(), 1, bytes.size(), file_) == bytes.size();
  }
  bool Commit(std::string* error) {
    if (path_ == "-") {
      file_ = nullptr;
      if (std::fflush(stdout) != 0) {
        *error = "stdout: write failed";
        return false;
      }
      return true;
    }
    const bool ok = std::fclose(file_) == 0;
    file_ = nullptr;
    if (!ok || std::rename(temp_.c_str(), path_.c_str()) != 0) {
      *error = absl::StrCat(path_, ": cannot write: ", std::strerror(errno));
      std::remove(temp_.c_str());
      return false;
    }
    return true;
  }

 private:
  std::string path_;
  std::string temp_;
  FILE* file_ = nullptr;
};

int RunScan(ScanFlags& flags) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  if (flags.format == "jsonl") {
    flags.reader.format = InputFormat::kJsonl;
  } else if (flags.format == "text") {
    flags.reader.format = InputFormat::kText;
  }
  flags.reader.strict = flags.strict;
  flags.scan.segment.split_lines = !flags.no_split_lines;
  flags.scan.segment.split_double_space = !flags.no_split_double_space;
  flags.scan.text_field = flags.reader.text_field;
  flags.scan.title_field = flags.reader.title_field;
  flags.scan.news_structure = !flags.no_structure;
  flags.scan.builtin_rules = !flags.no_builtin_rules;

  auto reader = newsdedup::Reader::Open(
      flags.inputs, flags.reader,
      [](const newsdedup::Malformed& m) { std::cerr << m.ToString() << "\n"; });
  if (!reader.ok()) {
    std::cerr << "newsdedup: " << reader.status().message() << "\n";
    return 1;
  }
  auto scanner = newsdedup::Scanner::Create(flags.scan);
  if (!scanner.ok()) {
    std::cerr << "newsdedup: " << scanner.status().message() << "\n";
    return 1;
  }
  OutputFile out(flags.report);
  std::string error;
  if (!out.Open(&error)) {
    std::cerr << "newsdedup: " << error << "\n";
    return 1;
  }
  newsdedup::Document doc;
  while (true) {
    auto more = (*reader)->Next(&doc);
    if (!more.ok()) {
      // The record itself was reported through the callback above.
      std::cerr << "newsdedup: stopped at the first malformed record "
                   "(--strict)\n";
      return 1;
    }
    if (!*more) break;
    (*scanner)->Add(std::move(doc));
    doc = newsdedup::Document();
  }
  (*scanner)->Finish();
  std::string buffer;
  bool write_ok = true;
  (*scanner)->ForEachSpan([&](const newsdedup::SpanRecord& span) {
    newsdedup::AppendSpanJson(span, &buffer);
    if (buffer.size() >= (1 << 20)) {
      write_ok = write_ok && out.Write(buffer);
      buffer.clear();
    }
  });
  write_ok = write_ok && out.Write(buffer);
  if (!write_ok) {
    std::cerr << "newsdedup: " << flags.report << ": write failed\n";
    return 1;
  }
  if (!out.Commit(&error)) {
    std::cerr << "newsdedup: " << error << "\n";
    return 1;
  }
  const double seconds =
      std::chrono::duration<double>(Clock::now() - start).count();
  if (!flags.quiet) {
    const auto& s = (*scanner)->stats();
    const uint64_t input = (*reader)->bytes();
    std::string kinds;
    for (auto kind :
         {newsdedup::SpanKind::kHeadline, newsdedup::SpanKind::kCaption,
          newsdedup::SpanKind::kParagraph, newsdedup::SpanKind::kSpan,
          newsdedup::SpanKind::kBoilerplate}) {
      const int k = static_cast<int>(kind);
      if (s.spans_by_kind[k] == 0) continue;
      absl::StrAppend(&kinds, kinds.empty() ? "" : ", ", s.spans_by_kind[k],
                      " ", std::string(newsdedup::SpanKindName(kind)), " (",
                      s.bytes_by_kind[k], " bytes)");
    }
    std::cerr << absl::StrFormat(
        "newsdedup scan: %d records (%d malformed), %d paragraphs\n"
        "  flagged: %d spans (%d exact repeats) in %d clusters, %d bytes "
        "(%.1f%% of text)\n"
        "  by kind: %s\n"
        "  time: %.2f s, %.1f MB/s of input (%d bytes), %d thread%s, %s, "
        "index %.1f MB\n",
        (*reader)->records(), (*reader)->malformed(), s.paragraphs, s.flagged,
        s.flagged_exact, s.clusters, s.flagged_bytes,
        s.text_bytes ? 100.0 * s.flagged_bytes / s.text_bytes : 0.0,
        kinds.empty() ? "nothing" : kinds, seconds,
        seconds > 0 ? input / seconds / 1e6 : 0.0, input, flags.scan.threads,
        flags.scan.threads == 1 ? "" : "s", newsdedup::Scanner::SimdTarget(),
        s.index_bytes / 1e6);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "newsdedup: find duplicated and boilerplate text in scraped news and "
      "report it as exact byte spans."};
  app.require_subcommand(1);
  ScanFlags flags;

  CLI::App* scan = app.add_subcommand(
      "scan",
      "Report every paragraph that repeats an earlier one (exactly or nearly, "
      "within one article or across articles) as a JSONL span report.");
  scan->add_option("inputs", flags.inputs,
                   "JSONL files, text files, folders, or - for stdin (.gz and "
                   ".zst are decompressed)")
      ->required();
  scan->add_option("--report,-o", flags.report,
                   "where to write the span report (- for stdout)")
      ->capture_default_str();
  scan->add_option("--format", flags.format, "input format")
      ->check(CLI::IsMember({"auto", "jsonl", "text"}))
      ->capture_default_str();
  scan->add_option("--id-field", flags.reader.id_field,
                   "JSON field of the record id")
      ->capture_default_str();
  scan->add_option("--title-field", flags.reader.title_field,
                   "JSON field of the headline")
      ->capture_default_str();
  scan->add_option("--text-field", flags.reader.text_field,
                   "JSON field of the body text")
      ->capture_default_str();
  scan->add_option("--site-field", flags.reader.site_field,
                   "JSON field of the site (falls back to the host of the url)")
      ->capture_default_str();
  scan->add_option("--url-field", flags.reader.url_field,
                   "JSON field of the URL")
      ->capture_default_str();
  scan->add_option("--threshold,-t", flags.scan.threshold,
                   "minimum Jaccard similarity of shingle sets, in (0, 1)")
      ->capture_default_str();
  scan->add_option("--shingle", flags.scan.shingle_size,
                   "words per shingle, 1-16")
      ->capture_default_str();
  scan->add_option("--num-perm", flags.scan.num_perm,
                   "MinHash signature size, a multiple of 8 in 8-1024")
      ->capture_default_str();
  scan->add_option("--bands", flags.scan.bands,
                   "LSH bands (0: chosen from the threshold; needs --rows)")
      ->capture_default_str();
  scan->add_option("--rows", flags.scan.rows,
                   "LSH rows per band (with --bands)")
      ->capture_default_str();
  scan->add_option("--min-tokens", flags.scan.min_tokens,
                   "shorter paragraphs (in words) are matched exactly only")
      ->capture_default_str();
  scan->add_option("--min-exact-tokens", flags.scan.min_exact_tokens,
                   "shorter paragraphs (in words) are not reported")
      ->capture_default_str();
  scan->add_option("--threads,-j", flags.scan.threads, "sketching threads")
      ->capture_default_str();
  scan->add_option("--seed", flags.scan.seed, "MinHash seed")
      ->capture_default_str();
  scan->add_flag("--no-split-lines", flags.no_split_lines,
                 "only blank lines end paragraphs");
  scan->add_flag("--no-split-double-space", flags.no_split_double_space,
                 "two spaces after a sentence do not end a paragraph");
  scan->add_flag("--no-structure", flags.no_structure,
                 "report repeated paragraphs only (no headlines, captions or "
                 "boilerplate)");
  scan->add_option("--rules", flags.scan.rules_file,
                   "extra boilerplate rules file (lines of `line|trailer NAME "
                   "REGEX`)");
  scan->add_flag("--no-builtin-rules", flags.no_builtin_rules,
                 "do not use the built-in boilerplate rules");
  scan->add_option("--boilerplate-docs", flags.scan.boilerplate_min_docs,
                   "text in at least this many documents of one site is "
                   "boilerplate (0: off)")
      ->capture_default_str();
  scan->add_option("--headline-min-words", flags.scan.headline_min_words,
                   "shorter headlines are not matched across documents")
      ->capture_default_str();
  scan->add_flag("--strict", flags.strict,
                 "stop with an error at the first malformed record");
  scan->add_flag("--quiet,-q", flags.quiet, "no summary on stderr");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; every usage error exits 2.
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (scan->parsed()) return RunScan(flags);
  return 2;
}
