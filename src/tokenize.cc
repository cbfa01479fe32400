#include "newsdedup/tokenize.h"

#include <utf8proc.h>

#include <array>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <cstring>

#include "internal/word_hash.h"

namespace newsdedup {
namespace {

constexpr std::array<uint8_t, 128> MakeAsciiWordTable() {
  std::array<uint8_t, 128> table{};
  for (int c = '0'; c <= '9'; ++c) table[c] = 1;
  for (int c = 'a'; c <= 'z'; ++c) table[c] = 1;
  for (int c = 'A'; c <= 'Z'; ++c) table[c] = 1;
  return table;
}
constexpr std::array<uint8_t, 128> kAsciiWord = MakeAsciiWordTable();

enum class CodePointClass {
  kSeparator,  // ends a word; not part of any token
  kWord,       // letter, mark or number
  kSolo,       // a character of a script written without spaces
  kJoiner,     // default-ignorable format character: inside a word it is
               // skipped (removed by normalization), elsewhere a separator
};

bool IsSolo(int32_t cp) {
  return (cp >= 0x3040 && cp <= 0x30FF) ||  // Hiragana, Katakana
         (cp >= 0x31F0 && cp <= 0x31FF) ||  // Katakana phonetic extensions
         (cp >= 0x3400 && cp <= 0x4DBF) ||  // CJK extension A
         (cp >= 0x4E00 && cp <= 0x9FFF) ||  // CJK unified ideographs
         (cp >= 0xF900 && cp <= 0xFAFF) ||  // CJK compatibility ideographs
         (cp >= 0xFF66 && cp <= 0xFF9F) ||  // halfwidth Katakana
         (cp >= 0x20000 && cp <= 0x3FFFF);  // CJK extensions B and later
}

CodePointClass Classify(int32_t cp) {
  if (IsSolo(cp)) return CodePointClass::kSolo;
  // Zero-width space and word joiner's opposite: they separate words even
  // though they are format characters.
  if (cp == 0x200B || cp == 0xFEFF) return CodePointClass::kSeparator;
  switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
      return CodePointClass::kWord;
    case UTF8PROC_CATEGORY_CF:
      return CodePointClass::kJoiner;
    default:
      return CodePointClass::kSeparator;
  }
}

bool IsMark(int32_t cp) {
  const utf8proc_category_t cat = utf8proc_category(cp);
  return cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_MC ||
         cat == UTF8PROC_CATEGORY_ME;
}

// Decodes the code point at p[0..n); returns its byte length, and -1 in *cp
// for an invalid sequence (length 1: the byte is skipped on its own, so an
// invalid byte never swallows the valid characters after it).
inline int Decode(const unsigned char* p, size_t n, int32_t* cp) {
  const utf8proc_ssize_t len =
      utf8proc_iterate(p, n < 4 ? static_cast<utf8proc_ssize_t>(n) : 4, cp);
  if (len <= 0) {
    *cp = -1;
    return 1;
  }
  return static_cast<int>(len);
}

constexpr utf8proc_option_t kNormalizeOptions = static_cast<utf8proc_option_t>(
    UTF8PROC_STABLE | UTF8PROC_COMPAT | UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD |
    UTF8PROC_IGNORE);

// Normalizes `word` (valid UTF-8) into `*out`. Uses a per-thread code point
// buffer so the hot path does not allocate.
bool NormalizeInto(std::string_view word, std::string* out) {
  thread_local std::vector<utf8proc_int32_t> buffer(256);
  const auto* bytes = reinterpret_cast<const utf8proc_uint8_t*>(word.data());
  utf8proc_ssize_t count;
  while (true) {
    count = utf8proc_decompose(
        bytes, static_cast<utf8proc_ssize_t>(word.size()), buffer.data(),
        static_cast<utf8proc_ssize_t>(buffer.size()), kNormalizeOptions);
    if (count < 0) return false;
    if (static_cast<size_t>(count) <= buffer.size()) break;
    buffer.resize(static_cast<size_t>(count) * 2);
  }
  const utf8proc_ssize_t length =
      utf8proc_reencode(buffer.data(), count, kNormalizeOptions);
  if (length < 0) return false;
  out->assign(reinterpret_cast<const char*>(buffer.data()),
              static_cast<size_t>(length));
  return true;
}

uint64_t HashUnicodeWord(std::string_view word) {
  thread_local std::string normalized;
  if (!NormalizeInto(word, &normalized)) {
    return internal::HashWordBytes(word.data(), word.size());
  }
  return internal::HashWordBytes(normalized.data(), normalized.size());
}

inline uint64_t HashAsciiWord(const unsigned char* p, size_t len) {
  if (len <= 16) {
    unsigned char slot[16] = {0};
    for (size_t k = 0; k < len; ++k) {
      const unsigned char c = p[k];
      slot[k] = c | static_cast<unsigned char>((c - 'A' < 26u) << 5);
    }
    return internal::HashWordSlot(slot);
  }
  thread_local std::string lowered;
  lowered.resize(len);
  for (size_t k = 0; k < len; ++k) {
    const unsigned char c = p[k];
    lowered[k] = static_cast<char>(c | ((c - 'A' < 26u) << 5));
  }
  return internal::HashWordBytes(lowered.data(), len);
}

// Lower-cases the ASCII letters of 8 bytes at once (all bytes < 0x80): a
// byte gets 0x20 added when 'A' <= byte <= 'Z'. Adding 0x3F (resp. 0x25) to
// a 7-bit byte sets its high bit exactly when it is >= 0x41 'A' (resp.
// >= 0x5B, past 'Z'), without carries between bytes.
inline uint64_t LowerAscii8(uint64_t x) {
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  const uint64_t heptets = x & ~kHigh;
  const uint64_t at_least_a = heptets + 0x3F3F3F3F3F3F3F3FULL;
  const uint64_t past_z = heptets + 0x2525252525252525ULL;
  const uint64_t upper = at_least_a & ~past_z & ~x & kHigh;
  return x | (upper >> 2);
}

// HashAsciiWord for a word of up to 16 bytes with at least 16 readable
// bytes at `p`: two 8-byte loads, masked to the word and lower-cased in
// place, instead of a loop over its bytes.
// The bytes of a word of `len` <= 16 bytes within two 8-byte loads, by
// length: a table, because a branch on the length mispredicts on most
// words of running text.
struct WordMask {
  uint64_t lo, hi;
};
constexpr std::array<WordMask, 17> MakeWordMasks() {
  std::array<WordMask, 17> masks{};
  for (size_t len = 0; len <= 16; ++len) {
    masks[len].lo = len >= 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * len)) - 1;
    masks[len].hi = len >= 16  ? ~uint64_t{0}
                    : len <= 8 ? 0
                               : (uint64_t{1} << (8 * (len - 8))) - 1;
  }
  return masks;
}
constexpr std::array<WordMask, 17> kWordMasks = MakeWordMasks();

inline uint64_t HashShortAsciiWord(const unsigned char* p, size_t len) {
  uint64_t lo, hi;
  std::memcpy(&lo, p, 8);
  std::memcpy(&hi, p + 8, 8);
  lo = LowerAscii8(lo & kWordMasks[len].lo);
  hi = LowerAscii8(hi & kWordMasks[len].hi);
  unsigned char slot[16];
  std::memcpy(slot, &lo, 8);
  std::memcpy(slot + 8, &hi, 8);
  return internal::HashWordSlot(slot);
}

#if defined(__SSE2__)
// One bit per byte of `v` (the first in bit 0): set for ASCII letters and
// digits. Signed compares: bytes >= 0x80 are negative and match neither
// range.
inline unsigned AsciiWordMask16(__m128i v) {
  const __m128i digit =
      _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)),
                    _mm_cmplt_epi8(v, _mm_set1_epi8('9' + 1)));
  const __m128i lower = _mm_or_si128(v, _mm_set1_epi8(0x20));
  const __m128i letter =
      _mm_and_si128(_mm_cmpgt_epi8(lower, _mm_set1_epi8('a' - 1)),
                    _mm_cmplt_epi8(lower, _mm_set1_epi8('z' + 1)));
  return static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(digit, letter)));
}
#endif

// The hash of the plain ASCII word p[begin, end) of a text of n bytes: the
// two-load path when the word is short and 16 bytes are readable from it.
inline uint64_t HashPlainAsciiWord(const unsigned char* p, size_t begin,
                                   size_t end, size_t n) {
  return end - begin <= 16 && begin + 16 <= n
             ? HashShortAsciiWord(p + begin, end - begin)
             : HashAsciiWord(p + begin, end - begin);
}

// First position at or after `j` that is not an ASCII letter or digit (a
// byte >= 0x80 also stops it). SSE2 (x86-64 baseline, so no dispatch)
// classifies 16 bytes at a time; other machines take the table loop.
inline size_t AsciiWordEnd(const unsigned char* p, size_t j, size_t n) {
#if defined(__SSE2__)
  while (j + 16 <= n) {
    const unsigned mask = AsciiWordMask16(
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + j)));
    if (mask != 0xFFFFu) {
      return j + static_cast<size_t>(__builtin_ctz(~mask & 0xFFFFu));
    }
    j += 16;
  }
#endif
  while (j < n && p[j] < 0x80 && kAsciiWord[p[j]]) ++j;
  return j;
}

inline bool IsAsciiLetter(unsigned char c) {
  return static_cast<unsigned char>((c | 0x20) - 'a') < 26u;
}

// At `k`: a dot, then one ASCII letter that is not followed by another
// letter or digit (the next step of "U.S.").
inline bool IsAbbreviationStep(const unsigned char* p, size_t k, size_t n) {
  return k + 1 < n && p[k] == '.' && IsAsciiLetter(p[k + 1]) &&
         (k + 2 == n || p[k + 2] >= 0x80 || !kAsciiWord[p[k + 2]]);
}

// Appends a token field by field: a Token built on the stack and copied in
// would be stored in two parts and reloaded whole, which stalls the load
// (no store forwarding) on every word.
inline void Emit(std::vector<Token>* out, size_t begin, size_t end,
                 uint32_t base, uint64_t hash) {
  Token& t = out->emplace_back();
  t.begin = base + static_cast<uint32_t>(begin);
  t.end = base + static_cast<uint32_t>(end);
  t.hash = hash;
}

// One step of the tokenizer at `i` (< n): skips one separator (byte or code
// point) or emits the token that starts there. Returns where the next step
// starts. Every case lives here; Tokenize's fast path only takes the plain
// ASCII words it is sure of and leaves the rest to this.
size_t Step(std::string_view text, size_t i, uint32_t base,
            std::vector<Token>* out) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  const unsigned char c = p[i];
  if (c < 0x80) {
    if (!kAsciiWord[c]) return i + 1;
    const size_t j = AsciiWordEnd(p, i + 1, n);
    if (j == i + 1 && IsAbbreviationStep(p, j, n) && IsAsciiLetter(c)) {
      // A dotted abbreviation ("U.S.", "a.m.", "J.R.R."): single letters
      // joined by dots are one word, hashed without the dots, so "U.S."
      // and "US" are the same word. The token ends at the last letter.
      unsigned char letters[16];
      size_t count = 0;
      letters[count++] = c;
      size_t k = j;
      while (count < sizeof(letters) && IsAbbreviationStep(p, k, n)) {
        letters[count++] = p[k + 1];
        k += 2;
      }
      Emit(out, i, k, base, HashAsciiWord(letters, count));
      return k;
    }
    if (j == n || p[j] < 0x80) {
      Emit(out, i, j, base, HashPlainAsciiWord(p, i, j, n));
      return j;
    }
    // The word continues with a non-ASCII byte: take the Unicode path
    // from the start of the word.
  }
  int32_t cp;
  const int len = Decode(p + i, n - i, &cp);
  const CodePointClass cls =
      cp < 0 ? CodePointClass::kSeparator
             : (cp < 0x80 ? CodePointClass::kWord : Classify(cp));
  if (cls == CodePointClass::kSeparator || cls == CodePointClass::kJoiner) {
    return i + len;
  }
  size_t j = i + len;
  if (cls == CodePointClass::kSolo) {
    // One token per character, with the combining marks that follow it.
    while (j < n) {
      int32_t next;
      const int next_len = Decode(p + j, n - j, &next);
      if (next < 0 || !IsMark(next)) break;
      j += next_len;
    }
  } else {
    size_t word_end = j;  // excludes trailing joiners
    while (j < n) {
      if (p[j] < 0x80) {
        if (!kAsciiWord[p[j]]) break;
        ++j;
        word_end = j;
        continue;
      }
      int32_t next;
      const int next_len = Decode(p + j, n - j, &next);
      if (next < 0) break;
      const CodePointClass next_cls = Classify(next);
      if (next_cls == CodePointClass::kWord) {
        j += next_len;
        word_end = j;
      } else if (next_cls == CodePointClass::kJoiner) {
        j += next_len;
      } else {
        break;
      }
    }
    j = word_end;
  }
  Emit(out, i, j, base, HashUnicodeWord(text.substr(i, j - i)));
  return j;
}

// Which of 64 bytes are ASCII letters or digits (`word`), and which are
// bytes >= 0x80 (`high`), one bit per byte, the first byte in bit 0.
struct ByteMasks {
  uint64_t word;
  uint64_t high;
};

// The masks of p[0..64), all readable. SSE2 is the x86-64 baseline (no
// dispatch); other machines take the table.
inline ByteMasks Classify64(const unsigned char* p) {
  ByteMasks m{0, 0};
#if defined(__SSE2__)
  for (int k = 0; k < 4; ++k) {
    const __m128i v =
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * k));
    const uint64_t word = AsciiWordMask16(v);
    const uint64_t high = static_cast<uint16_t>(_mm_movemask_epi8(v));
    m.word |= word << (16 * k);
    m.high |= high << (16 * k);
  }
#else
  for (int k = 0; k < 64; ++k) {
    const unsigned char c = p[k];
    m.word |= static_cast<uint64_t>(c < 0x80 && kAsciiWord[c]) << k;
    m.high |= static_cast<uint64_t>(c >= 0x80) << k;
  }
#endif
  return m;
}

}  // namespace

void Tokenize(std::string_view text, uint32_t base, std::vector<Token>* out) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    // A window of 64 bytes at i, classified at once: its plain ASCII words
    // are found with bit scans, with no branch per byte or per word length
    // (the old byte loop mispredicted on most words). Past the end of the
    // text, the window reads zeros: separators.
    ByteMasks m;
    if (i + 64 <= n) {
      m = Classify64(p + i);
    } else {
      unsigned char tail[64] = {0};
      std::memcpy(tail, p + i, n - i);
      m = Classify64(tail);
    }
    uint64_t todo = m.word | m.high;  // where a token or a step may start
    size_t next = i + 64;             // where the next window starts
    while (todo != 0) {
      const int s = __builtin_ctzll(todo);
      const uint64_t rest = ~(m.word >> s);  // 0 bits: the word from s on
      const int e = rest == 0 ? 64 : s + __builtin_ctzll(rest);
      const size_t begin = i + static_cast<size_t>(s);
      const size_t end = i + static_cast<size_t>(e);
      // Left to Step: a non-ASCII byte, a word that may go on past the
      // window or that goes on with a non-ASCII byte, a dotted
      // abbreviation ("U.S.").
      if ((m.high >> s & 1) != 0 || e == 64 ||
          (end < n &&
           (p[end] >= 0x80 || (e == s + 1 && IsAbbreviationStep(p, end, n) &&
                               IsAsciiLetter(p[begin]))))) {
        // A word that fills the window from its start is long: Step takes
        // it whole. Otherwise the next window starts at the word.
        next = s == 0 || (m.high >> s & 1) != 0 || e != 64
                   ? Step(text, begin, base, out)
                   : begin;
        break;
      }
      Emit(out, begin, end, base, HashPlainAsciiWord(p, begin, end, n));
      todo &= ~uint64_t{0} << e;  // e < 64 here
    }
    i = next;
  }
}

std::vector<Token> Tokenize(std::string_view text) {
  std::vector<Token> tokens;
  Tokenize(text, 0, &tokens);
  return tokens;
}

std::string NormalizeWord(std::string_view word) {
  // A dotted abbreviation as the tokenizer cuts it ("U.S"): its letters.
  const auto* p = reinterpret_cast<const unsigned char*>(word.data());
  if (word.size() >= 3 && word.size() % 2 == 1 && IsAsciiLetter(p[0])) {
    bool dotted = true;
    for (size_t k = 1; k < word.size() && dotted; k += 2) {
      dotted = p[k] == '.' && IsAsciiLetter(p[k + 1]);
    }
    if (dotted) {
      std::string letters;
      for (size_t k = 0; k < word.size(); k += 2) {
        letters.push_back(static_cast<char>(p[k] | 0x20));
      }
      return letters;
    }
  }
  std::string out;
  if (!NormalizeInto(word, &out)) out.assign(word);
  return out;
}

}  // namespace newsdedup
