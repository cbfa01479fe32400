#include "newsdedup/segment.h"

#include <array>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "internal/spaces.h"

namespace newsdedup {
namespace {

constexpr std::array<bool, 256> MakePlainTable() {
  std::array<bool, 256> table{};
  for (int c = 0; c < 256; ++c) table[c] = true;
  for (int c : {int{'\n'}, int{' '}, int{'\t'}, int{'\r'}, int{'\f'}, int{'\v'},
                0xC2, 0xE2, 0xE3}) {
    table[c] = false;
  }
  return table;
}
constexpr std::array<bool, 256> kPlain = MakePlainTable();

inline bool IsAsciiSpace(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

using internal::UnicodeSpaceLength;

// First position at or after `i` that the segmenter must look at: a line
// break or other ASCII space, a lead byte of a Unicode space (C2, E2, E3),
// or a space followed by a space or a line break. A single space inside a
// line changes nothing (only two in a row can end a paragraph). SSE2 (the
// x86-64 baseline, so no dispatch) checks 16 bytes at a time.
inline size_t PlainRunEnd(const unsigned char* p, size_t i, size_t n) {
#if defined(__SSE2__)
  const __m128i below_tab = _mm_set1_epi8('\t' - 1);
  const __m128i above_cr = _mm_set1_epi8('\r' + 1);
  const __m128i space = _mm_set1_epi8(' ');
  const __m128i newline = _mm_set1_epi8('\n');
  const __m128i c2 = _mm_set1_epi8(static_cast<char>(0xC2));
  const __m128i e2 = _mm_set1_epi8(static_cast<char>(0xE2));
  const __m128i e3 = _mm_set1_epi8(static_cast<char>(0xE3));
  while (i + 17 <= n) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    const __m128i next =
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i + 1));
    // Signed compares: bytes >= 0x80 are negative, outside \t..\r.
    const __m128i control = _mm_and_si128(_mm_cmpgt_epi8(v, below_tab),
                                          _mm_cmplt_epi8(v, above_cr));
    const __m128i lead = _mm_or_si128(
        _mm_cmpeq_epi8(v, c2),
        _mm_or_si128(_mm_cmpeq_epi8(v, e2), _mm_cmpeq_epi8(v, e3)));
    const __m128i double_space = _mm_and_si128(
        _mm_cmpeq_epi8(v, space), _mm_or_si128(_mm_cmpeq_epi8(next, space),
                                               _mm_cmpeq_epi8(next, newline)));
    const unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(
        _mm_or_si128(control, _mm_or_si128(lead, double_space))));
    if (mask != 0) return i + static_cast<size_t>(__builtin_ctz(mask));
    i += 16;
  }
#endif
  while (i < n && (kPlain[p[i]] || (p[i] == ' ' && i + 1 < n &&
                                    p[i + 1] != ' ' && p[i + 1] != '\n'))) {
    ++i;
  }
  return i;
}

// True if the byte before `end` (skipping closing quotes and brackets) is
// sentence-final punctuation.
bool EndsSentence(const unsigned char* p, size_t begin, size_t end) {
  while (end > begin) {
    const unsigned char c = p[end - 1];
    if (c == '"' || c == '\'' || c == ')' || c == ']') {
      --end;
      continue;
    }
    // Closing curly quotes U+2019 and U+201D: E2 80 99 / E2 80 9D.
    if (end - begin >= 3 && p[end - 3] == 0xE2 && p[end - 2] == 0x80 &&
        (c == 0x99 || c == 0x9D)) {
      end -= 3;
      continue;
    }
    return c == '.' || c == '!' || c == '?' || c == ':';
  }
  return false;
}

inline bool StartsParagraph(const unsigned char* p, size_t i, size_t n) {
  if (i >= n) return false;
  const unsigned char c = p[i];
  // Not '(': wire copy writes "Acme Corp.  ( ACM.N )" with two spaces.
  if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '"' || c == '\'')
    return true;
  // Opening curly quote U+201C, or any non-ASCII letter (upper-case check
  // would need tables; a multi-byte start after a double space is rare
  // enough in running text to accept).
  return c >= 0xC0;
}

// True if the '.' just before `end` closes an abbreviation ("Inc.",
// "Corp.", "U.S.", an initial) rather than a sentence.
bool AbbreviationBefore(const unsigned char* p, size_t begin, size_t end) {
  if (end == begin || p[end - 1] != '.') return false;
  size_t w = end - 1;
  while (w > begin && p[w - 1] != ' ' && p[w - 1] != '\n') --w;
  const std::string_view word(reinterpret_cast<const char*>(p) + w,
                              end - 1 - w);
  static constexpr std::string_view kAbbreviations[] = {
      "Inc", "Corp", "Co",  "Ltd", "Plc", "PLC", "Bhd",
      "LLC", "Mr",   "Mrs", "Ms",  "Dr",  "St",  "Jr",
      "Sr",  "No",   "Gov", "Sen", "Rep", "Gen", "vs"};
  if (word.size() <= 1) return true;                          // initials
  if (word.find('.') != std::string_view::npos) return true;  // "U.S"
  for (std::string_view a : kAbbreviations) {
    if (word == a) return true;
  }
  return false;
}

}  // namespace

std::vector<ByteRange> SegmentParagraphs(std::string_view text,
                                         const SegmentOptions& options) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  std::vector<ByteRange> out;

  // Emits [begin, end) trimmed of whitespace, if anything is left.
  auto emit = [&](size_t begin, size_t end) {
    internal::TrimSpaces(p, &begin, &end);
    if (begin < end) {
      out.push_back({static_cast<uint32_t>(begin), static_cast<uint32_t>(end)});
    }
  };

  size_t para_begin = 0;
  size_t line_begin = 0;
  bool line_blank = true;
  size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    if (c == '\n') {
      // End of a line [line_begin, i).
      if (line_blank) {
        emit(para_begin, line_begin);
        para_begin = i + 1;
      } else if (options.split_lines) {
        // Skip trailing whitespace, Unicode spaces included (scraped HTML
        // often ends a line with &nbsp;), as the paragraph trim does.
        size_t end = i;
        while (end > line_begin) {
          if (IsAsciiSpace(p[end - 1])) {
            --end;
          } else if (end - line_begin >= 2 &&
                     UnicodeSpaceLength(p + end - 2, 2) == 2) {
            end -= 2;
          } else if (end - line_begin >= 3 &&
                     UnicodeSpaceLength(p + end - 3, 3) == 3) {
            end -= 3;
          } else {
            break;
          }
        }
        if (EndsSentence(p, line_begin, end)) {
          emit(para_begin, i);
          para_begin = i + 1;
        }
      }
      ++i;
      line_begin = i;
      line_blank = true;
      continue;
    }
    if (IsAsciiSpace(c)) {
      if (options.split_double_space && c == ' ' && i + 1 < n &&
          p[i + 1] == ' ' && !line_blank) {
        size_t j = i;
        while (j < n && p[j] == ' ') ++j;
        if (j < n && p[j] != '\n' && StartsParagraph(p, j, n) &&
            EndsSentence(p, line_begin, i) &&
            !AbbreviationBefore(p, line_begin, i)) {
          emit(para_begin, i);
          para_begin = j;
          line_begin = j;
        }
        i = j;
        continue;
      }
      ++i;
      continue;
    }
    if (int len = UnicodeSpaceLength(p + i, n - i)) {
      i += len;
      continue;
    }
    line_blank = false;
    ++i;
    // Fast path: run over bytes that can neither end a line nor start a
    // space (most of any text) without the per-byte checks above.
    i = PlainRunEnd(p, i, n);
  }
  if (line_blank) {
    emit(para_begin, line_begin);
  } else {
    emit(para_begin, n);
  }
  return out;
}

}  // namespace newsdedup
