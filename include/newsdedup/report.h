// The span report: one JSON object per flagged span, one per line, in input
// order (document, then field, then offset). The contract is in DESIGN.md:
//
//   {"doc": "bbc/business/001.txt", "field": "text", "start": 120,
//    "end": 245, "kind": "paragraph", "match": "near", "similarity": 0.86,
//    "scope": "cross_site", "cluster": 17, "count": 3,
//    "first": {"doc": "reuters/a", "field": "text", "start": 0, "end": 130}}
//
//   newsdedup::SpanRecord span = ...;
//   std::string line;
//   newsdedup::AppendSpanJson(span, &line);  // ends with '\n'
#ifndef NEWSDEDUP_REPORT_H_
#define NEWSDEDUP_REPORT_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace newsdedup {

enum class SpanKind { kHeadline, kCaption, kParagraph, kSpan, kBoilerplate };
enum class MatchType { kExact, kNear, kPattern };
enum class Scope { kSameDocument, kSameSite, kCrossSite };

std::string_view SpanKindName(SpanKind kind);     // "headline", ...
std::string_view MatchTypeName(MatchType match);  // "exact", "near", ...
std::string_view ScopeName(Scope scope);          // "same_document", ...

// Where a span is: a record, one of its fields, a half-open byte range into
// that field's value on UTF-8 character boundaries.
struct Location {
  std::string_view doc;
  std::string_view field;
  uint32_t start = 0;
  uint32_t end = 0;
};

struct SpanRecord {
  Location at;
  uint32_t doc_ordinal = 0;    // the record's position among the records
                               // read (0-based); not written to the report
  uint32_t first_ordinal = 0;  // the same for `first`
  bool is_title = false;       // the span is the record's headline itself
                               // (the title field, or a text file's first
                               // line); not written to the report
  SpanKind kind = SpanKind::kParagraph;
  MatchType match = MatchType::kExact;
  double similarity = 1.0;  // exact Jaccard with `first`; 1.0 for exact
  Scope scope = Scope::kCrossSite;
  uint32_t cluster = 0;   // group of repeats, numbered from 1 in order of
                          // the group's first occurrence; passage (`span`)
                          // groups are numbered after the others, in the
                          // order their repeats are met
  uint32_t count = 0;     // occurrences in the group (for a passage: of its
                          // first window of words)
  bool has_first = true;  // false for boilerplate: every copy is flagged
  Location first;         // the kept (earliest) occurrence
};

// Appends `s` to `*out` as `value` in JSON string syntax (quotes included).
// Invalid UTF-8 bytes become \ufffd so the report is always valid JSON;
// control characters are escaped.
void AppendJsonString(std::string_view s, std::string* out);

// Appends one report line for `span`, newline included. Similarity is
// written with at most 4 decimals ("1.0" for exact), so the bytes depend
// only on the span.
void AppendSpanJson(const SpanRecord& span, std::string* out);

}  // namespace newsdedup

#endif  // NEWSDEDUP_REPORT_H_
