// Tests for the caption finder: captions run into the start of a body
// paragraph (ending exactly where the body begins), whole-paragraph credits,
// captions closed by a trailing credit, sentence ends that must skip
// abbreviations, non-ASCII captions, and sentences that merely mention a
// photo (not captions). A randomized check keeps every range in order, in
// bounds and on UTF-8 character boundaries. All texts are invented.
#include "newsdedup/caption.h"

#include <gtest/gtest.h>
#include <re2/re2.h>

#include <fstream>
#include <iterator>
#include <ostream>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace newsdedup {

// Lets gtest print ranges in failure messages.
void PrintTo(const ByteRange& r, std::ostream* os) {
  *os << "[" << r.begin << ", " << r.end << ")";
}

namespace {

using std::string_view_literals::operator""sv;

const CaptionFinder& Finder() {
  static const CaptionFinder* finder = [] {
    auto f = CaptionFinder::Create();
    EXPECT_TRUE(f.ok()) << f.status();
    return new CaptionFinder(std::move(f).value());
  }();
  return *finder;
}

std::vector<std::string> Texts(std::string_view text,
                               const std::vector<ByteRange>& ranges) {
  std::vector<std::string> out;
  for (const ByteRange& r : ranges) {
    out.emplace_back(text.substr(r.begin, r.end - r.begin));
  }
  return out;
}

bool OnBoundary(std::string_view text, uint32_t pos) {
  return pos >= text.size() ||
         (static_cast<unsigned char>(text[pos]) & 0xC0) != 0x80;
}

struct CaptionCase {
  const char* name;
  std::string_view paragraph;
  // The expected leading caption (a prefix of the paragraph; the whole
  // paragraph for a whole-paragraph caption) and trailing caption (a suffix);
  // empty: none. Prefix and suffix pin the byte offsets exactly.
  std::string_view lead;
  std::string_view trail;
};

void PrintTo(const CaptionCase& c, std::ostream* os) { *os << c.name; }

const CaptionCase kCases[] = {
    // Leading captions run into the body, as in the seed article: the span
    // ends after the caption's period, before the all-caps dateline.
    {"picture taken on, then dateline",
     "This picture taken on May 3, 2024 by a harbour pilot, shared with the "
     "press office, shows the broken deck of the ferry pier at Marlow, "
     "England. MARLOW The town council has asked for an inquiry, the mayor's "
     "office said on Tuesday."sv,
     "This picture taken on May 3, 2024 by a harbour pilot, shared with the "
     "press office, shows the broken deck of the ferry pier at Marlow, "
     "England."sv,
     ""sv},
    {"dated photo shows, then photographer and agency",
     "This March 4, 2025 photo shows divers inspecting the remains of the "
     "pier. JONAS WEBER AFP The council will vote next month, the statement "
     "said."sv,
     "This March 4, 2025 photo shows divers inspecting the remains of the "
     "pier. JONAS WEBER AFP"sv,
     ""sv},
    {"dated shows without photo, then agency",
     "This Sept 5, 2024 shows smoke rising over the harbour after the fire. "
     "ANNA KOVAC AFP Firefighters worked through the night to save the "
     "boats."sv,
     "This Sept 5, 2024 shows smoke rising over the harbour after the fire. "
     "ANNA KOVAC AFP"sv,
     ""sv},
    {"in this dated photo",
     "In this Jan. 5, 2024 photo, a ferry leaves the quay at Marlow. The "
     "service was suspended weeks later."sv,
     "In this Jan. 5, 2024 photo, a ferry leaves the quay at Marlow."sv, ""sv},
    {"file photo label",
     "FILE PHOTO: A man walks past the closed ferry office in Marlow, "
     "England, March 3, 2025. The operator said on Monday it would resume "
     "service."sv,
     "FILE PHOTO: A man walks past the closed ferry office in Marlow, "
     "England, March 3, 2025."sv,
     ""sv},
    {"caption then AP credit then body",
     "This picture taken on May 3, 2024 shows the pier. (AP Photo/Jane Doe) "
     "The council voted on Tuesday."sv,
     "This picture taken on May 3, 2024 shows the pier. (AP Photo/Jane Doe)"sv,
     ""sv},
    {"undated picture with credit",
     "This handout picture shows the rotten piles under the deck. ANNA "
     "KOVAC AFP The operator denied that the pier was unsafe."sv,
     "This handout picture shows the rotten piles under the deck. ANNA "
     "KOVAC AFP"sv,
     ""sv},
    // Abbreviations do not end the caption sentence.
    {"U.S. inside the caption",
     "This picture taken on May 3, 2024 shows U.S. Navy divers searching the "
     "harbour near Marlow. MARLOW Divers found no one in the water."sv,
     "This picture taken on May 3, 2024 shows U.S. Navy divers searching the "
     "harbour near Marlow."sv,
     ""sv},
    {"Sept. and Dr. inside the caption",
     "This picture taken on Sept. 5, 2024 shows Dr. Ana Lima at the quay. "
     "MARLOW The harbour doctor treated three divers."sv,
     "This picture taken on Sept. 5, 2024 shows Dr. Ana Lima at the quay."sv,
     ""sv},
    // Non-ASCII captions: the span ends on a character boundary.
    {"accented names",
     "This picture taken on May 3, 2024 shows Jos\xC3\xA9 M\xC3\xBCller "
     "mending nets in M\xC3\xA1laga, Spain. M\xC3\x81LAGA The fishermen's "
     "guild said catches were down."sv,
     "This picture taken on May 3, 2024 shows Jos\xC3\xA9 M\xC3\xBCller "
     "mending nets in M\xC3\xA1laga, Spain."sv,
     ""sv},
    {"dateline starting with a non-ASCII capital",
     "This picture taken on May 3, 2024 shows the ferry at the quay. "
     "\xC3\x96REBRO Officials said the line would reopen."sv,
     "This picture taken on May 3, 2024 shows the ferry at the quay."sv, ""sv},
    {"german foto label",
     "Foto: Ein Fischer repariert sein Netz am Hafen von Warnem\xC3\xBCnde. "
     "Die Stadt will den Anleger erneuern."sv,
     "Foto: Ein Fischer repariert sein Netz am Hafen von Warnem\xC3\xBCnde."sv,
     ""sv},
    // Whole-paragraph credits.
    {"AP photo credit", "(AP Photo/Jane Doe)"sv, "(AP Photo/Jane Doe)"sv, ""sv},
    {"AP photo credit with file", "(AP Photo/Jane Doe, File)"sv,
     "(AP Photo/Jane Doe, File)"sv, ""sv},
    {"reuters slash name", "REUTERS/John Smith"sv, "REUTERS/John Smith"sv,
     ""sv},
    {"reuters slash name slash file", "REUTERS/John Smith/File Photo"sv,
     "REUTERS/John Smith/File Photo"sv, ""sv},
    {"afp photo", "AFP PHOTO / JANE DOE"sv, "AFP PHOTO / JANE DOE"sv, ""sv},
    {"getty", "Getty Images"sv, "Getty Images"sv, ""sv},
    {"german foto credit", "Foto: J\xC3\xB6rg M\xC3\xBCller/dpa"sv,
     "Foto: J\xC3\xB6rg M\xC3\xBCller/dpa"sv, ""sv},
    {"photographer and agency", "DELIA MARKOS AFP"sv, "DELIA MARKOS AFP"sv,
     ""sv},
    // Trailing captions: the sentence the credit closes, and the credit.
    {"trailing AP credit",
     "The council closed the pier in March. Soldiers patrol the square on "
     "Monday. (AP Photo/Jane Doe)"sv,
     ""sv, "Soldiers patrol the square on Monday. (AP Photo/Jane Doe)"sv},
    {"trailing reuters credit, one sentence",
     "Divers inspect the pier at Marlow, England, March 4, 2025. "
     "REUTERS/John Smith"sv,
     ""sv,
     "Divers inspect the pier at Marlow, England, March 4, 2025. "
     "REUTERS/John Smith"sv},
    {"trailing credit after U.S.",
     "The council met. A U.S. Navy diver checks a pile on Monday. (AP "
     "Photo/Jane Doe)"sv,
     ""sv, "A U.S. Navy diver checks a pile on Monday. (AP Photo/Jane Doe)"sv},
    {"leading and trailing",
     "This March 4, 2025 photo shows the pier. JONAS WEBER AFP The council "
     "met. Divers search the harbour. (AP Photo/Jane Doe)"sv,
     "This March 4, 2025 photo shows the pier. JONAS WEBER AFP"sv,
     "Divers search the harbour. (AP Photo/Jane Doe)"sv},

    // Sentences that merely mention a photo are not captions.
    {"photo shows nothing new",
     "This photo shows nothing new, the minister said."sv, ""sv, ""sv},
    {"photo taken by a tourist",
     "The photo taken by a tourist went viral on social media."sv, ""sv, ""sv},
    {"picture taken not at paragraph start",
     "He said a picture taken on May 3, 2024 shows the damage."sv, ""sv, ""sv},
    {"picture taken on Monday mid-sentence",
     "He said a picture taken on Monday shows the damage."sv, ""sv, ""sv},
    {"photo of the minister", "A photo of the minister circulated online."sv,
     ""sv, ""sv},
    {"these pictures",
     "These pictures were never published, the lawyer said."sv, ""sv, ""sv},
    {"picture with a parenthetical",
     "This picture of the pier, the mayor said, shows years of neglect."sv,
     ""sv, ""sv},
    {"ends in (Reuters)",
     "The council voted on Tuesday to rebuild the pier, a spokesman said. "
     "(Reuters)"sv,
     ""sv, ""sv},
    {"dateline alone is not a credit",
     "DAMASCUS Officials said on Monday the talks would resume."sv, ""sv, ""sv},
    {"dateline with agency in parentheses",
     "PARIS (AFP) - The council voted to rebuild the pier."sv, ""sv, ""sv},
    {"agency as subject", "AP sources said the pier had been unsafe."sv, ""sv,
     ""sv},
    {"told AFP", "The pier was unsafe, the mayor told AFP"sv, ""sv, ""sv},
    {"photography", "Photography exhibitions open on Friday."sv, ""sv, ""sv},
    {"imagine", "Imagine a pier without piles, the engineer said."sv, ""sv,
     ""sv},
    {"pictured without colon",
     "Pictured in the report are the rotten piles of the pier."sv, ""sv, ""sv},
    {"german foto in a sentence",
     "Fotos vom Unfall kursieren seit Montag im Netz."sv, ""sv, ""sv},
    {"empty", ""sv, ""sv, ""sv},
};

class CaptionTest : public testing::TestWithParam<CaptionCase> {};

TEST_P(CaptionTest, FindsExactSpans) {
  const CaptionCase& c = GetParam();
  const std::vector<ByteRange> got = Finder().Find(c.paragraph);
  std::vector<ByteRange> expected;
  const uint32_t size = static_cast<uint32_t>(c.paragraph.size());
  if (!c.lead.empty()) {
    ASSERT_EQ(c.paragraph.substr(0, c.lead.size()), c.lead) << "bad case";
    expected.push_back({0, static_cast<uint32_t>(c.lead.size())});
  }
  if (!c.trail.empty()) {
    ASSERT_GE(c.paragraph.size(), c.trail.size());
    ASSERT_EQ(c.paragraph.substr(size - c.trail.size()), c.trail) << "bad case";
    expected.push_back({size - static_cast<uint32_t>(c.trail.size()), size});
  }
  EXPECT_EQ(got, expected) << "got: "
                           << testing::PrintToString(Texts(c.paragraph, got));
  for (const ByteRange& r : got) {
    EXPECT_TRUE(OnBoundary(c.paragraph, r.begin)) << r.begin;
    EXPECT_TRUE(OnBoundary(c.paragraph, r.end)) << r.end;
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, CaptionTest, testing::ValuesIn(kCases),
                         [](const testing::TestParamInfo<CaptionCase>& info) {
                           std::string name;
                           for (const char* p = info.param.name; *p != '\0';
                                ++p) {
                             const char c = *p;
                             const bool alnum = (c >= 'a' && c <= 'z') ||
                                                (c >= 'A' && c <= 'Z') ||
                                                (c >= '0' && c <= '9');
                             name += alnum ? c : '_';
                           }
                           return name;
                         });

TEST(CaptionFinderTest, HeaderExample) {
  const std::string_view p =
      "This picture taken on May 3, 2024 shows the pier. MARLOW The council "
      "voted ...";
  // The caption ends after "pier." (the header's comment says 50).
  EXPECT_EQ(Finder().Find(p), (std::vector<ByteRange>{{0, 49}}));
  EXPECT_EQ(p.substr(49, 7), " MARLOW");
}

TEST(CaptionFinderTest, LeadingCaptionExactOffsets) {
  const std::string_view p =
      "This Sept 5, 2024 shows the quay. ANNA KOVAC AFP Boats stayed in port.";
  const std::vector<ByteRange> got = Finder().Find(p);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].begin, 0u);
  EXPECT_EQ(got[0].end, p.find(" Boats"));
}

// The project's fixture of the seed article's shape: the two captions run
// into body paragraphs are found and end where the body text begins; no
// other paragraph has a caption.
TEST(CaptionFinderTest, PierArticleFixture) {
  std::ifstream in(NEWSDEDUP_TESTDATA "/text/pier-article.txt",
                   std::ios::binary);
  ASSERT_TRUE(in) << "missing fixture";
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();

  std::vector<std::string> captions;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find("\n\n", pos);
    if (end == std::string::npos) end = text.size();
    std::string_view paragraph(text.data() + pos, end - pos);
    while (!paragraph.empty() &&
           (paragraph.back() == '\n' || paragraph.back() == ' ')) {
      paragraph.remove_suffix(1);
    }
    for (const ByteRange& r : Finder().Find(paragraph)) {
      EXPECT_EQ(r.begin, 0u);
      captions.emplace_back(paragraph.substr(r.begin, r.end - r.begin));
    }
    pos = end + 2;
  }
  EXPECT_EQ(
      captions,
      (std::vector<std::string>{
          "This picture taken on March 3, 2025 by a harbour pilot, shared "
          "with the regional press office, shows the broken deck of the old "
          "ferry pier after the storm surge at Marlow Harbour.",
          "This March 4, 2025 photo shows divers inspecting the remains of "
          "the pier from a council boat. JONAS WEBER AFP"}));
}

// Random paragraphs built from caption fragments, body words and multi-byte
// characters: every result is at most one leading and one trailing span, in
// order, non-empty, in bounds and on character boundaries.
TEST(CaptionFinderTest, RandomParagraphsGiveWellFormedRanges) {
  const std::string_view pieces[] = {"This picture taken on ",
                                     "This ",
                                     "In this ",
                                     "FILE PHOTO: ",
                                     "Foto: ",
                                     "May 3, 2024 ",
                                     "Sept. 5, 2024 ",
                                     "photo ",
                                     "shows ",
                                     "the pier",
                                     "U.S. ",
                                     "Dr. ",
                                     ". ",
                                     ", ",
                                     "MARLOW ",
                                     "JONAS WEBER AFP ",
                                     "(AP Photo/Jane Doe)",
                                     "REUTERS/John Smith",
                                     "Getty Images",
                                     "M\xC3\xA1laga ",
                                     "\xC3\x96REBRO ",
                                     "\xE2\x80\x94 ",
                                     "\xF0\x9F\x93\xB7",
                                     "said ",
                                     "the council ",
                                     "\n",
                                     "  ",
                                     "(Reuters)"};
  std::mt19937 rng(20250303);
  std::uniform_int_distribution<size_t> pick(0, std::size(pieces) - 1);
  std::uniform_int_distribution<int> length(1, 24);
  for (int iteration = 0; iteration < 3000; ++iteration) {
    std::string p;
    const int n = length(rng);
    for (int i = 0; i < n; ++i) p += pieces[pick(rng)];
    const std::vector<ByteRange> got = Finder().Find(p);
    ASSERT_LE(got.size(), 2u) << p;
    uint32_t previous_end = 0;
    for (const ByteRange& r : got) {
      ASSERT_LT(r.begin, r.end) << p;
      ASSERT_LE(r.end, p.size()) << p;
      ASSERT_GE(r.begin, previous_end) << p;
      ASSERT_TRUE(OnBoundary(p, r.begin)) << p;
      ASSERT_TRUE(OnBoundary(p, r.end)) << p;
      previous_end = r.end;
    }
  }
}

TEST(CaptionFinderTest, MovedFinderKeepsWorking) {
  auto created = CaptionFinder::Create();
  ASSERT_TRUE(created.ok());
  CaptionFinder moved = std::move(created).value();
  auto other = CaptionFinder::Create();
  ASSERT_TRUE(other.ok());
  CaptionFinder assigned = std::move(other).value();
  assigned = std::move(moved);
  EXPECT_EQ(assigned.Find("REUTERS/John Smith"),
            (std::vector<ByteRange>{{0, 18}}));
}

}  // namespace
}  // namespace newsdedup

namespace newsdedup {
namespace {

TEST(CaptionReviewTest, SlashCreditStopsAtTheName) {
  // The credit is "REUTERS/Jane Doe"; the body starts with "Fishermen".
  auto finder = CaptionFinder::Create();
  ASSERT_TRUE(finder.ok());
  const std::string text =
      "A picture shows the harbour on May 4, 2024. REUTERS/Jane Doe "
      "Fishermen said the catch was poor this year and prices rose.";
  const std::vector<ByteRange> spans = finder->Find(text);
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(text.substr(spans[0].begin, spans[0].end - spans[0].begin),
            "A picture shows the harbour on May 4, 2024. REUTERS/Jane Doe");
}

// Every word a leading caption can open with, and every way a credit can
// start: the finder skips its patterns on paragraphs that open otherwise,
// so each of these must still be found, whole.
TEST(CaptionFinderTest, EveryOpeningWordAndCreditFormIsFound) {
  // Longer than 60 bytes, so "Picture: ..." is not a whole-line credit.
  const std::string body =
      " The council voted on Tuesday to close the pier for the whole "
      "summer season.";
  const std::vector<std::string> leading = {
      "This picture taken on May 3, 2024 shows the pier.",
      "These pictures taken on May 3, 2024 show the pier.",
      "A photo taken on May 3, 2024 shows the pier.",
      "An aerial photo taken on May 3, 2024 shows the pier.",
      "The photo taken on May 3, 2024 shows the pier.",
      "In this photo taken on May 3, 2024, divers are seen at the pier.",
      "In a picture taken on May 3, 2024, divers are seen at the pier.",
      "In these pictures taken on May 3, 2024, divers are seen at the pier.",
      "This May 3, 2024 photo shows the pier.",
      "In this May 3, 2024 photo, divers are seen at the pier.",
      "FILE PHOTO: Divers at the pier.",
      "File photo: Divers at the pier.",
      "File Photo: Divers at the pier.",
      "FILE PICTURE: Divers at the pier.",
      "FILE IMAGE: Divers at the pier.",
      "PHOTO: Divers at the pier.",
      "Photo | Divers at the pier.",
      "PICTURE: Divers at the pier.",
      "Picture: Divers at the pier.",
      "IMAGE - Divers at the pier.",
      "Image: Divers at the pier.",
      "CAPTION: Divers at the pier.",
      "Caption: Divers at the pier.",
      "PICTURED: Divers at the pier.",
      "Pictured: Divers at the pier.",
      "FOTO: Taucher am Anleger.",
      "Foto: Taucher am Anleger.",
      "Bild: Taucher am Anleger.",
  };
  for (const std::string& caption : leading) {
    const std::string paragraph = caption + body;
    const std::vector<ByteRange> spans = Finder().Find(paragraph);
    ASSERT_FALSE(spans.empty()) << paragraph;
    EXPECT_EQ(spans.front().begin, 0u) << paragraph;
    EXPECT_EQ(spans.front().end, caption.size()) << paragraph;
  }
  const std::vector<std::string> credits = {
      "(AP Photo/Jane Doe)",  "(Photo: Jane Doe)",      "(Getty Images)",
      "REUTERS/Jane Doe",     "AFP PHOTO / JANE DOE",   "EPA-EFE/JANE DOE",
      "XINHUA/Li Wei",        "ANADOLU/Jane Doe",       "GETTY IMAGES/Jane Doe",
      "Getty Images",         "JANE DOE AFP",           "J.R. DOE AFP",
      "D'ANGELO DOE REUTERS", "Photo credit: Jane Doe", "Photos: Jane Doe",
      "Image: Jane Doe",      "Picture: Jane Doe",      "Foto: Jane Doe",
      "Bild: Jane Doe",       "Images: Jane Doe",       "Pictures: Jane Doe",
      "Fotos: Jane Doe",
  };
  for (const std::string& credit : credits) {
    const std::vector<ByteRange> spans = Finder().Find(credit);
    ASSERT_EQ(spans.size(), 1u) << credit;
    EXPECT_EQ(spans[0].begin, 0u) << credit;
    EXPECT_EQ(spans[0].end, credit.size()) << credit;
  }
}

// Every form a closing credit takes, after text that holds the characters
// the finder's quick test looks at ('/', '.', '(', ')'), with any trailing
// whitespace: the sentence it closes and the credit are one caption.
TEST(CaptionFinderTest, EveryClosingCreditFormIsFound) {
  const std::vector<std::string> credits = {
      "(AP Photo/Jane Doe)",      "(AFP Photo/Jane Doe)",
      "(Reuters Photo/Jane Doe)", "(REUTERS PHOTO/Jane Doe)",
      "(EPA Foto/Jane Doe)",      "(Xinhua Photo/Li Wei)",
      "(dpa Foto/Jane Doe)",      "(Photo: Jane Doe)",
      "(Foto: J. Doe)",           "(Getty Images)",
      "(Getty Image/Jane Doe)",   "REUTERS/Jane Doe",
      "REUTERS /  Jane Doe",      "REUTERS/Jane Doe/File Photo",
      "AFP PHOTO / JANE DOE",     "EPA/JANE DOE",
      "EPA-EFE/JANE DOE",         "XINHUA/Li Wei",
      "ANADOLU/Jane Doe",         "Getty Images",
  };
  const std::vector<std::string> leads = {
      "The council met on Tuesday. ",
      "The council (and the mayor) met at 10 a.m. on 3/4. ",
      "See www.example.com/pier (in English) and the 2024/25 plan. ",
  };
  const std::string caption = "Divers search the harbour on Monday. ";
  for (const std::string& lead : leads) {
    for (const std::string& credit : credits) {
      for (const std::string space : {"", " ", "\n", " \t\r\n"}) {
        const std::string paragraph = lead + caption + credit + space;
        const std::vector<ByteRange> spans = Finder().Find(paragraph);
        ASSERT_EQ(spans.size(), 1u) << paragraph;
        EXPECT_EQ(spans[0].begin, lead.size()) << paragraph;
        EXPECT_EQ(spans[0].end, paragraph.size() - space.size()) << paragraph;
      }
    }
  }
  // Closing parentheses and slashes that are not credits.
  for (const std::string paragraph :
       {"The council met on Tuesday. (Reporting by Jane Doe)",
        "The council met on Tuesday (see page 3/4)",
        "The vote was 12/3 in favour", "Prices rose 5 percent (AP)"}) {
    EXPECT_TRUE(Finder().Find(paragraph).empty()) << paragraph;
  }
}

// The quick test that guards the closing-credit pattern says no only where
// the pattern cannot match: random texts built from the pieces its forms
// are made of (agencies, parentheses, '/', '.', every kind of whitespace,
// multi-byte letters).
TEST(CaptionFinderTest, QuickTestNeverRejectsAClosingCredit) {
  const RE2 pattern(internal::kTrailingCreditPattern);
  ASSERT_TRUE(pattern.ok()) << pattern.error();
  const std::vector<std::string> pieces = {"(",           ")",
                                           "/",           ".",
                                           " ",           "  ",
                                           "\t",          "\n",
                                           "\r",          "\f",
                                           "\v",          "AP ",
                                           "AFP ",        "Reuters ",
                                           "REUTERS ",    "EPA ",
                                           "Xinhua ",     "dpa ",
                                           "Photo",       "PHOTO",
                                           "Foto",        "Getty Images",
                                           "Getty Image", "REUTERS",
                                           "AFP PHOTO",   "EPA",
                                           "EPA-EFE",     "XINHUA",
                                           "ANADOLU",     "Jane",
                                           "Doe",         "J\xC3\xB6rg",
                                           "said",        ";",
                                           ",",           "x",
                                           "File Photo"};
  std::mt19937 rng(20261126);
  size_t matches = 0;
  for (int i = 0; i < 200000; ++i) {
    std::string text;
    const int n = 1 + static_cast<int>(rng() % 12);
    for (int k = 0; k < n; ++k) text += pieces[rng() % pieces.size()];
    if (RE2::PartialMatch(text, pattern)) {
      ++matches;
      ASSERT_TRUE(internal::MayCloseCredit(text)) << "\"" << text << "\"";
    }
  }
  EXPECT_GT(matches, 1000u);
}

}  // namespace
}  // namespace newsdedup
