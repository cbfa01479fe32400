// Cleaning: what a cleaned corpus keeps of a record given its reported
// spans, and how a JSONL record is rewritten so that nothing but the cleaned
// fields changes.
//
//   newsdedup::CleanOptions options;                 // news-cleaning defaults
//   if (newsdedup::ShouldRemove(span, options)) ranges.push_back(...);
//   std::string text = newsdedup::RemoveSpans(doc.text, ranges);
//   auto line = newsdedup::ReplaceJsonStringFields(raw_line, {{"text", text}});
#ifndef NEWSDEDUP_CLEAN_H_
#define NEWSDEDUP_CLEAN_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "newsdedup/report.h"
#include "newsdedup/segment.h"

namespace newsdedup {

struct CleanOptions {
  // Keep photo captions recognised by pattern only (a caption repeated from
  // another article is removed either way). Default false: captions go.
  bool keep_captions = false;
  // Also remove headlines in the title field that repeat an earlier
  // article's headline. Default false: titles are kept, only headlines
  // repeated inside the body are removed.
  bool remove_repeated_titles = false;
  // A record whose text keeps fewer words than this after cleaning is
  // "emptied" (counted; dropped unless keep_empty). Default 3; >= 0.
  int min_words = 3;
  // Keep emptied records in the output. Default false.
  bool keep_empty = false;
};

// The cleaning policy: boilerplate goes everywhere (every copy), repeats go
// except the kept first copy (only repeats are ever reported), captions go
// unless keep_captions, title-field headline repeats go only with
// remove_repeated_titles.
bool ShouldRemove(const SpanRecord& span, const CleanOptions& options,
                  std::string_view title_field);

// `text` without the byte ranges in `remove` (in any order, possibly
// overlapping), with the whitespace at each cut tidied: the wider break
// beside the cut survives (a blank line between paragraphs, a newline
// between lines, one space inside a line), a cut with no whitespace on
// either side (Chinese text) joins its neighbours directly, and a cut at the
// start or end of the text leaves nothing. Whitespace elsewhere is untouched.
// Ranges past the end of `text` are clipped to it.
std::string RemoveSpans(std::string_view text, std::vector<ByteRange> remove);

// Number of words (tokenizer tokens) in `text`.
size_t CountWords(std::string_view text);

struct FieldEdit {
  std::string_view field;  // a top-level key whose value is a JSON string
  std::string_view value;  // the new value, UTF-8
};

// `line` (one JSON object) with the string values of the given top-level
// fields replaced; every other byte is unchanged: key order, spacing,
// escapes of other fields, numbers, nested values. A key that occurs twice
// has its last value replaced (the one the reader reads). Errors: not an
// object, invalid JSON (checked in full, as the reader does), a field that
// is absent, not a string, or listed twice in `edits`.
absl::StatusOr<std::string> ReplaceJsonStringFields(
    std::string_view line, absl::Span<const FieldEdit> edits);

// `line` with `"key": value_json` added as the object's last member.
absl::StatusOr<std::string> AddJsonField(std::string_view line,
                                         std::string_view key,
                                         std::string_view value_json);

}  // namespace newsdedup

#endif  // NEWSDEDUP_CLEAN_H_
