// Whitespace as the segmenter and the pipeline trim it: ASCII spaces and
// line breaks, and the Unicode spaces scraped text carries (NBSP U+00A0,
// U+2000-U+200A, U+202F, U+205F, ideographic space U+3000).
#ifndef NEWSDEDUP_INTERNAL_SPACES_H_
#define NEWSDEDUP_INTERNAL_SPACES_H_

#include <cstddef>
#include <string_view>

namespace newsdedup::internal {

inline bool IsAsciiSpaceOrBreak(unsigned char c) {
  return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' ||
         c == '\v';
}

// Length of a Unicode space starting at p (n bytes readable), or 0.
inline int UnicodeSpaceLength(const unsigned char* p, size_t n) {
  if (n >= 2 && p[0] == 0xC2 && p[1] == 0xA0) return 2;
  if (n >= 3 && p[0] == 0xE2 && p[1] == 0x80 &&
      ((p[2] >= 0x80 && p[2] <= 0x8A) || p[2] == 0xAF))
    return 3;
  if (n >= 3 && p[0] == 0xE2 && p[1] == 0x81 && p[2] == 0x9F) return 3;
  if (n >= 3 && p[0] == 0xE3 && p[1] == 0x80 && p[2] == 0x80) return 3;
  return 0;
}

// Shrinks [*begin, *end) of `p` past whitespace at both ends.
template <typename Index>
void TrimSpaces(const unsigned char* p, Index* begin, Index* end) {
  while (*begin < *end) {
    if (IsAsciiSpaceOrBreak(p[*begin])) {
      ++*begin;
    } else if (int len = UnicodeSpaceLength(p + *begin, *end - *begin)) {
      *begin += len;
    } else {
      break;
    }
  }
  while (*end > *begin) {
    if (IsAsciiSpaceOrBreak(p[*end - 1])) {
      --*end;
    } else if (*end - *begin >= 2 && UnicodeSpaceLength(p + *end - 2, 2) == 2) {
      *end -= 2;
    } else if (*end - *begin >= 3 && UnicodeSpaceLength(p + *end - 3, 3) == 3) {
      *end -= 3;
    } else {
      break;
    }
  }
}

// RE2's \s: [\t\n\f\r ] (not \v). The patterns' quick tests strip what a
// pattern's closing `\s*$` would take.
inline bool IsRe2Space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

// `text` without the RE2 whitespace at its end.
inline std::string_view StripRe2SpacesRight(std::string_view text) {
  size_t end = text.size();
  while (end > 0 && IsRe2Space(text[end - 1])) --end;
  return text.substr(0, end);
}

}  // namespace newsdedup::internal

#endif  // NEWSDEDUP_INTERNAL_SPACES_H_
