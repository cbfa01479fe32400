// Tests for the tokenizer: byte ranges into the ORIGINAL text, Unicode
// normalization of the hashed form (NFKC, case folding, ignorables), the
// separators of news text, CJK, invalid UTF-8, and a randomized differential
// check of the ASCII fast path against NormalizeWord + HashWord.
#include "newsdedup/tokenize.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cstdint>
#include <iterator>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "newsdedup/hash.h"

namespace newsdedup {
namespace {

using std::string_view_literals::operator""sv;
using Range = std::pair<uint32_t, uint32_t>;

std::vector<Range> Ranges(const std::vector<Token>& tokens) {
  std::vector<Range> out;
  for (const Token& t : tokens) out.emplace_back(t.begin, t.end);
  return out;
}

// Strict UTF-8 validation, written independently of utf8proc: rejects
// overlong forms, surrogates, code points above U+10FFFF and truncation.
bool IsValidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    const unsigned char c = p[i];
    int len;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (int k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if (len == 3 && cp < 0x800) return false;
    if (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) return false;
    if (cp >= 0xD800 && cp <= 0xDFFF) return false;
    i += len;
  }
  return true;
}

TEST(TokenizeTest, HeaderExample) {
  const std::string_view text = "Caf\xC3\xA9 \xE2\x80\x9CNews\xE2\x80\x9D";
  const std::vector<Token> tokens = Tokenize(text);
  ASSERT_EQ(tokens.size(), 2u);
  EXPECT_EQ(Ranges(tokens), (std::vector<Range>{{0, 5}, {9, 13}}));
  EXPECT_EQ(tokens[0].hash, HashWord("caf\xC3\xA9"));
  EXPECT_EQ(tokens[1].hash, HashWord("news"));
}

struct RangeCase {
  const char* name;
  std::string_view text;
  std::vector<Range> expected;
};

// Byte ranges into the original text for the separators and scripts of news
// copy. Every range is written out by hand from the byte layout.
const RangeCase kRangeCases[] = {
    {"empty", ""sv, {}},
    {"only separators", " .,;:!?-\t\n\"'()[]"sv, {}},
    {"ascii words", "Syria demands"sv, {{0, 5}, {6, 13}}},
    {"leading and trailing punctuation", "  (Reuters) -"sv, {{3, 10}}},
    {"digits are word characters",
     "On Sept 5, 2017"sv,
     {{0, 2}, {3, 7}, {8, 9}, {11, 15}}},
    {"ascii apostrophe splits", "don't"sv, {{0, 3}, {4, 5}}},
    {"curly apostrophe splits", "don\xE2\x80\x99t"sv, {{0, 3}, {6, 7}}},
    {"curly double quotes", "\xE2\x80\x9CYes\xE2\x80\x9D"sv, {{3, 6}}},
    {"guillemets",
     "\xC2\xAB"
     "Oui\xC2\xBB"sv,
     {{2, 5}}},
    {"nbsp", "10\xC2\xA0km"sv, {{0, 2}, {4, 6}}},
    {"narrow nbsp and ideographic space",
     "a\xE2\x80\xAF"
     "b\xE3\x80\x80"
     "c"sv,
     {{0, 1}, {4, 5}, {8, 9}}},
    {"en dash",
     "2010\xE2\x80\x93"
     "2017"sv,
     {{0, 4}, {7, 11}}},
    {"em dash",
     "said\xE2\x80\x94"
     "and"sv,
     {{0, 4}, {7, 10}}},
    {"ascii hyphen", "well-known"sv, {{0, 4}, {5, 10}}},
    {"ellipsis and bullet",
     "wait\xE2\x80\xA6"
     "\xE2\x80\xA2"
     "go"sv,
     {{0, 4}, {10, 12}}},
    {"currency and symbols",
     "$5 \xE2\x82\xAC"
     "10 \xC2\xA9"
     "AFP"sv,
     {{1, 2}, {6, 8}, {11, 14}}},
    {"german umlauts",
     "M\xC3\xBCller sagte: \xC3\x9C"
     "bernahme gr\xC3\xB6\xC3\x9F"
     "er"sv,
     {{0, 7}, {8, 13}, {15, 25}, {26, 34}}},
    {"word starting non-ascii",
     "\xC3\x89"
     "cole"sv,
     {{0, 6}}},
    {"combining mark continues an ascii word",
     "Cafe\xCC\x81 au"sv,
     {{0, 6}, {7, 9}}},
    {"cyrillic",
     "\xD0\x9C\xD0\xBE\xD1\x81\xD0\xBA\xD0\xB2\xD0\xB0 news"sv,
     {{0, 12}, {13, 17}}},
    {"cjk one token per character",
     "\xE4\xB8\xAD\xE6\x96\x87\xE6\x96\xB0\xE9\x97\xBB"sv,
     {{0, 3}, {3, 6}, {6, 9}, {9, 12}}},
    {"cjk between latin",
     "AFP\xE6\x96\xB0\xE9\x97\xBB"
     "AFP"sv,
     {{0, 3}, {3, 6}, {6, 9}, {9, 12}}},
    {"kana",
     "\xE3\x83\x8B\xE3\x83\xA5\xE3\x83\xBC\xE3\x82\xB9"sv,
     {{0, 3}, {3, 6}, {6, 9}, {9, 12}}},
    {"ideographic full stop separates",
     "\xE4\xB8\xAD\xE3\x80\x82\xE6\x96\x87"sv,
     {{0, 3}, {6, 9}}},
    {"emoji is a separator", "hi\xF0\x9F\x98\x80there"sv, {{0, 2}, {6, 11}}},
    {"soft hyphen inside a word",
     "co\xC2\xAD"
     "operation"sv,
     {{0, 13}}},
    {"zero-width joiner inside a word",
     "ab\xE2\x80\x8D"
     "cd"sv,
     {{0, 7}}},
    {"trailing soft hyphen is not part of the word",
     "co\xC2\xAD op"sv,
     {{0, 2}, {5, 7}}},
    {"leading joiner and bom are not part of the word",
     "\xEF\xBB\xBFNews \xE2\x80\x8D"
     "x"sv,
     {{3, 7}, {11, 12}}},
    {"long ascii word", "internationalization is"sv, {{0, 20}, {21, 23}}},
};

TEST(TokenizeTest, RangesIntoOriginalBytes) {
  for (const RangeCase& c : kRangeCases) {
    SCOPED_TRACE(c.name);
    const std::vector<Token> tokens = Tokenize(c.text);
    EXPECT_EQ(Ranges(tokens), c.expected);
    for (const Token& t : tokens) {
      EXPECT_TRUE(IsValidUtf8(c.text.substr(t.begin, t.end - t.begin)));
    }
  }
}

TEST(TokenizeTest, TokenHashIsTheHashOfTheNormalizedOriginalBytes) {
  // The contract of Token::hash, checked on every case above: whichever path
  // (ASCII or Unicode) produced the token, the hash is
  // HashWord(NormalizeWord(original bytes)).
  for (const RangeCase& c : kRangeCases) {
    SCOPED_TRACE(c.name);
    for (const Token& t : Tokenize(c.text)) {
      EXPECT_EQ(
          t.hash,
          HashWord(NormalizeWord(c.text.substr(t.begin, t.end - t.begin))))
          << "token [" << t.begin << ", " << t.end << ")";
    }
  }
}

struct NormalizeCase {
  const char* name;
  std::string_view word;
  std::string_view normalized;
};

const NormalizeCase kNormalizeCases[] = {
    {"ascii lower", "news"sv, "news"sv},
    {"ascii case", "NeWs"sv, "news"sv},
    {"digits", "2017"sv, "2017"sv},
    {"sharp s folds to ss",
     "Stra\xC3\x9F"
     "e"sv,
     "strasse"sv},
    {"capital sharp s folds to ss",
     "STRA\xE1\xBA\x9E"
     "E"sv,
     "strasse"sv},
    {"upper umlaut",
     "\xC3\x9C"
     "BER"sv,
     "\xC3\xBC"
     "ber"sv},
    {"decomposed accent composes", "Cafe\xCC\x81"sv, "caf\xC3\xA9"sv},
    {"fi ligature", "\xEF\xAC\x81le"sv, "file"sv},
    {"fullwidth letters", "\xEF\xBC\xAE\xEF\xBC\xA5\xEF\xBC\xB7\xEF\xBC\xB3"sv,
     "news"sv},
    {"fullwidth digits", "\xEF\xBC\x92\xEF\xBC\x90"sv, "20"sv},
    {"superscript two", "x\xC2\xB2"sv, "x2"sv},
    {"roman numeral", "\xE2\x85\xAB"sv, "xii"sv},
    {"greek final sigma", "\xCE\xA3\xCE\x9F\xCF\x82"sv,
     "\xCF\x83\xCE\xBF\xCF\x83"sv},
    {"cyrillic", "\xD0\x9C\xD0\x9E\xD0\xA1"sv, "\xD0\xBC\xD0\xBE\xD1\x81"sv},
    {"soft hyphen removed",
     "co\xC2\xAD"
     "op"sv,
     "coop"sv},
    {"zero-width joiner removed",
     "ab\xE2\x80\x8D"
     "cd"sv,
     "abcd"sv},
    {"invalid utf-8 unchanged",
     "ab\xFF"
     "cd"sv,
     "ab\xFF"
     "cd"sv},
    {"truncated sequence unchanged", "ab\xC3"sv, "ab\xC3"sv},
};

TEST(NormalizeWordTest, Table) {
  for (const NormalizeCase& c : kNormalizeCases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(NormalizeWord(c.word), c.normalized);
  }
}

struct EqualHashCase {
  const char* name;
  std::string_view a;
  std::string_view b;
};

// Each side is one token; the two tokens must hash the same.
const EqualHashCase kEqualHashCases[] = {
    {"ascii case folding", "News"sv, "news"sv},
    {"ascii all caps", "REUTERS"sv, "reuters"sv},
    {"long ascii word case", "INTERNATIONALIZATION"sv,
     "internationalization"sv},
    {"sharp s vs SS",
     "Stra\xC3\x9F"
     "e"sv,
     "STRASSE"sv},
    {"fi ligature vs fi", "\xEF\xAC\x81le"sv, "file"sv},
    {"fullwidth vs ascii", "\xEF\xBC\xAE\xEF\xBC\xA5\xEF\xBC\xB7\xEF\xBC\xB3"sv,
     "NEWS"sv},
    {"fullwidth digits vs ascii",
     "\xEF\xBC\x92\xEF\xBC\x90\xEF\xBC\x91\xEF\xBC\x97"sv, "2017"sv},
    // An ASCII-looking start takes the Unicode path once a non-ASCII byte
    // follows; the result must match the precomposed word.
    {"decomposed vs precomposed", "Cafe\xCC\x81"sv, "CAF\xC3\x89"sv},
    {"umlaut case",
     "\xC3\x9C"
     "bernahme"sv,
     "\xC3\xBC"
     "BERNAHME"sv},
    // Ignorables are removed, so the Unicode-path word hashes like the
    // ASCII fast-path word.
    {"soft hyphen vs plain",
     "co\xC2\xAD"
     "operation"sv,
     "cooperation"sv},
    {"zwj vs plain",
     "ab\xE2\x80\x8D"
     "cd"sv,
     "abcd"sv},
    {"soft hyphen in a long word", "interna\xC2\xADtionalization"sv,
     "internationalization"sv},
    {"greek case", "\xCE\xA3\xCE\x9F\xCE\xA6\xCE\x99\xCE\x91"sv,
     "\xCF\x83\xCE\xBF\xCF\x86\xCE\xB9\xCE\xB1"sv},
};

TEST(TokenizeTest, EquivalentWordsHashEqual) {
  for (const EqualHashCase& c : kEqualHashCases) {
    SCOPED_TRACE(c.name);
    const std::vector<Token> a = Tokenize(c.a);
    const std::vector<Token> b = Tokenize(c.b);
    ASSERT_EQ(a.size(), 1u);
    ASSERT_EQ(b.size(), 1u);
    EXPECT_EQ(a[0].hash, b[0].hash);
    // The whole word is the token: nothing trimmed, nothing split.
    EXPECT_EQ(a[0].end, c.a.size());
    EXPECT_EQ(b[0].end, c.b.size());
  }
}

TEST(TokenizeTest, DifferentWordsHashDifferently) {
  const std::pair<std::string_view, std::string_view> kPairs[] = {
      {"news"sv, "new"sv},
      {"cafe"sv, "caf\xC3\xA9"sv},  // accents are not stripped
      {"uber"sv,
       "\xC3\xBC"
       "ber"sv},
      {"abcdefghijklmnop"sv, "abcdefghijklmnopq"sv},
      {"\xE4\xB8\xAD"sv, "\xE6\x96\x87"sv},
  };
  for (const auto& [a, b] : kPairs) {
    const std::vector<Token> ta = Tokenize(a);
    const std::vector<Token> tb = Tokenize(b);
    ASSERT_EQ(ta.size(), 1u) << a;
    ASSERT_EQ(tb.size(), 1u) << b;
    EXPECT_NE(ta[0].hash, tb[0].hash) << a << " vs " << b;
  }
}

TEST(TokenizeTest, AsciiFastPathMatchesUnicodePath) {
  // An ASCII word alone takes the fast path. Followed directly by a CJK
  // character (its own token) or by an invalid byte, the same word is
  // re-scanned by the Unicode path. Both must give the same range and hash.
  for (std::string_view word :
       {"a"sv, "News"sv, "REUTERS"sv, "abcdefghijklmnop"sv,
        "ABCDEFGHIJKLMNOPQ"sv, "Internationalization2017"sv}) {
    SCOPED_TRACE(word);
    const std::vector<Token> fast = Tokenize(word);
    const std::string mixed = std::string(word) + "\xE6\x96\xB0";
    const std::vector<Token> slow = Tokenize(mixed);
    ASSERT_EQ(fast.size(), 1u);
    ASSERT_EQ(slow.size(), 2u);
    EXPECT_EQ(slow[0].begin, 0u);
    EXPECT_EQ(slow[0].end, word.size());
    EXPECT_EQ(slow[0].hash, fast[0].hash);
    // And the word followed by an invalid byte, also the Unicode path.
    const std::string invalid = std::string(word) + "\xFF";
    const std::vector<Token> bad = Tokenize(invalid);
    ASSERT_EQ(bad.size(), 1u);
    EXPECT_EQ(bad[0].end, word.size());
    EXPECT_EQ(bad[0].hash, fast[0].hash);
  }
}

TEST(TokenizeTest, CjkTokensAreOneCharacterEach) {
  const std::string_view text =
      "\xE4\xB8\xAD\xE6\x96\x87\xE6\x96\xB0\xE9\x97\xBB";
  const std::vector<Token> tokens = Tokenize(text);
  ASSERT_EQ(tokens.size(), 4u);
  for (size_t k = 0; k < tokens.size(); ++k) {
    EXPECT_EQ(tokens[k].begin, 3 * k);
    EXPECT_EQ(tokens[k].end, 3 * k + 3);
    EXPECT_EQ(tokens[k].hash, HashWord(text.substr(3 * k, 3)));
  }
  EXPECT_NE(tokens[0].hash, tokens[1].hash);
}

struct InvalidCase {
  const char* name;
  std::string_view text;
  std::vector<Range> expected;
  std::vector<std::string_view> normalized;  // expected hashed form per token
};

const InvalidCase kInvalidCases[] = {
    {"lone 0xFF between words",
     "abc\xFF"
     "def"sv,
     {{0, 3}, {4, 7}},
     {"abc"sv, "def"sv}},
    {"lone continuation byte",
     "\x80"
     "abc \x80"sv,
     {{1, 4}},
     {"abc"sv}},
    {"truncated 2-byte at end", "Caf\xC3"sv, {{0, 3}}, {"caf"sv}},
    {"truncated 2-byte then ascii",
     "Caf\xC3 x"sv,
     {{0, 3}, {5, 6}},
     {"caf"sv, "x"sv}},
    {"truncated 3-byte then word",
     "\xE4\xB8"
     "abc"sv,
     {{2, 5}},
     {"abc"sv}},
    {"truncated 4-byte before cjk",
     "\xF0\x9F\x98\xE4\xB8\xAD"sv,
     {{3, 6}},
     {"\xE4\xB8\xAD"sv}},
    {"overlong slash",
     "a\xC0\xAF"
     "b"sv,
     {{0, 1}, {3, 4}},
     {"a"sv, "b"sv}},
    {"overlong 3-byte",
     "a\xE0\x80\xAF"
     "b"sv,
     {{0, 1}, {4, 5}},
     {"a"sv, "b"sv}},
    {"surrogate", "x\xED\xA0\x80y"sv, {{0, 1}, {4, 5}}, {"x"sv, "y"sv}},
    {"above U+10FFFF",
     "x\xF4\x90\x80\x80y"sv,
     {{0, 1}, {5, 6}},
     {"x"sv, "y"sv}},
    {"invalid inside a non-ascii word",
     "\xC3\xBC\xFF\xC3\xBC"sv,
     {{0, 2}, {3, 5}},
     {"\xC3\xBC"sv, "\xC3\xBC"sv}},
    {"invalid after a joiner",
     "ab\xE2\x80\x8D\xFF"
     "cd"sv,
     {{0, 2}, {6, 8}},
     {"ab"sv, "cd"sv}},
    {"only invalid bytes", "\xFF\xFE\xC0\xC1\xF5\xF8"sv, {}, {}},
};

TEST(TokenizeTest, InvalidUtf8IsASeparatorAndKeepsOffsets) {
  for (const InvalidCase& c : kInvalidCases) {
    SCOPED_TRACE(c.name);
    const std::vector<Token> tokens = Tokenize(c.text);
    ASSERT_EQ(Ranges(tokens), c.expected);
    ASSERT_EQ(tokens.size(), c.normalized.size());
    for (size_t k = 0; k < tokens.size(); ++k) {
      EXPECT_EQ(tokens[k].hash, HashWord(c.normalized[k])) << "token " << k;
    }
  }
}

TEST(TokenizeTest, BaseIsAddedAndTokensAreAppended) {
  const std::string_view text = "Caf\xC3\xA9 \xE4\xB8\xAD news";
  const std::vector<Token> plain = Tokenize(text);
  ASSERT_EQ(plain.size(), 3u);
  std::vector<Token> out = {{1, 2, 3}};  // existing content is kept
  Tokenize(text, 1000, &out);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].begin, 1u);
  EXPECT_EQ(out[0].hash, 3u);
  for (size_t k = 0; k < plain.size(); ++k) {
    EXPECT_EQ(out[k + 1].begin, plain[k].begin + 1000);
    EXPECT_EQ(out[k + 1].end, plain[k].end + 1000);
    EXPECT_EQ(out[k + 1].hash, plain[k].hash);
  }
}

// Random text mixing ASCII words, punctuation, multi-byte letters,
// separators, joiners, CJK and raw invalid bytes.
std::string RandomText(std::mt19937_64& rng, size_t pieces) {
  static const std::string_view kPieces[] = {
      "a"sv,
      "Z"sv,
      "7"sv,
      " "sv,
      "."sv,
      "'"sv,
      "\n"sv,
      "-"sv,
      "\xC3\xA9"sv,          // é
      "\xC3\x9F"sv,          // ß
      "\xCC\x81"sv,          // combining acute
      "\xC2\xA0"sv,          // NBSP
      "\xC2\xAD"sv,          // soft hyphen
      "\xE2\x80\x8D"sv,      // ZWJ
      "\xE2\x80\x94"sv,      // em dash
      "\xE2\x80\x9C"sv,      // left double quote
      "\xE4\xB8\xAD"sv,      // CJK
      "\xEF\xAC\x81"sv,      // fi ligature
      "\xEF\xBC\xAE"sv,      // fullwidth N
      "\xF0\x9F\x98\x80"sv,  // emoji
      "\xD0\x9C"sv,          // Cyrillic
      "\xFF"sv,
      "\x80"sv,
      "\xC3"sv,  // invalid / truncated
      "\xE4\xB8"sv,
      "\xF0\x9F"sv,
      "\xC0\xAF"sv,
      "\xED\xA0\x80"sv,
  };
  std::string text;
  std::uniform_int_distribution<size_t> pick(0, std::size(kPieces) - 1);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> coin(0, 9);
  for (size_t k = 0; k < pieces; ++k) {
    if (coin(rng) == 0) {
      text.push_back(static_cast<char>(byte(rng)));  // any byte at all
    } else {
      text += kPieces[pick(rng)];
    }
  }
  return text;
}

TEST(TokenizeTest, DottedAbbreviationsAreOneWord) {
  const std::string text = "U.S. stocks and the US dollar at 3.5 a.m. e.g. now";
  const std::vector<Token> tokens = Tokenize(text);
  std::vector<std::string> words;
  for (const Token& t : tokens) {
    words.push_back(text.substr(t.begin, t.end - t.begin));
  }
  EXPECT_EQ(words, (std::vector<std::string>{"U.S", "stocks", "and", "the",
                                             "US", "dollar", "at", "3", "5",
                                             "a.m", "e.g", "now"}));
  EXPECT_EQ(tokens[0].hash, tokens[4].hash);  // "U.S." is "US"
  EXPECT_EQ(tokens[0].hash, HashWord("us"));
  EXPECT_EQ(NormalizeWord("U.S"), "us");
  EXPECT_EQ(NormalizeWord("J.R.R"), "jrr");
  EXPECT_EQ(NormalizeWord("A.Bc"), "a.bc");  // not an abbreviation

  // Not abbreviations: a word after the dot, an initial before a name, an
  // e-mail address.
  const struct {
    const char* text;
    std::vector<std::string> words;
  } cases[] = {
      {"plan A. The end", {"plan", "A", "The", "end"}},
      {"A. Smith said", {"A", "Smith", "said"}},
      {"mail j.doe@example.org", {"mail", "j", "doe", "example", "org"}},
      {"version 2.x", {"version", "2", "x"}},
      {"Washington, D.C. WASHINGTON", {"Washington", "D.C", "WASHINGTON"}},
  };
  for (const auto& c : cases) {
    std::vector<std::string> got;
    for (const Token& t : Tokenize(c.text)) {
      got.push_back(std::string(c.text).substr(t.begin, t.end - t.begin));
    }
    EXPECT_EQ(got, c.words) << c.text;
  }
}

TEST(TokenizeTest, RandomBytesKeepTheInvariants) {
  std::mt19937_64 rng(20240611);
  size_t total_tokens = 0;
  for (int round = 0; round < 3000; ++round) {
    const std::string text = RandomText(rng, round % 64);
    SCOPED_TRACE(testing::Message() << "round " << round);
    std::vector<Token> tokens;
    Tokenize(text, 0, &tokens);
    total_tokens += tokens.size();
    uint32_t previous_end = 0;
    for (const Token& t : tokens) {
      ASSERT_LT(t.begin, t.end);
      ASSERT_LE(t.end, text.size());
      ASSERT_GE(t.begin, previous_end);  // ordered, non-overlapping
      previous_end = t.end;
      const std::string_view bytes =
          std::string_view(text).substr(t.begin, t.end - t.begin);
      // A token is valid UTF-8, so it starts and ends on character
      // boundaries of the original text.
      ASSERT_TRUE(IsValidUtf8(bytes));
      for (char ch : bytes) {
        const auto u = static_cast<unsigned char>(ch);
        // ASCII inside a token is only ever letters and digits, and the
        // dots of a dotted abbreviation.
        if (u < 0x80 && u != '.') {
          ASSERT_TRUE(std::isalnum(u)) << int{u};
        }
      }
      ASSERT_EQ(t.hash, HashWord(NormalizeWord(bytes)));
    }
    // Every ASCII letter or digit belongs to some token.
    size_t k = 0;
    for (size_t pos = 0; pos < text.size(); ++pos) {
      const auto u = static_cast<unsigned char>(text[pos]);
      if (u >= 0x80 || !std::isalnum(u)) continue;
      while (k < tokens.size() && tokens[k].end <= pos) ++k;
      ASSERT_LT(k, tokens.size()) << "byte " << pos;
      ASSERT_LE(tokens[k].begin, pos) << "byte " << pos;
    }
    // The base shifts every token and changes nothing else.
    std::vector<Token> shifted;
    Tokenize(text, 77, &shifted);
    ASSERT_EQ(shifted.size(), tokens.size());
    for (size_t j = 0; j < tokens.size(); ++j) {
      ASSERT_EQ(shifted[j].begin, tokens[j].begin + 77);
      ASSERT_EQ(shifted[j].end, tokens[j].end + 77);
      ASSERT_EQ(shifted[j].hash, tokens[j].hash);
    }
  }
  EXPECT_GT(total_tokens, 10000u);  // the generator produces real words
}

// Longer texts of whole words, where every word length (up to well past
// 64 bytes), dotted abbreviations and non-ASCII letters and separators meet
// the tokenizer's 64-byte windows at every alignment: shifting the text by
// k bytes shifts its tokens by k and changes nothing else, and no token
// starts or ends between two ASCII letters or digits.
TEST(TokenizeTest, TokensDoNotDependOnWhereTheTextStarts) {
  std::mt19937_64 rng(64);
  static const std::string_view kSeparators[] = {" "sv,        " "sv,
                                                 " "sv,        ", "sv,
                                                 ". "sv,       "\n"sv,
                                                 " - "sv,      "\xE2\x80\x9C"sv,
                                                 "\xC2\xA0"sv, "\xE2\x80\x94"sv,
                                                 "\xFF"sv};
  static const std::string_view kWords[] = {"U.S."sv,
                                            "a.m."sv,
                                            "J.R.R."sv,
                                            "caf\xC3\xA9"sv,
                                            "\xC3\xA9t\xC3\xA9"sv,
                                            "Stra\xC3\x9F"
                                            "e"sv,
                                            "\xE4\xB8\xAD\xE6\x96\x87"sv,
                                            "x.y"sv,
                                            "3.5"sv};
  std::uniform_int_distribution<int> coin(0, 3);
  std::uniform_int_distribution<size_t> length(1, 140);
  std::uniform_int_distribution<size_t> short_length(1, 18);
  std::uniform_int_distribution<int> letter(0, 61);
  size_t total_tokens = 0;
  for (int round = 0; round < 300; ++round) {
    std::string text;
    while (text.size() < 700) {
      if (coin(rng) == 0) {
        text += kWords[rng() % std::size(kWords)];
      } else {
        const size_t n = coin(rng) == 0 ? length(rng) : short_length(rng);
        for (size_t k = 0; k < n; ++k) {
          const int c = letter(rng);
          text.push_back(static_cast<char>(c < 26   ? 'a' + c
                                           : c < 52 ? 'A' + c - 26
                                                    : '0' + c - 52));
        }
      }
      text += kSeparators[rng() % std::size(kSeparators)];
    }
    if (round % 2 == 1) text.pop_back();  // sometimes end inside a word
    const std::vector<Token> tokens = Tokenize(text);
    total_tokens += tokens.size();
    for (const Token& t : tokens) {
      const auto at = [&](size_t pos) {
        return static_cast<unsigned char>(text[pos]);
      };
      const auto alnum = [](unsigned char c) {
        return c < 0x80 && std::isalnum(c);
      };
      if (t.begin > 0) {
        ASSERT_FALSE(alnum(at(t.begin - 1)) && alnum(at(t.begin)))
            << "round " << round << ", token at " << t.begin;
      }
      if (t.end < text.size()) {
        ASSERT_FALSE(alnum(at(t.end - 1)) && alnum(at(t.end)))
            << "round " << round << ", token ending at " << t.end;
      }
      ASSERT_EQ(t.hash, HashWord(NormalizeWord(std::string_view(text).substr(
                            t.begin, t.end - t.begin))));
    }
    for (uint32_t shift = 1; shift <= 70; ++shift) {
      std::string shifted_text(shift, ' ');
      shifted_text += text;
      const std::vector<Token> shifted = Tokenize(shifted_text);
      ASSERT_EQ(shifted.size(), tokens.size())
          << "round " << round << ", shift " << shift;
      for (size_t j = 0; j < tokens.size(); ++j) {
        ASSERT_EQ(shifted[j].begin, tokens[j].begin + shift);
        ASSERT_EQ(shifted[j].end, tokens[j].end + shift);
        ASSERT_EQ(shifted[j].hash, tokens[j].hash);
      }
    }
  }
  EXPECT_GT(total_tokens, 8000u);
}

TEST(TokenizeTest, AppendingASeparatedSuffixDoesNotChangeEarlierTokens) {
  // Tokenization is local: whatever follows a separator cannot change the
  // tokens before it (no state leaks across words, e.g. via thread_local
  // buffers of the Unicode path).
  std::mt19937_64 rng(7);
  for (int round = 0; round < 500; ++round) {
    const std::string head = RandomText(rng, 20);
    const std::string tail = RandomText(rng, 20);
    const std::vector<Token> alone = Tokenize(head + " ");
    const std::vector<Token> joined = Tokenize(head + " " + tail);
    ASSERT_GE(joined.size(), alone.size());
    for (size_t k = 0; k < alone.size(); ++k) {
      ASSERT_EQ(joined[k].begin, alone[k].begin);
      ASSERT_EQ(joined[k].end, alone[k].end);
      ASSERT_EQ(joined[k].hash, alone[k].hash);
    }
  }
}

TEST(TokenizeTest, ConcurrentCallsGiveTheSameTokens) {
  // The Unicode path keeps per-thread buffers; threads must not disturb
  // each other.
  std::mt19937_64 rng(3);
  std::vector<std::string> texts;
  for (int k = 0; k < 200; ++k) texts.push_back(RandomText(rng, 200));
  std::vector<std::vector<Token>> expected;
  for (const std::string& text : texts) expected.push_back(Tokenize(text));
  std::vector<int> failures(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 5; ++round) {
        for (size_t k = 0; k < texts.size(); ++k) {
          const std::vector<Token> tokens = Tokenize(texts[(k + t) % 200]);
          const std::vector<Token>& want = expected[(k + t) % 200];
          bool same = tokens.size() == want.size();
          for (size_t j = 0; same && j < tokens.size(); ++j) {
            same = tokens[j].begin == want[j].begin &&
                   tokens[j].end == want[j].end &&
                   tokens[j].hash == want[j].hash;
          }
          failures[t] += !same;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures, std::vector<int>(4, 0));
}

TEST(TokenizeTest, LongUnicodeWordGrowsTheNormalizerBuffer) {
  // 400 decomposable characters exceed the initial 256-code-point buffer.
  std::string word;
  for (int k = 0; k < 400; ++k) word += "\xC3\x89";  // É
  const std::vector<Token> tokens = Tokenize(word);
  ASSERT_EQ(tokens.size(), 1u);
  EXPECT_EQ(tokens[0].end, word.size());
  std::string folded;
  for (int k = 0; k < 400; ++k) folded += "\xC3\xA9";  // é
  EXPECT_EQ(NormalizeWord(word), folded);
  EXPECT_EQ(tokens[0].hash, HashWord(folded));
  // And a short word afterwards is still normalized correctly.
  EXPECT_EQ(NormalizeWord("\xC3\x89t\xC3\xA9"), "\xC3\xA9t\xC3\xA9");
}

}  // namespace
}  // namespace newsdedup
