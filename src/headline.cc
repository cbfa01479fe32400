#include "newsdedup/headline.h"

#include <re2/re2.h>

#include <algorithm>

#include "newsdedup/hash.h"
#include "newsdedup/shingle.h"

namespace newsdedup {
namespace {

inline bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

const RE2& PrefixPattern() {
  // Wire slugs glued to the headline with '-' ("UPDATE 2-", "REFILE-"), and
  // section labels followed by '|' or ':'.
  static const RE2 re(
      R"(^\s*((?:(?:UPDATE|WRAPUP|REFILE|CORRECTED|CORRECTION|RPT|EXCLUSIVE|ANALYSIS|INTERVIEW|FACTBOX|TIMELINE|PREVIEW|SNAP ANALYSIS|BREAKINGVIEWS|BRIEF|FEATURE|COLUMN|INSIGHT|SPECIAL REPORT|GLOBAL MARKETS|FOREX|US STOCKS|STOCKS|EMERGING MARKETS|PRECIOUS|TREASURIES|MIDEAST STOCKS|EUROPE STOCKS|ASIA STOCKS|HIGHLIGHTS|DIARY|NEWSMAKER|BUZZ|UPDATE \d+)(?: \d+)?-)|(?:(?:Opinion|OPINION|Analysis|ANALYSIS|Exclusive|EXCLUSIVE|Live|LIVE|Watch|WATCH|Video|VIDEO|Breaking|BREAKING|Breaking News|BREAKING NEWS|Updated|UPDATED|Comment|Review|Editorial|Explainer|Fact check|Fact Check|Factbox|In pictures|In Pictures|Kommentar|Analyse|Exklusiv|Interview|Ticker|Liveblog|Eilmeldung)\s*[|:]\s*)))",
      RE2::Quiet);
  return re;
}

const RE2& SuffixPattern() {
  // A parenthesised source at the end ("(AP)", "(Reuters)", "(SPACE.com)"),
  // or a separator followed by a well-known outlet name.
  static const RE2 re(
      R"((\s*\([A-Za-z][A-Za-z0-9 .&'-]{0,30}\)|\s+[-|–—:]+\s+(?:Reuters|REUTERS|BBC News|BBC Sport|BBC|AP|AP News|AFP|Bloomberg|CNN|CNBC|The Guardian|Guardian|The New York Times|NYTimes\.com|The Washington Post|Al Jazeera|Fox News|NPR|Sky News|DW|derStandard\.at|SPIEGEL ONLINE|Spiegel Online|ZEIT ONLINE|FAZ\.NET|tagesschau\.de))\s*$)",
      RE2::Quiet);
  return re;
}

}  // namespace

ByteRange HeadlineCore(std::string_view title) {
  size_t begin = 0, end = title.size();
  // Strip prefixes repeatedly ("REFILE-UPDATE 1-...").
  for (int round = 0; round < 3; ++round) {
    re2::StringPiece text(title.data() + begin, end - begin);
    re2::StringPiece match;
    if (!PrefixPattern().Match(text, 0, text.size(), RE2::ANCHOR_START, &match,
                               1) ||
        match.size() == text.size()) {
      break;
    }
    begin += match.size();
  }
  for (int round = 0; round < 2; ++round) {
    re2::StringPiece text(title.data() + begin, end - begin);
    re2::StringPiece match[2];
    if (!SuffixPattern().Match(text, 0, text.size(), RE2::UNANCHORED, match,
                               2) ||
        match[0].data() == text.data()) {
      break;
    }
    end = static_cast<size_t>(match[0].data() - title.data());
  }
  while (begin < end && IsSpace(title[begin])) ++begin;
  while (end > begin && IsSpace(title[end - 1])) --end;
  return {static_cast<uint32_t>(begin), static_cast<uint32_t>(end)};
}

ByteRange HeadlineTail(std::string_view title) {
  static constexpr std::string_view kSeparators[] = {
      " - ", " | ", " \xE2\x80\x93 ", " \xE2\x80\x94 ", " :: "};
  // The last separator: one scan from the end (every separator starts with
  // a space, and no two can start at the same place), not an rfind per
  // separator, which compares at every position.
  size_t best = std::string_view::npos, best_len = 0;
  for (size_t at = title.size(); at-- > 0 && best == std::string_view::npos;) {
    if (title[at] != ' ') continue;
    for (std::string_view sep : kSeparators) {
      if (title.substr(at, sep.size()) == sep) {
        best = at;
        best_len = sep.size();
        break;
      }
    }
  }
  if (best == std::string_view::npos || best == 0) return {0, 0};
  size_t begin = best + best_len, end = title.size();
  while (begin < end && IsSpace(title[begin])) ++begin;
  while (end > begin && IsSpace(title[end - 1])) --end;
  if (begin == end) return {0, 0};
  int words = 1;
  for (size_t i = begin; i < end; ++i) words += title[i] == ' ';
  if (words > 5) return {0, 0};
  return {static_cast<uint32_t>(begin), static_cast<uint32_t>(end)};
}

bool WithinOneWordEdit(absl::Span<const uint64_t> a,
                       absl::Span<const uint64_t> b) {
  if (a.size() < b.size()) std::swap(a, b);
  if (a.size() - b.size() > 1) return false;
  size_t prefix = 0;
  while (prefix < b.size() && a[prefix] == b[prefix]) ++prefix;
  if (prefix == b.size()) return true;  // equal, or one word appended
  if (a.size() == b.size()) {
    // One replacement: the rest after the first difference is equal.
    return std::equal(a.begin() + prefix + 1, a.end(), b.begin() + prefix + 1);
  }
  // One insertion into b at `prefix`.
  return std::equal(a.begin() + prefix + 1, a.end(), b.begin() + prefix);
}

void DeletionKeys(absl::Span<const uint64_t> words, int min_words,
                  std::vector<uint64_t>* keys) {
  auto hash_without = [&](size_t skip) {
    uint64_t h = 0x3C6EF372FE94F82BULL;
    for (size_t i = 0; i < words.size(); ++i) {
      if (i != skip) h = CombineOrdered(h, words[i]);
    }
    return Finalize(h);
  };
  keys->push_back(hash_without(words.size()));
  if (words.size() < static_cast<size_t>(min_words)) return;
  for (size_t i = 0; i < words.size(); ++i) keys->push_back(hash_without(i));
}

double WordSetJaccard(absl::Span<const uint64_t> a,
                      absl::Span<const uint64_t> b) {
  std::vector<uint64_t> sa(a.begin(), a.end()), sb(b.begin(), b.end());
  SortedUnique(&sa);
  SortedUnique(&sb);
  return ExactJaccard(sa, sb);
}

}  // namespace newsdedup
