// Tests for shingles: counts, order and size sensitivity, word-boundary
// sensitivity ("a bc" vs "ab c"), the whole-sequence hash and exact Jaccard.
#include "newsdedup/shingle.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "newsdedup/tokenize.h"

namespace newsdedup {
namespace {

using std::string_view_literals::operator""sv;

std::vector<uint64_t> Shingles(std::string_view text, int size) {
  std::vector<uint64_t> out;
  ShingleHashes(Tokenize(text), size, &out);
  return out;
}

uint64_t SeqHash(std::string_view text) { return SequenceHash(Tokenize(text)); }

TEST(ShingleHashesTest, CountIsTokensMinusSizePlusOne) {
  const std::string_view text = "one two three four five six seven eight";
  const std::vector<Token> all = Tokenize(text);
  ASSERT_EQ(all.size(), 8u);
  for (size_t n = 0; n <= all.size(); ++n) {
    const absl::Span<const Token> tokens(all.data(), n);
    for (int size = 1; size <= 9; ++size) {
      std::vector<uint64_t> out;
      ShingleHashes(tokens, size, &out);
      const size_t expected = n >= static_cast<size_t>(size) ? n - size + 1 : 0;
      EXPECT_EQ(out.size(), expected) << "n=" << n << " size=" << size;
    }
  }
}

TEST(ShingleHashesTest, InvalidSizeGivesNothing) {
  const std::vector<Token> tokens = Tokenize("a b c");
  for (int size : {0, -1, -100}) {
    std::vector<uint64_t> out;
    ShingleHashes(tokens, size, &out);
    EXPECT_TRUE(out.empty()) << size;
  }
}

TEST(ShingleHashesTest, AppendsAfterExistingContent) {
  std::vector<uint64_t> out = {42};
  ShingleHashes(Tokenize("a b c d"), 2, &out);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0], 42u);
  const std::vector<uint64_t> fresh = Shingles("a b c d", 2);
  EXPECT_EQ(std::vector<uint64_t>(out.begin() + 1, out.end()), fresh);
}

TEST(ShingleHashesTest, WindowHashIsPositionIndependent) {
  // The shingle of "x y z" is the same wherever it appears, whatever the
  // offsets, the case and the punctuation around it.
  const std::vector<uint64_t> a = Shingles("x y z", 3);
  const std::vector<uint64_t> b =
      Shingles("Intro.  \"X, Y\xE2\x80\x94z\" and", 3);
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 3u);  // intro x y | x y z | y z and
  EXPECT_EQ(b[1], a[0]);
  EXPECT_NE(b[0], a[0]);
  EXPECT_NE(b[2], a[0]);
}

TEST(ShingleHashesTest, EveryWindowHashesAsItWouldAlone) {
  // Long runs of windows are hashed several at a time (a vector kernel on
  // some machines) and the rest one by one: each window of every run length
  // must hash as it does on its own, for every shingle size.
  std::mt19937_64 rng(3);
  for (size_t n = 0; n <= 70; ++n) {
    std::vector<Token> tokens(n);
    for (size_t k = 0; k < n; ++k) {
      tokens[k] = {static_cast<uint32_t>(2 * k),
                   static_cast<uint32_t>(2 * k + 1), rng()};
    }
    for (int size = 1; size <= 5; ++size) {
      std::vector<uint64_t> all;
      ShingleHashes(tokens, size, &all);
      ASSERT_EQ(all.size(), n >= static_cast<size_t>(size) ? n - size + 1 : 0);
      for (size_t k = 0; k < all.size(); ++k) {
        std::vector<uint64_t> alone;
        ShingleHashes(absl::Span<const Token>(tokens).subspan(k, size), size,
                      &alone);
        ASSERT_EQ(alone.size(), 1u);
        ASSERT_EQ(all[k], alone[0])
            << "n " << n << ", size " << size << ", window " << k;
      }
    }
  }
}

TEST(ShingleHashesTest, RepeatedWindowsRepeat) {
  const std::vector<uint64_t> s = Shingles("a b a b a b", 2);
  ASSERT_EQ(s.size(), 5u);
  EXPECT_EQ(s[0], s[2]);
  EXPECT_EQ(s[0], s[4]);
  EXPECT_EQ(s[1], s[3]);
  EXPECT_NE(s[0], s[1]);  // "a b" vs "b a"
}

struct PairCase {
  const char* name;
  std::string_view a;
  std::string_view b;
};

// Texts of three words whose single 3-shingles must differ.
const PairCase kDifferentShingles[] = {
    {"swapped first two words", "syria demands withdrawal"sv,
     "demands syria withdrawal"sv},
    {"swapped last two words", "syria demands withdrawal"sv,
     "syria withdrawal demands"sv},
    {"reversed", "a b c"sv, "c b a"sv},
    {"rotated", "a b c"sv, "b c a"sv},
    {"word boundary moved", "a bc d"sv, "ab c d"sv},
    {"repeated word", "a a b"sv, "a b b"sv},
    {"one word changed", "the stock rose"sv, "the stock fell"sv},
};

TEST(ShingleHashesTest, OrderAndBoundarySensitive) {
  for (const PairCase& c : kDifferentShingles) {
    SCOPED_TRACE(c.name);
    const std::vector<uint64_t> a = Shingles(c.a, 3);
    const std::vector<uint64_t> b = Shingles(c.b, 3);
    ASSERT_EQ(a.size(), 1u);
    ASSERT_EQ(b.size(), 1u);
    EXPECT_NE(a[0], b[0]);
  }
  // Two-word windows: "a bc" vs "ab c".
  EXPECT_NE(Shingles("a bc", 2), Shingles("ab c", 2));
}

TEST(ShingleHashesTest, DependsOnSize) {
  // No shingle of one size equals a shingle of another size, across all
  // windows of a text (a 1-shingle of "a" must not equal a 2-shingle, etc.).
  const std::string_view text =
      "the quick brown fox jumps over the lazy dog and the quick cat";
  std::set<uint64_t> seen;
  size_t total = 0;
  for (int size = 1; size <= 5; ++size) {
    std::vector<uint64_t> s = Shingles(text, size);
    SortedUnique(&s);
    total += s.size();
    seen.insert(s.begin(), s.end());
  }
  EXPECT_EQ(seen.size(), total);
}

TEST(ShingleHashesTest, NoCollisionsAcrossManyWindows) {
  // 50000 random 4-word windows over a 1000-word vocabulary: the 64-bit
  // hashes of distinct windows must all differ.
  std::mt19937_64 rng(5);
  std::uniform_int_distribution<int> word(0, 999);
  std::string text;
  for (int k = 0; k < 50000; ++k) text += "w" + std::to_string(word(rng)) + " ";
  const std::vector<Token> tokens = Tokenize(text);
  std::vector<uint64_t> hashes;
  ShingleHashes(tokens, 4, &hashes);
  std::set<std::vector<uint64_t>> windows;
  for (size_t i = 0; i + 4 <= tokens.size(); ++i) {
    windows.insert({tokens[i].hash, tokens[i + 1].hash, tokens[i + 2].hash,
                    tokens[i + 3].hash});
  }
  SortedUnique(&hashes);
  EXPECT_EQ(hashes.size(), windows.size());
}

TEST(SortedUniqueTest, Table) {
  struct Case {
    std::vector<uint64_t> in;
    std::vector<uint64_t> out;
  };
  const Case cases[] = {
      {{}, {}},
      {{7}, {7}},
      {{3, 1, 3, 2, 1}, {1, 2, 3}},
      {{5, 5, 5, 5}, {5}},
      {{1, 2, 3}, {1, 2, 3}},
      {{~uint64_t{0}, 0, ~uint64_t{0}, 1}, {0, 1, ~uint64_t{0}}},
  };
  for (const Case& c : cases) {
    std::vector<uint64_t> v = c.in;
    SortedUnique(&v);
    EXPECT_EQ(v, c.out);
  }
}

// The 32-bit sets (fingerprints) go through Highway's vectorized sort:
// every size from the sorting networks' to the quicksort's, with repeats,
// against std::set.
TEST(SortedUniqueTest, FingerprintSetsOfEverySize) {
  std::mt19937 rng(11);
  for (const size_t n :
       {size_t{0}, size_t{1}, size_t{2}, size_t{7}, size_t{31}, size_t{190},
        size_t{257}, size_t{1000}, size_t{20000}}) {
    for (const uint32_t range : {uint32_t{1}, uint32_t{50}, ~uint32_t{0}}) {
      std::vector<uint32_t> v(n);
      for (uint32_t& x : v) x = static_cast<uint32_t>(rng()) % range;
      const std::set<uint32_t> expected(v.begin(), v.end());
      SortedUnique(&v);
      EXPECT_EQ(v, std::vector<uint32_t>(expected.begin(), expected.end()))
          << "n " << n << ", range " << range;
    }
  }
}

// Texts equal as normalized word sequences.
const PairCase kEqualSequences[] = {
    {"case", "Syria demands withdrawal"sv, "SYRIA DEMANDS WITHDRAWAL"sv},
    {"punctuation", "Syria demands withdrawal."sv,
     "\xE2\x80\x9CSyria \xE2\x80\x94 demands, withdrawal!\xE2\x80\x9D"sv},
    {"spacing", "Syria demands withdrawal"sv,
     "  Syria\n\ndemands\xC2\xA0\t withdrawal  "sv},
    {"unicode normalization",
     "Stra\xC3\x9F"
     "e Caf\xC3\xA9 \xEF\xAC\x81le"sv,
     "STRASSE cafe\xCC\x81 FILE"sv},
    {"empty vs punctuation only", ""sv, " -- ... "sv},
};

TEST(SequenceHashTest, EqualForTextsThatNormalizeEqually) {
  for (const PairCase& c : kEqualSequences) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(SeqHash(c.a), SeqHash(c.b));
  }
}

// Texts that differ as word sequences.
const PairCase kDifferentSequences[] = {
    {"reordered", "Syria demands withdrawal"sv, "demands Syria withdrawal"sv},
    {"word boundary", "a bc"sv, "ab c"sv},
    {"missing word", "a b c"sv, "a b"sv},
    {"repeated word", "a b"sv, "a a b"sv},
    {"extra trailing word", "a"sv, "a a"sv},
    {"empty vs one word", ""sv, "a"sv},
    {"accent kept", "cafe"sv, "caf\xC3\xA9"sv},
};

TEST(SequenceHashTest, DiffersForDifferentWordSequences) {
  for (const PairCase& c : kDifferentSequences) {
    SCOPED_TRACE(c.name);
    EXPECT_NE(SeqHash(c.a), SeqHash(c.b));
  }
}

struct JaccardCase {
  const char* name;
  std::vector<uint64_t> a;
  std::vector<uint64_t> b;
  double expected;
};

TEST(ExactJaccardTest, Table) {
  const JaccardCase cases[] = {
      {"half", {1, 2, 3}, {2, 3, 4}, 0.5},
      {"both empty", {}, {}, 1.0},
      {"one empty", {}, {1, 2}, 0.0},
      {"other empty", {1}, {}, 0.0},
      {"identical", {1, 5, 9}, {1, 5, 9}, 1.0},
      {"disjoint", {1, 3, 5}, {2, 4, 6}, 0.0},
      {"subset", {1, 2}, {1, 2, 3, 4}, 0.5},
      {"one common of five", {1, 2, 3}, {3, 4, 5}, 0.2},
      {"extreme values",
       {0, ~uint64_t{0}},
       {0, 1, ~uint64_t{0} - 1, ~uint64_t{0}},
       0.5},
  };
  for (const JaccardCase& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_DOUBLE_EQ(ExactJaccard(c.a, c.b), c.expected);
    EXPECT_DOUBLE_EQ(ExactJaccard(c.b, c.a), c.expected);  // symmetric
  }
}

TEST(ExactJaccardTest, MatchesSetIntersectionOnRandomSets) {
  std::mt19937_64 rng(17);
  for (int round = 0; round < 200; ++round) {
    // Small universe so the sets overlap.
    std::uniform_int_distribution<uint64_t> value(0, 60 + round);
    std::vector<uint64_t> a, b;
    for (int k = 0; k < round % 50; ++k) a.push_back(value(rng));
    for (int k = 0; k < (round * 7) % 50; ++k) b.push_back(value(rng));
    SortedUnique(&a);
    SortedUnique(&b);
    std::vector<uint64_t> inter, uni;
    std::set_intersection(a.begin(), a.end(), b.begin(), b.end(),
                          std::back_inserter(inter));
    std::set_union(a.begin(), a.end(), b.begin(), b.end(),
                   std::back_inserter(uni));
    const double expected =
        uni.empty() ? 1.0 : static_cast<double>(inter.size()) / uni.size();
    EXPECT_DOUBLE_EQ(ExactJaccard(a, b), expected) << "round " << round;
  }
}

TEST(ExactJaccardTest, OneChangedWordInAParagraph) {
  // DESIGN.md: one changed word in a 24-word paragraph gives Jaccard 0.60
  // with 5-word shingles: 5 of the 20 shingles contain the word, so 15 are
  // shared and the union has 25.
  std::string a, b;
  for (int k = 0; k < 24; ++k) {
    a += "w" + std::to_string(k) + " ";
    b += (k == 12 ? std::string("changed") : "w" + std::to_string(k)) + " ";
  }
  std::vector<uint64_t> sa = Shingles(a, 5);
  std::vector<uint64_t> sb = Shingles(b, 5);
  SortedUnique(&sa);
  SortedUnique(&sb);
  ASSERT_EQ(sa.size(), 20u);
  ASSERT_EQ(sb.size(), 20u);
  EXPECT_DOUBLE_EQ(ExactJaccard(sa, sb), 15.0 / 25.0);
}

}  // namespace
}  // namespace newsdedup
