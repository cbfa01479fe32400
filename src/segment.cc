#include "newsdedup/segment.h"

#include <array>
#include <string_view>

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
    // A single space inside a line changes nothing either (only two in a
    // row can end a paragraph).
    while (i < n && (kPlain[p[i]] || (p[i] == ' ' && i + 1 < n &&
                                      p[i + 1] != ' ' && p[i + 1] != '\n'))) {
      ++i;
    }
  }
  if (line_blank) {
    emit(para_begin, line_begin);
  } else {
    emit(para_begin, n);
  }
  return out;
}

}  // namespace newsdedup
