// Headlines: the decorations sites add to them, and a similarity for short
// texts.
//
//   auto core = newsdedup::HeadlineCore("UPDATE 2-Oil falls on supply data -
//   Reuters");
//   // core covers "Oil falls on supply data" (decorations removed)
//   auto tail = newsdedup::HeadlineTail("Oil falls | Example News");
//   // tail covers "Example News": a candidate site decoration, confirmed
//   // when it repeats across a site's headlines
//
// Word 3-gram Jaccard means little for 5-15 words (one changed word removes
// three of ten shingles). Headlines are compared as word sequences instead:
// two headlines match nearly when one word was replaced, inserted or deleted
// (word edit distance 1), found through deletion keys: the hash of the
// sequence with one word left out, for each word.
#ifndef NEWSDEDUP_HEADLINE_H_
#define NEWSDEDUP_HEADLINE_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/types/span.h"
#include "newsdedup/segment.h"

namespace newsdedup {

// The headline without built-in decorations: wire prefixes ("UPDATE 2-",
// "EXCLUSIVE-", "REFILE-"), section labels ("Opinion |", "Analysis:",
// "LIVE:", "WATCH:"), a trailing parenthesised source ("(AP)",
// "(SPACE.com)") and known site suffixes (" - Reuters", " | BBC News").
// Relative to `title`; trimmed. Pure.
ByteRange HeadlineCore(std::string_view title);

// The segment after the last " - ", " | ", " – ", " — " or " :: " separator
// when it has at most 5 words and something precedes it; {0, 0} otherwise.
ByteRange HeadlineTail(std::string_view title);

// True if the word sequences differ by at most one replaced, inserted or
// deleted word.
bool WithinOneWordEdit(absl::Span<const uint64_t> a,
                       absl::Span<const uint64_t> b);

// Appends the hash of `words` and, for sequences of `min_words` or more, the
// hash of each one-word deletion. Two sequences within one word edit share
// at least one key (a replacement deletes the same position from both; an
// insertion's deletion equals the shorter sequence).
void DeletionKeys(absl::Span<const uint64_t> words, int min_words,
                  std::vector<uint64_t>* keys);

// |A ∩ B| / |A ∪ B| of the two word sets.
double WordSetJaccard(absl::Span<const uint64_t> a,
                      absl::Span<const uint64_t> b);

}  // namespace newsdedup

#endif  // NEWSDEDUP_HEADLINE_H_
