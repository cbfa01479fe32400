// Segmentation: splits a text field into paragraphs, as half-open byte
// ranges into the original text with surrounding whitespace trimmed.
//
//   auto paragraphs = newsdedup::SegmentParagraphs("One.\n\nTwo.\n", {});
//   // paragraphs == {{0, 4}, {6, 10}}
//
// A paragraph ends at a blank line (only whitespace between two newlines).
// Scraped news also ends paragraphs at a single newline after a sentence
// ("... said.\nThe ..."), while hard-wrapped copy (Reuters wraps lines at 60
// characters) breaks lines mid-sentence; `split_lines` tells the two apart by
// the punctuation before the newline. Wire copy whose paragraphs were run
// together keeps two spaces between them ("... said.  Shares rose"); see
// `split_double_space`.
#ifndef NEWSDEDUP_SEGMENT_H_
#define NEWSDEDUP_SEGMENT_H_

#include <cstdint>
#include <string_view>
#include <vector>

namespace newsdedup {

struct ByteRange {
  uint32_t begin;  // first byte
  uint32_t end;    // one past the last byte
  bool operator==(const ByteRange& o) const {
    return begin == o.begin && end == o.end;
  }
};

struct SegmentOptions {
  // A single newline ends a paragraph when the line before it ends with
  // sentence-final punctuation (. ! ? : or a closing quote or bracket after
  // one). Default true; false: only blank lines end paragraphs.
  bool split_lines = true;
  // Sentence-final punctuation followed by two or more spaces (no newline)
  // and then an upper-case letter, digit or opening quote ends a paragraph.
  // Default true.
  bool split_double_space = true;
};

// The paragraphs of `text`, in order, non-empty, trimmed of ASCII and
// Unicode whitespace at both ends, on UTF-8 character boundaries. Pure and
// thread-safe; linear in the size of `text`. Texts of 4 GiB or more are the
// caller's to reject.
std::vector<ByteRange> SegmentParagraphs(std::string_view text,
                                         const SegmentOptions& options);

}  // namespace newsdedup

#endif  // NEWSDEDUP_SEGMENT_H_
