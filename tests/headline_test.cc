// Tests for headlines: decorations stripped by HeadlineCore (wire slugs,
// section labels, sources, site suffixes) with exact byte ranges, and the
// hyphens and abbreviations it must leave alone; candidate site tails; the
// one-word-edit test checked against a Levenshtein reference; deletion keys
// (one edit always shares a key, two edits share none); word-set Jaccard.
// All headlines are invented.
#include "newsdedup/headline.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <ostream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "newsdedup/hash.h"

namespace newsdedup {

// Lets gtest print ranges in failure messages.
void PrintTo(const ByteRange& r, std::ostream* os) {
  *os << "[" << r.begin << ", " << r.end << ")";
}

namespace {

using std::string_view_literals::operator""sv;

// The word hashes of a space-separated string.
std::vector<uint64_t> Words(std::string_view text) {
  std::vector<uint64_t> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find(' ', pos);
    if (end == std::string_view::npos) end = text.size();
    if (end > pos) out.push_back(HashWord(text.substr(pos, end - pos)));
    pos = end + 1;
  }
  return out;
}

// The expected range of `part` inside `text`, which must contain it exactly
// once (so that the text pins the offsets); {0, 0} for an empty part.
ByteRange RangeOf(std::string_view text, std::string_view part) {
  if (part.empty()) return {0, 0};
  const size_t at = text.find(part);
  EXPECT_NE(at, std::string_view::npos) << "bad case: " << part;
  EXPECT_EQ(at, text.rfind(part)) << "ambiguous case: " << part;
  return {static_cast<uint32_t>(at), static_cast<uint32_t>(at + part.size())};
}

std::string_view Slice(std::string_view text, ByteRange r) {
  return text.substr(r.begin, r.end - r.begin);
}

struct TitleCase {
  std::string_view title;
  std::string_view expected;  // the core or tail text; empty: {0, 0}
};

TEST(HeadlineCoreTest, HeaderExample) {
  const std::string_view title = "UPDATE 2-Oil falls on supply data - Reuters";
  EXPECT_EQ(HeadlineCore(title), (ByteRange{9, 33}));
}

TEST(HeadlineCoreTest, StripsDecorations) {
  const TitleCase cases[] = {
      // Wire slugs.
      {"UPDATE 2-Harbour pier collapses in storm"sv,
       "Harbour pier collapses in storm"sv},
      {"REFILE-UPDATE 1-Ferry operator cuts summer timetable"sv,
       "Ferry operator cuts summer timetable"sv},
      {"EXCLUSIVE-Harbour operator weighs sale of ferries"sv,
       "Harbour operator weighs sale of ferries"sv},
      {"REFILE-UPDATE 1-EXCLUSIVE-Harbour operator weighs sale"sv,
       "Harbour operator weighs sale"sv},
      {"CORRECTED-Marlow council delays pier vote"sv,
       "Marlow council delays pier vote"sv},
      // Section labels.
      {"Opinion | Why the old pier fell"sv, "Why the old pier fell"sv},
      {"Analysis: What the pier collapse means for ferries"sv,
       "What the pier collapse means for ferries"sv},
      {"LIVE: Storm surge hits the coast"sv, "Storm surge hits the coast"sv},
      {"Watch: Divers inspect the broken pier"sv,
       "Divers inspect the broken pier"sv},
      {"Kommentar: Der Anleger muss neu gebaut werden"sv,
       "Der Anleger muss neu gebaut werden"sv},
      // Site suffixes and sources.
      {"Harbour pier collapses in storm - Reuters"sv,
       "Harbour pier collapses in storm"sv},
      {"Harbour pier collapses in storm | BBC News"sv,
       "Harbour pier collapses in storm"sv},
      {"Harbour pier collapses in storm \xE2\x80\x93 Reuters"sv,
       "Harbour pier collapses in storm"sv},
      {"Harbour pier collapses in storm \xE2\x80\x94 BBC News"sv,
       "Harbour pier collapses in storm"sv},
      {"Harbour pier collapses in storm (AP)"sv,
       "Harbour pier collapses in storm"sv},
      {"Comet to pass close to Earth in March (SPACE.com)"sv,
       "Comet to pass close to Earth in March"sv},
      // Combinations.
      {"UPDATE 2-Oil falls on supply data - Reuters"sv,
       "Oil falls on supply data"sv},
      {"UPDATE 2-Pier collapses in storm (AP) - Reuters"sv,
       "Pier collapses in storm"sv},
      {"Analysis: Why the pier fell | BBC News"sv, "Why the pier fell"sv},
      {"LIVE: Storm hits the coast (AP)"sv, "Storm hits the coast"sv},
      // Surrounding whitespace is trimmed.
      {"  UPDATE 2-Oil falls on supply data  "sv, "Oil falls on supply data"sv},
      {"\tHarbour pier collapses \n"sv, "Harbour pier collapses"sv},
      // Non-ASCII text keeps its bytes.
      {"Analyse: F\xC3\xA4hre f\xC3\xA4hrt wieder - SPIEGEL ONLINE"sv,
       "F\xC3\xA4hre f\xC3\xA4hrt wieder"sv},
  };
  for (const TitleCase& c : cases) {
    const ByteRange got = HeadlineCore(c.title);
    EXPECT_EQ(got, RangeOf(c.title, c.expected))
        << c.title << " -> \"" << Slice(c.title, got) << "\"";
  }
}

TEST(HeadlineCoreTest, LeavesUndecoratedTitlesAlone) {
  const std::string_view titles[] = {
      "AIDS-related deaths fall"sv,
      "U.S.-China talks resume"sv,
      "Well-known pier reopens after repairs"sv,
      "COVID-19 cases rise in port towns"sv,
      "X-ray scans find cracks in the pier"sv,
      "Update on pier repairs expected soon"sv,
      "Live music returns to the pier"sv,
      "Live-streamed council meeting draws thousands"sv,
      "Opinionated mayor faces recall vote"sv,
      // An unknown site name is a candidate tail, not a known decoration.
      "Harbour pier collapses - Marlow Evening Post"sv,
      // A colon without a space before it is not a separator.
      "Ferry fares: what changes in May"sv,
      "Pier collapses in storm"sv,
      ""sv,
  };
  for (std::string_view title : titles) {
    EXPECT_EQ(HeadlineCore(title),
              (ByteRange{0, static_cast<uint32_t>(title.size())}))
        << title;
  }
}

TEST(HeadlineCoreTest, DecorationOnlyTitlesAreKept) {
  // Stripping would leave nothing: the title is its own core.
  const std::string_view titles[] = {"UPDATE 2-"sv, "EXCLUSIVE-"sv,
                                     "(AP)"sv,      "(SPACE.com)"sv,
                                     "Opinion |"sv, "LIVE:"sv};
  for (std::string_view title : titles) {
    EXPECT_EQ(HeadlineCore(title),
              (ByteRange{0, static_cast<uint32_t>(title.size())}))
        << title;
  }
}

TEST(HeadlineTailTest, HeaderExample) {
  EXPECT_EQ(HeadlineTail("Oil falls | Example News"), (ByteRange{12, 24}));
}

TEST(HeadlineTailTest, Cases) {
  const TitleCase cases[] = {
      {"Pier collapses in storm - Marlow Evening Post"sv,
       "Marlow Evening Post"sv},
      {"Pier collapses in storm | Example News"sv, "Example News"sv},
      {"Pier collapses in storm :: Example News"sv, "Example News"sv},
      {"Pier collapses in storm \xE2\x80\x93 Example News"sv, "Example News"sv},
      {"Pier collapses in storm \xE2\x80\x94 Example News"sv, "Example News"sv},
      // Exactly five words is still a tail; six is not.
      {"Pier collapses - The Marlow And District Gazette"sv,
       "The Marlow And District Gazette"sv},
      {"Pier collapses - The Marlow And District Evening Gazette"sv, ""sv},
      {"Oil falls - The Very Long Name Of Some Site"sv, ""sv},
      // The last separator counts.
      {"Pier - ferry | Example News"sv, "Example News"sv},
      {"Pier | ferry - Example News"sv, "Example News"sv},
      {"Pier collapses | Example News - Harbour"sv, "Harbour"sv},
      // Trailing whitespace is not part of the tail.
      {"Pier collapses - Example News  "sv, "Example News"sv},
      // Non-ASCII tail.
      {"Anleger st\xC3\xBCrzt ein | S\xC3\xBC"
       "ddeutsche Zeitung"sv,
       "S\xC3\xBC"
       "ddeutsche Zeitung"sv},
      // No separator, or nothing before or after it.
      {"Pier collapses in storm"sv, ""sv},
      {"Well-known pier reopens"sv, ""sv},
      {"U.S.-China talks resume"sv, ""sv},
      {"Pier collapses -Example News"sv, ""sv},
      {" - Example News"sv, ""sv},
      {" | Example News"sv, ""sv},
      {"Pier collapses - "sv, ""sv},
      {"Pier collapses -   "sv, ""sv},
      {""sv, ""sv},
  };
  for (const TitleCase& c : cases) {
    const ByteRange got = HeadlineTail(c.title);
    EXPECT_EQ(got, RangeOf(c.title, c.expected))
        << c.title << " -> \"" << Slice(c.title, got) << "\"";
  }
}

struct EditCase {
  std::string_view a;
  std::string_view b;
  bool within;
};

TEST(WithinOneWordEditTest, Cases) {
  const EditCase cases[] = {
      {""sv, ""sv, true},
      {"pier"sv, ""sv, true},
      {"pier collapses in storm"sv, "pier collapses in storm"sv, true},
      // One replacement at the start, middle, end.
      {"pier collapses in storm"sv, "jetty collapses in storm"sv, true},
      {"pier collapses in storm"sv, "pier falls in storm"sv, true},
      {"pier collapses in storm"sv, "pier collapses in gale"sv, true},
      // One insertion at the start, middle, end (one deletion reversed).
      {"pier collapses in storm"sv, "old pier collapses in storm"sv, true},
      {"pier collapses in storm"sv, "pier collapses in big storm"sv, true},
      {"pier collapses in storm"sv, "pier collapses in storm again"sv, true},
      {"pier collapses in storm"sv, "pier collapses storm"sv, true},
      // Repeated words.
      {"a a a"sv, "a a"sv, true},
      {"a b a b"sv, "b a b"sv, true},
      // Two edits.
      {"pier collapses in storm"sv, "jetty falls in storm"sv, false},
      {"pier collapses in storm"sv, "collapses pier in storm"sv, false},
      {"pier collapses in storm"sv, "old pier collapses in storm again"sv,
       false},
      {"pier collapses in storm"sv, "old pier falls in storm"sv, false},
      {"pier collapses in storm"sv, "pier in storm now"sv, false},
      // Length difference 2.
      {"pier collapses in storm"sv, "pier storm"sv, false},
      {"pier collapses in storm"sv, "in storm"sv, false},
      {"pier collapses"sv, ""sv, false},
      {"pier collapses"sv, "ferry sinks"sv, false},
  };
  for (const EditCase& c : cases) {
    const std::vector<uint64_t> a = Words(c.a), b = Words(c.b);
    EXPECT_EQ(WithinOneWordEdit(a, b), c.within) << c.a << " / " << c.b;
    EXPECT_EQ(WithinOneWordEdit(b, a), c.within) << c.b << " / " << c.a;
  }
}

// Word-level Levenshtein distance: the reference for WithinOneWordEdit.
size_t EditDistance(const std::vector<uint64_t>& a,
                    const std::vector<uint64_t>& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1,
                         diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

// Applies one random replacement, insertion or deletion. `fresh` gives the
// new word.
template <typename Fresh>
void RandomEdit(std::vector<uint64_t>* words, std::mt19937_64* rng,
                Fresh fresh) {
  const int kind = static_cast<int>((*rng)() % 3);
  if (kind == 0 && !words->empty()) {
    (*words)[(*rng)() % words->size()] = fresh();
  } else if (kind == 1 || words->empty()) {
    words->insert(words->begin() + (*rng)() % (words->size() + 1), fresh());
  } else {
    words->erase(words->begin() + (*rng)() % words->size());
  }
}

TEST(WithinOneWordEditTest, AgreesWithEditDistance) {
  // A three-word vocabulary makes near misses (repeats, shifted runs) common.
  std::mt19937_64 rng(42);
  auto word = [&] { return 1 + rng() % 3; };
  int within = 0, outside = 0;
  for (int iteration = 0; iteration < 20000; ++iteration) {
    std::vector<uint64_t> a(rng() % 8);
    for (uint64_t& w : a) w = word();
    std::vector<uint64_t> b = a;
    const int edits = static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) RandomEdit(&b, &rng, word);
    const bool expected = EditDistance(a, b) <= 1;
    ASSERT_EQ(WithinOneWordEdit(a, b), expected) << "iteration " << iteration;
    ASSERT_EQ(WithinOneWordEdit(b, a), expected) << "iteration " << iteration;
    (expected ? within : outside) += 1;
  }
  // Both answers were exercised often.
  EXPECT_GT(within, 5000);
  EXPECT_GT(outside, 5000);
}

std::vector<uint64_t> Keys(const std::vector<uint64_t>& words, int min_words) {
  std::vector<uint64_t> keys;
  DeletionKeys(words, min_words, &keys);
  return keys;
}

bool ShareKey(std::vector<uint64_t> a, std::vector<uint64_t> b) {
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  std::vector<uint64_t> common;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(),
                        std::back_inserter(common));
  return !common.empty();
}

TEST(DeletionKeysTest, KeyCounts) {
  const std::vector<uint64_t> four = Words("pier collapses in storm");
  EXPECT_EQ(Keys(four, 4).size(), 5u);  // full key + one per word
  EXPECT_EQ(Keys(four, 3).size(), 5u);
  EXPECT_EQ(Keys(four, 5).size(), 1u);  // shorter than min_words: full only
  EXPECT_EQ(Keys({}, 0).size(), 1u);
  EXPECT_EQ(Keys({}, 3).size(), 1u);
}

TEST(DeletionKeysTest, AppendsToKeys) {
  std::vector<uint64_t> keys = {7, 8};
  DeletionKeys(Words("pier collapses in storm"), 3, &keys);
  ASSERT_EQ(keys.size(), 7u);
  EXPECT_EQ(keys[0], 7u);
  EXPECT_EQ(keys[1], 8u);
  EXPECT_EQ(keys[2], Keys(Words("pier collapses in storm"), 3)[0]);
}

TEST(DeletionKeysTest, KnownKeys) {
  const std::vector<uint64_t> keys = Keys(Words("old pier collapses"), 3);
  ASSERT_EQ(keys.size(), 4u);
  // keys[1 + i] is the sequence with word i left out.
  EXPECT_EQ(keys[1], Keys(Words("pier collapses"), 3)[0]);
  EXPECT_EQ(keys[2], Keys(Words("old collapses"), 3)[0]);
  EXPECT_EQ(keys[3], Keys(Words("old pier"), 3)[0]);
  // Keys depend on word order and are distinct for distinct sequences.
  EXPECT_NE(Keys(Words("pier collapses"), 3)[0],
            Keys(Words("collapses pier"), 3)[0]);
  std::vector<uint64_t> sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::adjacent_find(sorted.begin(), sorted.end()), sorted.end());
  // Deterministic.
  EXPECT_EQ(keys, Keys(Words("old pier collapses"), 3));
}

TEST(DeletionKeysTest, ShortSequencesGiveOnlyTheFullKey) {
  // Below min_words a replacement is not found through the keys: only
  // identical short sequences share one.
  const int min_words = 4;
  EXPECT_TRUE(ShareKey(Keys(Words("pier falls"), min_words),
                       Keys(Words("pier falls"), min_words)));
  EXPECT_FALSE(ShareKey(Keys(Words("pier falls"), min_words),
                        Keys(Words("jetty falls"), min_words)));
  EXPECT_FALSE(ShareKey(Keys(Words("old pier falls"), min_words),
                        Keys(Words("old pier sinks"), min_words)));
}

TEST(DeletionKeysTest, OneEditSharesAKey) {
  // Random 64-bit words; the longer sequence has at least min_words words,
  // as the contract requires.
  std::mt19937_64 rng(7);
  for (int min_words = 1; min_words <= 6; ++min_words) {
    for (int iteration = 0; iteration < 1000; ++iteration) {
      std::vector<uint64_t> a(min_words + rng() % 10);
      for (uint64_t& w : a) w = rng();
      std::vector<uint64_t> b = a;
      // Draw the new word from the sequence itself half of the time.
      RandomEdit(&b, &rng,
                 [&] { return rng() % 2 ? rng() : a[rng() % a.size()]; });
      ASSERT_TRUE(WithinOneWordEdit(a, b));
      ASSERT_TRUE(ShareKey(Keys(a, min_words), Keys(b, min_words)))
          << "min_words " << min_words << ", iteration " << iteration;
    }
  }
}

TEST(DeletionKeysTest, TwoEditsShareNoKey) {
  // With random 64-bit words, sequences two edits apart have no one-word
  // deletion in common; a shared key would need a 64-bit hash collision
  // (probability about 2000 * 100 / 2^64).
  std::mt19937_64 rng(11);
  int shared = 0;
  for (int iteration = 0; iteration < 2000; ++iteration) {
    std::vector<uint64_t> a(3 + rng() % 10);
    for (uint64_t& w : a) w = rng();
    std::vector<uint64_t> b = a;
    const int kind = iteration % 4;
    if (kind == 0) {  // two replacements at different positions
      const size_t i = rng() % b.size();
      const size_t j = (i + 1 + rng() % (b.size() - 1)) % b.size();
      b[i] = rng();
      b[j] = rng();
    } else if (kind == 1) {  // two insertions
      b.insert(b.begin() + rng() % (b.size() + 1), rng());
      b.insert(b.begin() + rng() % (b.size() + 1), rng());
    } else if (kind == 2) {  // two deletions
      b.erase(b.begin() + rng() % b.size());
      b.erase(b.begin() + rng() % b.size());
    } else {  // a replacement and an insertion
      b[rng() % b.size()] = rng();
      b.insert(b.begin() + rng() % (b.size() + 1), rng());
    }
    ASSERT_EQ(EditDistance(a, b), 2u) << "iteration " << iteration;
    shared += ShareKey(Keys(a, 3), Keys(b, 3));
  }
  EXPECT_EQ(shared, 0);
}

struct JaccardCase {
  std::string_view a;
  std::string_view b;
  double expected;
};

TEST(WordSetJaccardTest, KnownValues) {
  const JaccardCase cases[] = {
      {"pier collapses in storm"sv, "pier collapses in storm"sv, 1.0},
      {"pier collapses in storm"sv, "storm in collapses pier"sv, 1.0},
      {"a b c"sv, "b c d"sv, 0.5},
      {"a b c d"sv, "a"sv, 0.25},
      {"a b c"sv, "d e f"sv, 0.0},
      {"a a b"sv, "a b b b"sv, 1.0},  // sets: duplicates do not count
      {"a a a b"sv, "a c"sv, 1.0 / 3.0},
      {"a"sv, ""sv, 0.0},
      {""sv, ""sv, 1.0},
  };
  for (const JaccardCase& c : cases) {
    const std::vector<uint64_t> a = Words(c.a), b = Words(c.b);
    EXPECT_DOUBLE_EQ(WordSetJaccard(a, b), c.expected) << c.a << " / " << c.b;
    EXPECT_DOUBLE_EQ(WordSetJaccard(b, a), c.expected) << c.b << " / " << c.a;
  }
}

}  // namespace
}  // namespace newsdedup
