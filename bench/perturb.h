// Planted duplicates for evaluation: new documents made from a real corpus
// with realistic edits, and labels saying what in them repeats the corpus.
//
//   std::vector<newsdedup::Document> corpus = ...;  // read in input order
//   newsdedup::bench::Planted p = newsdedup::bench::Plant(corpus, {});
//   // scan corpus, then p.docs; score with newsdedup::Evaluate(p.labels, ...)
//
// Every planted document is judged (see eval.h). The cases, each a new
// document placed after the corpus:
// - paragraph copies, one paragraph of 20+ words per document, tagged by
//   edit: `exact`, `word-1`, `word-2` (ordinary words replaced by corpus
//   words; numbers are left alone), `word-10%`, `word-20%`, `word-30%`,
//   `number-1` (one number changed: a new fact, which the tool declines on
//   purpose), `drop-sentence` (one sentence after the first removed),
//   `add-sentence` (a new sentence appended), `truncate` (the paragraph cut
//   after 60-85% of its words, as scrapers do);
// - syndicated articles: a whole article of 3+ paragraphs copied with a
//   decorated headline ("UPDATE 2-", "REFILE-", "Analysis: " ..., tag
//   `headline-decorated`) or the same one (`headline-exact`), sometimes a
//   new intro paragraph (not labelled), paragraphs copied exactly
//   (`article-exact`) or with one word replaced (`article-word-1`), the
//   last one sometimes truncated (`article-truncate`), and sometimes a
//   "READ MORE: <another headline>" teaser line (`teaser`, boilerplate);
// - hard negatives: articles rewritten from a corpus article with 60% of the
//   words replaced and no run of 7 original words left (same topic, same
//   vocabulary and word order, no copied passage), on 20 small sites each
//   sharing a template line of its own (`template`, boilerplate: it is in
//   every story of the site);
// - spliced passages: hard-negative articles with one sentence of 12+ words
//   (at most a fifth of its words figures; line breaks become spaces)
//   copied from another corpus article into a paragraph (`spliced`, kind
//   span).
#ifndef NEWSDEDUP_BENCH_PERTURB_H_
#define NEWSDEDUP_BENCH_PERTURB_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "newsdedup/document.h"
#include "newsdedup/eval.h"

namespace newsdedup::bench {

struct PlantOptions {
  uint64_t seed = 7;
  int per_edit = 400;              // paragraph copies per edit tag
  int articles = 150;              // syndicated article copies
  int negatives = 300;             // hard-negative articles
  int spliced = 100;               // articles with a spliced passage
  std::string prefix = "planted";  // ids: prefix/case/n
};

struct Planted {
  std::vector<Document> docs;  // to be scanned after the corpus
  LabelSet labels;             // every planted document is judged
};

Planted Plant(const std::vector<Document>& corpus, const PlantOptions& options);

// Every record of `paths` in input order (malformed ones are reported on
// stderr and skipped). Errors: an input that cannot be opened or read.
absl::StatusOr<std::vector<Document>> ReadCorpus(
    const std::vector<std::string>& paths);

// One JSONL line (newline included) with id, site (when set), title, text.
std::string DocumentJson(const Document& doc);

// The label file for `labels` (header first).
std::string LabelsJsonl(const LabelSet& labels);

// The paragraph-copy edit tags, in table order.
const std::vector<std::string>& ParagraphEdits();

}  // namespace newsdedup::bench

#endif  // NEWSDEDUP_BENCH_PERTURB_H_
