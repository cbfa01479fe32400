// Tests for paragraph segmentation: blank lines, hard-wrapped wire copy,
// single newlines after a sentence, double spaces between run-together
// paragraphs, the options that turn those rules off, trimming of ASCII and
// Unicode whitespace, and a randomized check that ranges stay on character
// boundaries and no text is lost.
#include "newsdedup/segment.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <ostream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace newsdedup {

// Lets gtest print ranges in failure messages.
void PrintTo(const ByteRange& r, std::ostream* os) {
  *os << "[" << r.begin << ", " << r.end << ")";
}

namespace {

using std::string_view_literals::operator""sv;

// The paragraphs as strings: readable expectations that also pin the
// offsets (each expected string must be found at the reported range).
std::vector<std::string> Texts(std::string_view text,
                               const std::vector<ByteRange>& ranges) {
  std::vector<std::string> out;
  for (const ByteRange& r : ranges) {
    out.emplace_back(text.substr(r.begin, r.end - r.begin));
  }
  return out;
}

SegmentOptions Options(bool split_lines, bool split_double_space) {
  SegmentOptions options;
  options.split_lines = split_lines;
  options.split_double_space = split_double_space;
  return options;
}

TEST(SegmentTest, HeaderExample) {
  EXPECT_EQ(SegmentParagraphs("One.\n\nTwo.\n", {}),
            (std::vector<ByteRange>{{0, 4}, {6, 10}}));
}

TEST(SegmentTest, DefaultOptions) {
  const SegmentOptions options;
  EXPECT_TRUE(options.split_lines);
  EXPECT_TRUE(options.split_double_space);
}

struct SegmentCase {
  const char* name;
  std::string_view text;
  SegmentOptions options;
  std::vector<std::string> expected;
};

const SegmentOptions kAll = Options(true, true);
const SegmentOptions kNoLines = Options(false, true);
const SegmentOptions kNoDouble = Options(true, false);
const SegmentOptions kNone = Options(false, false);

const SegmentCase kCases[] = {
    // Empty and whitespace-only texts.
    {"empty", ""sv, kAll, {}},
    {"spaces only", "   "sv, kAll, {}},
    {"whitespace and blank lines only",
     " \n\n\t\r\n\xC2\xA0\n\xE3\x80\x80 "sv,
     kAll,
     {}},
    // Blank lines.
    {"blank line splits",
     "First para\nstill first\n\nSecond"sv,
     kAll,
     {"First para\nstill first", "Second"}},
    {"blank line with spaces splits",
     "One\n  \t \nTwo"sv,
     kNone,
     {"One", "Two"}},
    {"blank line with nbsp splits",
     "One\n\xC2\xA0\nTwo"sv,
     kNone,
     {"One", "Two"}},
    {"crlf blank line splits", "One\r\n\r\nTwo\r\n"sv, kNone, {"One", "Two"}},
    {"many blank lines", "\n\n\nOne\n\n\n\nTwo\n\n\n"sv, kNone, {"One", "Two"}},
    // Hard-wrapped wire copy is joined.
    {"reuters wrap mid-sentence",
     "Analysts raised their stock price \ntargets on Monday."sv,
     kAll,
     {"Analysts raised their stock price \ntargets on Monday."}},
    {"wrap after comma",
     "In Paris,\nFrance, officials said"sv,
     kAll,
     {"In Paris,\nFrance, officials said"}},
    {"wrap after closing bracket without period",
     "NEW YORK (Reuters)\n- Shares"sv,
     kAll,
     {"NEW YORK (Reuters)\n- Shares"}},
    // A single newline after a sentence ends a paragraph.
    {"newline after period",
     "He said.\nThe company"sv,
     kAll,
     {"He said.", "The company"}},
    {"newline after question mark",
     "Why?\nBecause"sv,
     kAll,
     {"Why?", "Because"}},
    {"newline after exclamation", "Stop!\nNow"sv, kAll, {"Stop!", "Now"}},
    {"newline after colon",
     "He said:\nThe plan"sv,
     kAll,
     {"He said:", "The plan"}},
    {"newline after period and quote",
     "He said \"no.\"\nNext"sv,
     kAll,
     {"He said \"no.\"", "Next"}},
    {"newline after period and curly quote",
     "He said \xE2\x80\x9Cno.\xE2\x80\x9D\nNext"sv,
     kAll,
     {"He said \xE2\x80\x9Cno.\xE2\x80\x9D", "Next"}},
    {"newline after period and curly apostrophe",
     "It\xE2\x80\x99s \xE2\x80\x98over.\xE2\x80\x99\nNext"sv,
     kAll,
     {"It\xE2\x80\x99s \xE2\x80\x98over.\xE2\x80\x99", "Next"}},
    {"newline after period and bracket",
     "(See above.)\nNext"sv,
     kAll,
     {"(See above.)", "Next"}},
    {"trailing spaces before newline",
     "He said.  \t\nNext"sv,
     kAll,
     {"He said.", "Next"}},
    {"crlf after period", "He said.\r\nNext\r\n"sv, kAll, {"He said.", "Next"}},
    {"nbsp before newline after period",
     "He said.\xC2\xA0\nNext"sv,
     kAll,
     {"He said.", "Next"}},
    {"em space and nbsp before newline",
     "He said.\xE2\x80\x83\xC2\xA0 \nNext"sv,
     kAll,
     {"He said.", "Next"}},
    {"nbsp before newline without period",
     "stock price\xC2\xA0\ntargets"sv,
     kAll,
     {"stock price\xC2\xA0\ntargets"}},
    {"split_lines off joins",
     "He said.\nThe company"sv,
     kNoLines,
     {"He said.\nThe company"}},
    // Two spaces after a sentence end paragraphs run together.
    {"double space after period",
     "leader.  Shares rose"sv,
     kAll,
     {"leader.", "Shares rose"}},
    {"three spaces",
     "leader.   Shares rose"sv,
     kAll,
     {"leader.", "Shares rose"}},
    {"double space before digit",
     "rose.  2017 was"sv,
     kAll,
     {"rose.", "2017 was"}},
    {"double space before quote",
     "said.  \"We will\""sv,
     kAll,
     {"said.", "\"We will\""}},
    {"double space before curly quote",
     "said.  \xE2\x80\x9CWe will\xE2\x80\x9D"sv,
     kAll,
     {"said.", "\xE2\x80\x9CWe will\xE2\x80\x9D"}},
    {"double space before non-ascii capital",
     "said.  \xC3\x9C"
     "ber"sv,
     kAll,
     {"said.",
      "\xC3\x9C"
      "ber"}},
    {"double space after quoted sentence",
     "he said.\"  Shares"sv,
     kAll,
     {"he said.\"", "Shares"}},
    {"dateline keeps its double space",
     "NEW YORK  (Reuters) - Shares rose"sv,
     kAll,
     {"NEW YORK  (Reuters) - Shares rose"}},
    {"double space before lower case",
     "e.g.  the market"sv,
     kAll,
     {"e.g.  the market"}},
    {"single space after period",
     "leader. Shares rose"sv,
     kAll,
     {"leader. Shares rose"}},
    {"tabs are not the double-space rule",
     "leader.\t\tShares"sv,
     kAll,
     {"leader.\t\tShares"}},
    {"double space then newline",
     "leader.  \nshares"sv,
     kAll,
     {"leader.", "shares"}},
    {"double space in a later line",
     "Wrapped\nline.  Next one"sv,
     kAll,
     {"Wrapped\nline.", "Next one"}},
    {"split_double_space off",
     "leader.  Shares rose"sv,
     kNoDouble,
     {"leader.  Shares rose"}},
    {"both off",
     "He said.\nIt rose.  Shares\n\nNext"sv,
     kNone,
     {"He said.\nIt rose.  Shares", "Next"}},
    {"both on",
     "He said.\nIt rose.  Shares\n\nNext"sv,
     kAll,
     {"He said.", "It rose.", "Shares", "Next"}},
    // Trimming.
    {"ascii trim", "  \t Hello world \r\n"sv, kAll, {"Hello world"}},
    {"nbsp trim", "\xC2\xA0Hello\xC2\xA0\xC2\xA0"sv, kAll, {"Hello"}},
    {"unicode space trim",
     "\xE3\x80\x80\xE2\x80\x83Hello\xE2\x80\xAF\xE2\x81\x9F\xE2\x80\x8A"sv,
     kAll,
     {"Hello"}},
    {"inner whitespace kept", "a\xC2\xA0 b"sv, kAll, {"a\xC2\xA0 b"}},
    {"non-space multibyte ending kept", "caf\xC3\xA9"sv, kAll, {"caf\xC3\xA9"}},
    {"cjk ending kept",
     "\xE4\xB8\xAD\xE6\x96\x87"sv,
     kAll,
     {"\xE4\xB8\xAD\xE6\x96\x87"}},
};

TEST(SegmentTest, Table) {
  for (const SegmentCase& c : kCases) {
    SCOPED_TRACE(c.name);
    const std::vector<ByteRange> ranges = SegmentParagraphs(c.text, c.options);
    EXPECT_EQ(Texts(c.text, ranges), c.expected);
  }
}

TEST(SegmentTest, ExactOffsets) {
  // Texts() above pins contents; here the offsets themselves are pinned.
  const std::string_view text =
      "\xC2\xA0 Headline\n\nHe said.\nStock price\ntargets.  Shares \r\n";
  // "\xC2\xA0 " = 3 bytes, "Headline" [3, 11), "\n\n", "He said." [13, 21),
  // "\n", "Stock price\ntargets." [22, 42), "  ", "Shares" [44, 50).
  EXPECT_EQ(SegmentParagraphs(text, {}),
            (std::vector<ByteRange>{{3, 11}, {13, 21}, {22, 42}, {44, 50}}));
}

// The segmenter skips plain bytes 16 at a time: every break must be seen
// wherever it falls in such a block, and nothing else may break.
TEST(SegmentTest, BreaksFoundAtEveryOffset) {
  const std::string filler =
      "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu "
      "xi omicron pi rho sigma tau";
  struct Break {
    std::string_view separator;
    bool splits;
  };
  const Break kBreaks[] = {
      {"\n\n"sv, true},
      {"  "sv, true},
      {"\n"sv, true},
      {" \n"sv, true},
      {"\t\n\r\n"sv, true},
      {" "sv, false},
      {"\xC2\xA0"sv, false},
      {"\xE2\x80\x83"sv, false},
      {"\xC3\xA9 "sv, false},
      {"  \n\n   "sv, true},
      {"\f"sv, false},
      {"\v"sv, false},
      {"\xE3\x80\x80"sv, false},
      {"\n\f\v\n"sv, true},
  };
  for (size_t offset = 0; offset <= 40; ++offset) {
    for (const Break& b : kBreaks) {
      const std::string first = filler.substr(0, offset) + "end.";
      const std::string second =
          "Second paragraph, long enough to fill a "
          "block or two of bytes.";
      const std::string text =
          first + std::string(b.separator) + second + filler;
      SCOPED_TRACE(absl::StrCat("offset ", offset, ", separator ",
                                absl::CEscape(std::string(b.separator))));
      const std::vector<std::string> got =
          Texts(text, SegmentParagraphs(text, {}));
      if (b.splits) {
        EXPECT_EQ(got, (std::vector<std::string>{first, second + filler}));
      } else {
        EXPECT_EQ(got, std::vector<std::string>{text});
      }
    }
  }
}

bool IsContinuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// Whitespace as the segmenter trims it, at p[i]: its length, or 0.
size_t SpaceLength(std::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v')
    return 1;
  for (std::string_view space :
       {"\xC2\xA0"sv, "\xE2\x80\x80"sv, "\xE2\x80\x83"sv, "\xE2\x80\x8A"sv,
        "\xE2\x80\xAF"sv, "\xE2\x81\x9F"sv, "\xE3\x80\x80"sv}) {
    if (s.substr(i, space.size()) == space) return space.size();
  }
  return 0;
}

TEST(SegmentTest, RandomTextsKeepTheInvariants) {
  static const std::string_view kPieces[] = {
      "word"sv,
      "Word"sv,
      "7"sv,
      " "sv,
      "  "sv,
      "\n"sv,
      "\n\n"sv,
      "\r\n"sv,
      "\t"sv,
      "."sv,
      "?"sv,
      ":"sv,
      ","sv,
      "\""sv,
      ")"sv,
      "("sv,
      "\xC2\xA0"sv,      // NBSP
      "\xE3\x80\x80"sv,  // ideographic space
      "\xE2\x80\x83"sv,  // em space
      "\xE2\x80\x9D"sv,  // closing curly quote
      "\xE2\x80\x9C"sv,  // opening curly quote
      "\xC3\xA9"sv,      // é
      "\xC3\x9C"sv,      // Ü
      "\xE4\xB8\xAD"sv,  // CJK
      "\xF0\x9F\x98\x80"sv,
  };
  std::mt19937_64 rng(12345);
  std::uniform_int_distribution<size_t> pick(0, std::size(kPieces) - 1);
  size_t total = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string text;
    const int pieces = round % 80;
    for (int k = 0; k < pieces; ++k) text += kPieces[pick(rng)];
    SCOPED_TRACE(testing::Message() << "round " << round);
    for (const SegmentOptions& options : {kAll, kNoLines, kNoDouble, kNone}) {
      const std::vector<ByteRange> ranges = SegmentParagraphs(text, options);
      total += ranges.size();
      uint32_t previous_end = 0;
      for (const ByteRange& r : ranges) {
        ASSERT_LT(r.begin, r.end);
        ASSERT_LE(r.end, text.size());
        ASSERT_GE(r.begin, previous_end);
        previous_end = r.end;
        // On character boundaries (the input is valid UTF-8).
        ASSERT_FALSE(IsContinuation(text[r.begin]));
        if (r.end < text.size()) {
          ASSERT_FALSE(IsContinuation(text[r.end]));
        }
        // Trimmed: neither end is whitespace.
        ASSERT_EQ(SpaceLength(text, r.begin), 0u);
        for (size_t len : {1, 2, 3}) {
          if (r.end - r.begin >= len) {
            ASSERT_NE(SpaceLength(text, r.end - len), len)
                << "ends with whitespace";
          }
        }
        // No blank line inside a paragraph.
        const std::string_view para =
            std::string_view(text).substr(r.begin, r.end - r.begin);
        size_t nl = para.find('\n');
        while (nl != std::string_view::npos) {
          size_t k = nl + 1;
          while (k < para.size() && para[k] != '\n') {
            const size_t len = SpaceLength(para, k);
            if (len == 0) break;
            k += len;
          }
          ASSERT_FALSE(k < para.size() && para[k] == '\n')
              << "blank line inside a paragraph";
          nl = para.find('\n', nl + 1);
        }
      }
      // Nothing is lost: every byte outside the paragraphs is whitespace.
      size_t pos = 0;
      size_t k = 0;
      while (pos < text.size()) {
        if (k < ranges.size() && pos == ranges[k].begin) {
          pos = ranges[k].end;
          ++k;
          continue;
        }
        const size_t len = SpaceLength(text, pos);
        ASSERT_NE(len, 0u) << "non-whitespace byte " << pos << " dropped";
        pos += len;
      }
      ASSERT_EQ(k, ranges.size());
    }
  }
  EXPECT_GT(total, 10000u);
}

TEST(SegmentTest, ArbitraryBytesStayInBounds) {
  // Invalid UTF-8 and truncated spaces at the end of the text: no crash, and
  // the ranges stay ordered, non-empty and inside the text.
  std::mt19937_64 rng(777);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> special(0, 9);
  static const char kBytes[] = {' ',    '\n',   '.',    'A',    '\xC2',
                                '\xA0', '\xE2', '\x80', '\xE3', '\x9D'};
  for (int round = 0; round < 3000; ++round) {
    std::string text;
    for (int k = 0; k < round % 50; ++k) {
      text.push_back(special(rng) < 7 ? kBytes[special(rng)]
                                      : static_cast<char>(byte(rng)));
    }
    for (const SegmentOptions& options : {kAll, kNone}) {
      uint32_t previous_end = 0;
      for (const ByteRange& r : SegmentParagraphs(text, options)) {
        ASSERT_LT(r.begin, r.end) << round;
        ASSERT_LE(r.end, text.size()) << round;
        ASSERT_GE(r.begin, previous_end) << round;
        previous_end = r.end;
      }
    }
  }
}

TEST(SegmentTest, MoreRulesNeverMergeParagraphs) {
  // Turning a rule on only adds split points: every paragraph boundary found
  // with fewer rules is still a boundary with more.
  std::mt19937_64 rng(99);
  static const std::string_view kPieces[] = {
      "Word"sv, "word"sv, " "sv, "  "sv, "\n"sv, "\n\n"sv, "."sv, "\""sv,
  };
  std::uniform_int_distribution<size_t> pick(0, std::size(kPieces) - 1);
  for (int round = 0; round < 2000; ++round) {
    std::string text;
    for (int k = 0; k < 40; ++k) text += kPieces[pick(rng)];
    const std::vector<ByteRange> all = SegmentParagraphs(text, kAll);
    for (const SegmentOptions& fewer : {kNoLines, kNoDouble, kNone}) {
      for (const ByteRange& r : SegmentParagraphs(text, fewer)) {
        // r's ends must coincide with paragraph ends in `all`.
        bool begin_found = false;
        bool end_found = false;
        for (const ByteRange& a : all) {
          begin_found |= a.begin == r.begin;
          end_found |= a.end == r.end;
        }
        ASSERT_TRUE(begin_found && end_found) << text;
      }
    }
  }
}

}  // namespace
}  // namespace newsdedup
