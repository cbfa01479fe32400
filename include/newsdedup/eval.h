// Scoring a span report against labels: precision, recall and F1 per kind,
// at the level of bytes and of findings.
//
//   auto labels = newsdedup::ReadLabels("labels.jsonl");
//   newsdedup::EvalResult r = newsdedup::Evaluate(*labels, spans);
//   std::cout << newsdedup::FormatEval(r);
//
// Label files are JSONL, one object per line (docs in README.md,
// "Evaluation"):
//
//   {"labels": "newsdedup-eval", "name": "bbc", "kinds": ["paragraph"]}
//   {"doc": "a/2"}
//   {"doc": "a/3", "field": "text", "start": 0, "end": 212,
//    "kind": "paragraph", "first": {"doc": "a/1"}, "edit": "word-2"}
//
// The optional header names the set and the kinds that are scored (all five
// when absent). A line with a doc and nothing else marks a judged document
// without findings (a negative). A line with a span is an expected finding;
// `first` (the kept copy) and `edit` (a tag that groups recall, e.g. the
// kind of perturbation) are optional. Every document named in the file is
// judged: what the tool reports there, in a scored kind, outside the
// labels is a false positive; documents not named are not scored. A span
// report line is a valid label line, so a report can serve as labels.
//
// Scoring, per (document, field) of judged documents, for each scored kind:
// - bytes: recall = labelled bytes of the kind covered by reported spans of
//   the kind; precision = reported bytes of the kind that lie in labelled
//   bytes of any scored kind (a passage reported inside a labelled near-copy
//   paragraph is a correct claim, just a smaller one).
// - findings: a label is found when reported spans of its kind cover at
//   least half of it; a reported span is correct when at least half of it
//   lies in labels of any scored kind.
// The row "all" ignores kinds: any reported span against any label, which
// is what a user removing the spans gets.
#ifndef NEWSDEDUP_EVAL_H_
#define NEWSDEDUP_EVAL_H_

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "newsdedup/report.h"

namespace newsdedup {

struct Label {
  std::string doc;
  std::string field;  // "text" when absent
  uint32_t start = 0;
  uint32_t end = 0;
  SpanKind kind = SpanKind::kParagraph;
  std::string first_doc;  // "" when not given
  std::string edit;       // "" when not given
  uint64_t line = 0;      // line in the label file, for messages
};

struct LabelSet {
  std::string name;
  std::array<bool, 5> scored = {true, true, true, true, true};  // by SpanKind
  std::vector<Label> labels;      // expected findings, in file order
  std::vector<std::string> docs;  // judged documents, first mention order
};

// Reads a label file (plain, gzip or zstd). Errors name the file and line:
// invalid JSON, a span without a doc, start > end, an unknown kind.
absl::StatusOr<LabelSet> ReadLabels(const std::string& path);

struct Score {
  // Findings.
  uint64_t labels = 0;          // expected findings
  uint64_t found = 0;           //   found by spans of their kind
  uint64_t covered = 0;         //   found by spans of any kind
  uint64_t reported = 0;        // reported spans in judged documents
  uint64_t correct = 0;         //   lying in labels
  uint64_t first_labelled = 0;  // found labels that name their first copy
  uint64_t first_agree = 0;     //   and the tool's `first` is that document
  // Bytes.
  uint64_t label_bytes = 0;
  uint64_t found_bytes = 0;  // labelled bytes under spans of the kind
  uint64_t reported_bytes = 0;
  uint64_t correct_bytes = 0;  // reported bytes under labels

  double Recall() const;     // found / labels; 1 when there are none
  double Precision() const;  // correct / reported; 1 when nothing reported
  double F1() const;
  double ByteRecall() const;
  double BytePrecision() const;
  double ByteF1() const;
};

struct EvalResult {
  std::string name;
  std::array<bool, 5> scored = {true, true, true, true, true};
  std::array<Score, 5> by_kind;          // by SpanKind
  Score all;                             // kinds ignored
  std::map<std::string, Score> by_edit;  // labels grouped by `edit`
  uint64_t judged_docs = 0;
  uint64_t missing_docs = 0;  // judged documents absent from `seen_docs`
};

// Scores `spans` (the report of a scan, any order) against `labels`.
// `seen_docs`, when not empty, lists the ids the scan read: judged
// documents not among them are counted in missing_docs and not scored.
EvalResult Evaluate(const LabelSet& labels, absl::Span<const SpanRecord> spans,
                    absl::Span<const std::string> seen_docs = {});

// A plain-text table: one row per scored kind and "all", then recall by
// edit tag.
std::string FormatEval(const EvalResult& result);

// The same as one JSON object (no trailing newline).
std::string EvalJson(const EvalResult& result);

}  // namespace newsdedup

#endif  // NEWSDEDUP_EVAL_H_
