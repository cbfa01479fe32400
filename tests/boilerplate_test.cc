// Tests for the boilerplate rules: the built-in English and German line
// rules (teasers, newsletter, cookie, copyright and advert lines) and
// trailers (wire credits, sign-offs), each with sentences of running text
// that look alike but are not boilerplate; exact byte ranges; the order of
// MatchAll; rules added by Add and from a rules file, and the errors those
// report. All texts are invented for these tests.
#include "newsdedup/boilerplate.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace newsdedup {

// Lets gtest print ranges in failure messages.
void PrintTo(const ByteRange& r, std::ostream* os) {
  *os << "[" << r.begin << ", " << r.end << ")";
}

namespace {

using std::string_view_literals::operator""sv;

const BoilerplateRules& BuiltIn() {
  static const BoilerplateRules* rules = [] {
    auto r = BoilerplateRules::BuiltIn();
    EXPECT_TRUE(r.ok()) << r.status();
    return new BoilerplateRules(std::move(r).value());
  }();
  return *rules;
}

// Where the expected span lies: at the start of the paragraph (a line rule)
// or at its end (a trailer), so that the expected text pins the offsets.
enum class At { kStart, kEnd };

struct MatchCase {
  const char* name;
  std::string_view paragraph;
  std::string_view span;  // the expected boilerplate text; empty: no match
  At at;
  std::string_view rule;
};

const MatchCase kMatchCases[] = {
    // English teasers.
    {"read more", "READ MORE: Ferry service moves to the fishing quay."sv,
     "READ MORE: Ferry service moves to the fishing quay."sv, At::kStart,
     "teaser"},
    {"read more lower case", "Read more: Tides and timetables for June"sv,
     "Read more: Tides and timetables for June"sv, At::kStart, "teaser"},
    {"also read", "ALSO READ: Night train returns to the coast line."sv,
     "ALSO READ: Night train returns to the coast line."sv, At::kStart,
     "teaser"},
    {"related", "Related: Council opens inquiry into harbour works"sv,
     "Related: Council opens inquiry into harbour works"sv, At::kStart,
     "teaser"},
    {"see also with guillemet", "See also \xC2\xBB Harbour master resigns"sv,
     "See also \xC2\xBB Harbour master resigns"sv, At::kStart, "teaser"},
    {"click here", "Click here to see the full list of closed roads."sv,
     "Click here to see the full list of closed roads."sv, At::kStart,
     "teaser"},
    {"tap the link", "Tap the link to watch the council debate live."sv,
     "Tap the link to watch the council debate live."sv, At::kStart, "teaser"},
    // German teasers (with non-ASCII text after them).
    {"lesen sie auch", "Lesen Sie auch: F\xC3\xA4hre f\xC3\xA4hrt wieder"sv,
     "Lesen Sie auch: F\xC3\xA4hre f\xC3\xA4hrt wieder"sv, At::kStart,
     "teaser"},
    {"mehr zum thema",
     "Mehr zum Thema: Stadtrat stimmt \xC3\xBC"
     "ber neuen Anleger ab"sv,
     "Mehr zum Thema: Stadtrat stimmt \xC3\xBC"
     "ber neuen Anleger ab"sv,
     At::kStart, "teaser"},
    // Newsletter and social lines.
    {"subscribe", "Subscribe to our newsletter for the morning briefing."sv,
     "Subscribe to our newsletter for the morning briefing."sv, At::kStart,
     "subscribe"},
    {"sign up", "Sign up for our free weekly digest"sv,
     "Sign up for our free weekly digest"sv, At::kStart, "subscribe"},
    {"follow us", "Follow us on social media for live updates."sv,
     "Follow us on social media for live updates."sv, At::kStart, "subscribe"},
    {"abonnieren", "Jetzt abonnieren und keine Meldung verpassen."sv,
     "Jetzt abonnieren und keine Meldung verpassen."sv, At::kStart,
     "subscribe"},
    // Cookie and copyright lines.
    {"cookies", "We use cookies to give you the best experience on our site."sv,
     "We use cookies to give you the best experience on our site."sv,
     At::kStart, "cookie"},
    {"site uses cookies", "This website uses cookies. Accept all"sv,
     "This website uses cookies. Accept all"sv, At::kStart, "cookie"},
    {"german cookies",
     "Wir verwenden Cookies, um unsere Seite zu verbessern."sv,
     "Wir verwenden Cookies, um unsere Seite zu verbessern."sv, At::kStart,
     "cookie"},
    {"copyright line", "Copyright 2025 Harbour Gazette. All rights reserved."sv,
     "Copyright 2025 Harbour Gazette. All rights reserved."sv, At::kStart,
     "copyright"},
    {"copyright sign", "\xC2\xA9 2025 Marlow Evening Post"sv,
     "\xC2\xA9 2025 Marlow Evening Post"sv, At::kStart, "copyright"},
    {"copyright trailer",
     "The pier will reopen in May. \xC2\xA9 Harbour Gazette, all rights "
     "reserved."sv,
     "\xC2\xA9 Harbour Gazette, all rights reserved."sv, At::kEnd, "copyright"},
    {"german rights trailer",
     "Der Anleger bleibt bis Mai gesperrt. Alle Rechte vorbehalten."sv,
     "Alle Rechte vorbehalten."sv, At::kEnd, "copyright"},
    // Advertising placeholders.
    {"advertisement", "Advertisement"sv, "Advertisement"sv, At::kStart,
     "advert"},
    {"anzeige", "ANZEIGE"sv, "ANZEIGE"sv, At::kStart, "advert"},
    // Wire trailers: from '(' to the end of the paragraph.
    {"reporting and editing",
     "The council will vote on the plans next month. (Reporting by Jane "
     "Doe; Editing by Mark Hill)"sv,
     "(Reporting by Jane Doe; Editing by Mark Hill)"sv, At::kEnd,
     "wire-trailer"},
    {"additional reporting",
     "Divers found more rotten piles on Friday. (Additional reporting by "
     "Ana Lima in Lisbon)"sv,
     "(Additional reporting by Ana Lima in Lisbon)"sv, At::kEnd,
     "wire-trailer"},
    {"trailer with nested parentheses",
     "Shares in the operator fell 3 percent. (Reporting by Tom Ray "
     "(Marlow); Writing by Eva Kurz)"sv,
     "(Reporting by Tom Ray (Marlow); Writing by Eva Kurz)"sv, At::kEnd,
     "wire-trailer"},
    {"trailer is the whole paragraph",
     "(Reporting by Jane Doe; Editing by Mark Hill)"sv,
     "(Reporting by Jane Doe; Editing by Mark Hill)"sv, At::kEnd,
     "wire-trailer"},
    {"byline line", "Reporting by Jane Doe; Editing by Mark Hill"sv,
     "Reporting by Jane Doe; Editing by Mark Hill"sv, At::kStart,
     "wire-trailer"},
    // Sign-offs.
    {"reuter sign-off", "Ferry operators expect a busy summer.\nReuter"sv,
     "Reuter"sv, At::kEnd, "sign-off"},
    {"reuter after a space", "Ferry operators expect a busy summer. Reuter"sv,
     "Reuter"sv, At::kEnd, "sign-off"},
    {"apa sign-off", "Der Gemeinderat tagt am Montag. (APA, 12.1.2016)"sv,
     "(APA, 12.1.2016)"sv, At::kEnd, "sign-off"},
    {"dpa sign-off", "Der Anleger bleibt gesperrt. (dpa)"sv, "(dpa)"sv,
     At::kEnd, "sign-off"},
    // Every last byte a built-in trailer can end with (the rules are tried
    // only on paragraphs that end with one of them), with whitespace after.
    {"rights reserved without a full stop",
     "The pier reopens in May. Copyright Harbour Gazette, All Rights "
     "Reserved \n"sv,
     "Copyright Harbour Gazette, All Rights Reserved \n"sv, At::kEnd,
     "copyright"},
    {"rights reserved in capitals",
     "The pier reopens in May. COPYRIGHT HARBOUR GAZETTE ALL RIGHTS RESERVED"sv,
     "COPYRIGHT HARBOUR GAZETTE ALL RIGHTS RESERVED"sv, At::kEnd, "copyright"},
    {"german rights in capitals",
     "Der Anleger bleibt gesperrt. ALLE RECHTE VORBEHALTEN"sv,
     "ALLE RECHTE VORBEHALTEN"sv, At::kEnd, "copyright"},
    {"german rights in lower case",
     "Der Anleger bleibt gesperrt. alle rechte vorbehalten\t"sv,
     "alle rechte vorbehalten\t"sv, At::kEnd, "copyright"},
    {"contact line",
     "The pier reopens in May. ((jane.doe@example.com; +44 20 1234))"sv,
     "((jane.doe@example.com; +44 20 1234))"sv, At::kEnd, "contact"},
    {"currency note",
     "The contract is worth C$12 million. ($1=$1.16 Canadian)"sv,
     "($1=$1.16 Canadian)"sv, At::kEnd, "currency-note"},
    {"REUTER sign-off", "Ferry operators expect a busy summer. REUTER"sv,
     "REUTER"sv, At::kEnd, "sign-off"},
    {"REUTERS sign-off",
     "Ferry operators expect a busy summer.\nREUTERS \r\n"sv, "REUTERS \r\n"sv,
     At::kEnd, "sign-off"},
    {"sign-off with end of text mark",
     "Ferry operators expect a busy summer.\n REUTER &#3;"sv, "REUTER &#3;"sv,
     At::kEnd, "sign-off"},

    // Running text that resembles boilerplate.
    {"read more than", "He read more than ten reports."sv, ""sv, At::kStart,
     ""},
    {"editing by hand", "Editing by hand is slow, she said."sv, ""sv,
     At::kStart, ""},
    {"reporting by in a sentence",
     "Reporting by local papers showed the pier was unsafe."sv, ""sv,
     At::kStart, ""},
    {"trailer mid-paragraph",
     "The council met on Monday. (Reporting by Jane Doe) The vote is due "
     "in May."sv,
     ""sv, At::kStart, ""},
    {"related companies",
     "Related companies said they would bid for the contract."sv, ""sv,
     At::kStart, ""},
    {"click in a sentence",
     "Residents can click a map on the council site to see closures."sv, ""sv,
     At::kStart, ""},
    {"subscribers", "Subscribers to the ferry pass will get refunds."sv, ""sv,
     At::kStart, ""},
    {"cookies in a sentence",
     "The bakery on the quay sold cookies to the divers."sv, ""sv, At::kStart,
     ""},
    {"copyright in a sentence",
     "Copyright lawyers said the photos could not be reused."sv, ""sv,
     At::kStart, ""},
    {"advertisement in a sentence",
     "Advertisement spending by the ferry firm rose."sv, ""sv, At::kStart, ""},
    {"reuters in a sentence", "The mayor told Reuters"sv, ""sv, At::kStart, ""},
    {"parenthesis at the end", "The pier was built in 1904 (timber)"sv, ""sv,
     At::kStart, ""},
    {"lesen in a sentence", "Lesen Sie den Bericht des Stadtrats."sv, ""sv,
     At::kStart, ""},
    {"empty", ""sv, ""sv, At::kStart, ""},
};

// Names the case in failure messages instead of dumping its bytes.
void PrintTo(const MatchCase& c, std::ostream* os) { *os << c.name; }

class MatchTest : public testing::TestWithParam<MatchCase> {};

TEST_P(MatchTest, FindsExactSpan) {
  const MatchCase& c = GetParam();
  const std::optional<BoilerplateMatch> m = BuiltIn().Match(c.paragraph);
  if (c.span.empty()) {
    EXPECT_FALSE(m.has_value())
        << "unexpected " << m->rule << " match: \""
        << c.paragraph.substr(m->range.begin, m->range.end - m->range.begin)
        << "\"";
    return;
  }
  ASSERT_TRUE(m.has_value());
  const uint32_t size = static_cast<uint32_t>(c.paragraph.size());
  const uint32_t span = static_cast<uint32_t>(c.span.size());
  const ByteRange expected =
      c.at == At::kStart ? ByteRange{0, span} : ByteRange{size - span, size};
  EXPECT_EQ(m->range, expected)
      << "got \""
      << c.paragraph.substr(m->range.begin, m->range.end - m->range.begin)
      << "\"";
  EXPECT_EQ(m->rule, c.rule);
}

INSTANTIATE_TEST_SUITE_P(BuiltIn, MatchTest, testing::ValuesIn(kMatchCases),
                         [](const testing::TestParamInfo<MatchCase>& info) {
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

// Built-in trailers are tried only on paragraphs that end with a byte they
// can end with: on random paragraphs made of the rules' pieces, the
// built-in rules find what the same rules added as user rules (always
// tried) find.
TEST(BoilerplateTest, TrailerEndsNeverSkipAMatch) {
  BoilerplateRules plain = BoilerplateRules::Empty();
  for (const internal::BuiltInRuleText& r : internal::BuiltInRuleTexts()) {
    ASSERT_TRUE(plain.Add(r.kind, r.name, r.regex).ok()) << r.name;
  }
  const BoilerplateRules& built_in = BuiltIn();
  const std::vector<std::string> pieces = {"The pier reopens.",
                                           "Copyright",
                                           "\xC2\xA9",
                                           "all rights reserved",
                                           "All Rights Reserved",
                                           "ALL RIGHTS RESERVED",
                                           "alle Rechte vorbehalten",
                                           "ALLE RECHTE VORBEHALTEN",
                                           "(Reporting by Jane Doe",
                                           "; Editing by Mark",
                                           "(Writing by Eva Kurz",
                                           ")",
                                           "(",
                                           "((",
                                           "))",
                                           "jane@example.com",
                                           "Reuters Messaging",
                                           "($1=$1.16 Canadian",
                                           "$1",
                                           "=",
                                           "Reuter",
                                           "REUTER",
                                           "REUTERS",
                                           "&#3;",
                                           "(dpa",
                                           "(APA, 12.1.2016",
                                           "(AFP",
                                           "/",
                                           ",",
                                           ";",
                                           ".",
                                           " ",
                                           "\n",
                                           "\t",
                                           "\r",
                                           "\f",
                                           "\v",
                                           "d",
                                           "D",
                                           "n",
                                           "N",
                                           "s",
                                           "S",
                                           "\xC5\xBF",
                                           "\xE2\x84\xAA",
                                           "r",
                                           "x"};
  std::mt19937 rng(20261126);
  size_t matched = 0;
  for (int i = 0; i < 100000; ++i) {
    std::string paragraph;
    const int n = 1 + static_cast<int>(rng() % 10);
    for (int k = 0; k < n; ++k) paragraph += pieces[rng() % pieces.size()];
    const std::vector<BoilerplateMatch> a = built_in.MatchAll(paragraph);
    const std::vector<BoilerplateMatch> b = plain.MatchAll(paragraph);
    ASSERT_EQ(a.size(), b.size()) << "\"" << paragraph << "\"";
    for (size_t k = 0; k < a.size(); ++k) {
      ASSERT_EQ(a[k].range, b[k].range) << "\"" << paragraph << "\"";
      ASSERT_EQ(a[k].rule, b[k].rule) << "\"" << paragraph << "\"";
    }
    matched += a.empty() ? 0 : 1;
  }
  EXPECT_GT(matched, 5000u);
}

TEST(BoilerplateTest, HeaderExample) {
  const auto m = BuiltIn().Match("READ MORE: Ferry moves to the quay.");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->range, (ByteRange{0, 35}));
  EXPECT_EQ(m->rule, "teaser");
}

TEST(BoilerplateTest, WireTrailerExactOffsets) {
  const std::string_view p =
      "Divers found more rotten piles. (Reporting by Jane Doe; Editing by "
      "Mark Hill)";
  const auto m = BuiltIn().Match(p);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->range.begin, 32u);
  EXPECT_EQ(p[m->range.begin], '(');
  EXPECT_EQ(m->range.end, p.size());
}

TEST(BoilerplateTest, LineRuleCoversOnlyTheFirstLine) {
  const std::string_view p =
      "READ MORE: Ferry moves to the quay.  \nThe council voted on Tuesday "
      "to close the old pier.";
  const auto m = BuiltIn().Match(p);
  ASSERT_TRUE(m.has_value());
  // Trailing spaces of the line are not part of the span.
  EXPECT_EQ(m->range, (ByteRange{0, 35}));
  EXPECT_EQ(m->rule, "teaser");
  EXPECT_EQ(BuiltIn().MatchAll(p).size(), 1u);
}

TEST(BoilerplateTest, MatchAllReturnsLineThenTrailer) {
  const std::string_view p =
      "READ MORE: Ferry moves to the quay.\nThe council voted on Tuesday. "
      "(Reporting by Jane Doe; Editing by Mark Hill)";
  const std::vector<BoilerplateMatch> all = BuiltIn().MatchAll(p);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].range, (ByteRange{0, 35}));
  EXPECT_EQ(all[0].rule, "teaser");
  const uint32_t open = static_cast<uint32_t>(p.find('('));
  EXPECT_EQ(all[1].range, (ByteRange{open, static_cast<uint32_t>(p.size())}));
  EXPECT_EQ(all[1].rule, "wire-trailer");
  // Match() returns the leading line: a line rule wins over a trailer.
  const auto first = BuiltIn().Match(p);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->range, all[0].range);
}

TEST(BoilerplateTest, MatchAllTrailerOnly) {
  const std::string_view p =
      "The pier will reopen in May, the mayor said. (APA, 12.1.2016)";
  const std::vector<BoilerplateMatch> all = BuiltIn().MatchAll(p);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].range.begin, p.find('('));
  EXPECT_EQ(all[0].range.end, p.size());
  EXPECT_EQ(all[0].rule, "sign-off");
  EXPECT_TRUE(BuiltIn().MatchAll("The pier will reopen in May.").empty());
}

TEST(BoilerplateTest, TrailerAfterLongParagraph) {
  // Trailers are searched in the paragraph's tail only; the tail must start
  // on a character boundary even when multi-byte text straddles it.
  std::string p;
  while (p.size() < 3000) p += "Die F\xC3\xA4hre f\xC3\xA4hrt wieder. ";
  p += "(Reporting by Jane Doe; Editing by Mark Hill)";
  const auto m = BuiltIn().Match(p);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->range.begin, p.rfind('('));
  EXPECT_EQ(m->range.end, p.size());
  for (size_t shift = 0; shift < 4; ++shift) {
    const std::string q = std::string(shift, 'x') + p;
    const auto mq = BuiltIn().Match(q);
    ASSERT_TRUE(mq.has_value()) << shift;
    EXPECT_EQ(mq->range.begin, q.rfind('(')) << shift;
  }
}

TEST(BoilerplateTest, EmptyRulesMatchNothing) {
  const BoilerplateRules rules = BoilerplateRules::Empty();
  EXPECT_EQ(rules.size(), 0u);
  for (const MatchCase& c : kMatchCases) {
    EXPECT_FALSE(rules.Match(c.paragraph).has_value()) << c.name;
    EXPECT_TRUE(rules.MatchAll(c.paragraph).empty()) << c.name;
  }
}

TEST(BoilerplateTest, BuiltInHasRules) { EXPECT_GT(BuiltIn().size(), 10u); }

TEST(BoilerplateTest, AddLineAndTrailerRules) {
  BoilerplateRules rules = BoilerplateRules::Empty();
  ASSERT_TRUE(rules.Add("line", "promo", "(?i)harbour deals:").ok());
  ASSERT_TRUE(
      rules.Add("trailer", "tip", R"(Tips to tips@example\.org\.)").ok());
  EXPECT_EQ(rules.size(), 2u);

  // A line rule is anchored at the paragraph start.
  const auto line = rules.Match("HARBOUR DEALS: half-price ferry tickets");
  ASSERT_TRUE(line.has_value());
  EXPECT_EQ(line->range, (ByteRange{0, 39}));
  EXPECT_EQ(line->rule, "promo");
  EXPECT_FALSE(
      rules.Match("See harbour deals: half-price tickets").has_value());

  // A trailer rule must end the paragraph.
  const std::string_view p =
      "The pier stays shut until May. Tips to tips@example.org.";
  const auto trailer = rules.Match(p);
  ASSERT_TRUE(trailer.has_value());
  EXPECT_EQ(trailer->range, (ByteRange{31, static_cast<uint32_t>(p.size())}));
  EXPECT_EQ(trailer->rule, "tip");
  EXPECT_FALSE(rules.Match("Tips to tips@example.org. The pier stays shut.")
                   .has_value());
}

TEST(BoilerplateTest, TrailerRuleFindsTheOccurrenceAtTheEnd) {
  // The pattern also occurs earlier in the paragraph: the rule must still
  // find the occurrence that ends it.
  BoilerplateRules rules = BoilerplateRules::Empty();
  ASSERT_TRUE(rules.Add("trailer", "follow", R"(Follow [^.]*\.)").ok());
  const std::string_view p =
      "Follow the signs to the quay. The pier is shut. Follow our live blog.";
  const auto m = rules.Match(p);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->range.begin, p.rfind("Follow"));
  EXPECT_EQ(m->range.end, p.size());
}

struct AddErrorCase {
  const char* name;
  std::string_view kind;
  std::string_view rule;
  std::string_view regex;
  std::string_view message_part;
};

TEST(BoilerplateTest, AddRejectsBadInput) {
  const AddErrorCase cases[] = {
      {"unknown kind", "paragraph", "x", "abc", "unknown rule kind"},
      {"empty kind", "", "x", "abc", "unknown rule kind"},
      {"empty name", "line", "", "abc", "without a name"},
      {"unbalanced parenthesis", "line", "x", "(abc", "invalid regular"},
      {"bad repetition", "trailer", "x", "a**", "invalid regular"},
      {"backreference", "line", "x", R"((a)\1)", "invalid regular"},
  };
  for (const AddErrorCase& c : cases) {
    BoilerplateRules rules = BoilerplateRules::Empty();
    const absl::Status s = rules.Add(c.kind, c.rule, c.regex);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_NE(std::string(s.message()).find(c.message_part),
              std::string_view::npos)
        << c.name << ": " << s.message();
    EXPECT_EQ(rules.size(), 0u) << c.name;
  }
}

// A rules file in the test's temporary directory, removed afterwards.
class RulesFile {
 public:
  RulesFile(const std::string& name, std::string_view contents)
      : path_(testing::TempDir() + name) {
    std::ofstream out(path_, std::ios::binary);
    out << contents;
  }
  ~RulesFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(BoilerplateTest, AddFromFileValidRules) {
  const RulesFile file("valid.rules",
                       "# Harbour Gazette templates\n"
                       "\n"
                       "line  promo   (?i)harbour deals:\n"
                       "   # indented comment\n"
                       "trailer\ttip\tTips to tips@example\\.org\\.\\s*$\r\n"
                       "line spaced Weather today: [a-z ]+$\n");
  BoilerplateRules rules = BoilerplateRules::Empty();
  const absl::Status s = rules.AddFromFile(file.path());
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(rules.size(), 3u);

  const auto promo = rules.Match("Harbour Deals: two for one");
  ASSERT_TRUE(promo.has_value());
  EXPECT_EQ(promo->rule, "promo");
  EXPECT_EQ(promo->range, (ByteRange{0, 26}));

  const std::string_view p = "The pier is shut. Tips to tips@example.org.";
  const auto tip = rules.Match(p);
  ASSERT_TRUE(tip.has_value());
  EXPECT_EQ(tip->rule, "tip");
  EXPECT_EQ(tip->range, (ByteRange{18, static_cast<uint32_t>(p.size())}));

  // The regex runs to the end of the line, spaces included.
  const auto weather = rules.Match("Weather today: sun and wind");
  ASSERT_TRUE(weather.has_value());
  EXPECT_EQ(weather->rule, "spaced");
}

TEST(BoilerplateTest, AddFromFileAddsToBuiltIn) {
  const RulesFile file("extra.rules", "line promo (?i)harbour deals:\n");
  auto rules = BoilerplateRules::BuiltIn();
  ASSERT_TRUE(rules.ok());
  const size_t before = rules->size();
  ASSERT_TRUE(rules->AddFromFile(file.path()).ok());
  EXPECT_EQ(rules->size(), before + 1);
  EXPECT_TRUE(rules->Match("READ MORE: Pier shut").has_value());
  EXPECT_TRUE(rules->Match("Harbour deals: two for one").has_value());
}

struct FileErrorCase {
  const char* name;
  std::string_view contents;
  std::string_view location;  // ":LINE: " expected after the path
  std::string_view message_part;
};

TEST(BoilerplateTest, AddFromFileErrorsNameFileAndLine) {
  const FileErrorCase cases[] = {
      {"bad kind", "# rules\nline ok abc\nparagraph bad abc\n",
       ":3: ", "unknown rule kind \"paragraph\""},
      {"missing regex", "line teaser\n", ":1: ", "expected `KIND NAME REGEX`"},
      {"missing regex with trailing space", "\n\nline teaser   \n",
       ":3: ", "expected `KIND NAME REGEX`"},
      {"kind only", "trailer\n", ":1: ", "expected `KIND NAME REGEX`"},
      {"invalid regex", "line ok abc\n# x\n\ntrailer bad (unclosed\n",
       ":4: ", "invalid regular expression for rule \"bad\""},
  };
  for (const FileErrorCase& c : cases) {
    const RulesFile file("bad.rules", c.contents);
    BoilerplateRules rules = BoilerplateRules::Empty();
    const absl::Status s = rules.AddFromFile(file.path());
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.name;
    const std::string expected_prefix = file.path() + std::string(c.location);
    EXPECT_EQ(std::string(s.message()).substr(0, expected_prefix.size()),
              expected_prefix)
        << c.name << ": " << s.message();
    EXPECT_NE(std::string(s.message()).find(c.message_part),
              std::string_view::npos)
        << c.name << ": " << s.message();
  }
}

TEST(BoilerplateTest, AddFromFileMissingFile) {
  BoilerplateRules rules = BoilerplateRules::Empty();
  const std::string path = testing::TempDir() + "no-such-dir/none.rules";
  const absl::Status s = rules.AddFromFile(path);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(std::string(s.message()).find(path), std::string_view::npos)
      << s.message();
  EXPECT_EQ(rules.size(), 0u);
}

// Line rules are screened together (one pass says which may match): the
// earliest added rule that matches still wins, and a rule added after
// matching has begun is screened too.
TEST(BoilerplateTest, EarliestLineRuleWinsAndLaterRulesCount) {
  BoilerplateRules rules = BoilerplateRules::Empty();
  ASSERT_TRUE(rules.Add("line", "broad", "(?i)deals\\b").ok());
  ASSERT_TRUE(rules.Add("line", "narrow", "(?i)deals:").ok());
  const auto first = rules.Match("Deals: ferry tickets");
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->rule, "broad");
  EXPECT_FALSE(rules.Match("Offers: ferry tickets").has_value());

  ASSERT_TRUE(rules.Add("line", "offers", "(?i)offers:").ok());
  const auto later = rules.Match("Offers: ferry tickets");
  ASSERT_TRUE(later.has_value());
  EXPECT_EQ(later->rule, "offers");
  // Only the rule that matches at the start counts, wherever the others do.
  const auto second = rules.Match("Offers: deals on ferry tickets");
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->rule, "offers");
}

TEST(BoilerplateTest, MovedRulesKeepWorking) {
  auto built = BoilerplateRules::BuiltIn();
  ASSERT_TRUE(built.ok());
  BoilerplateRules moved = std::move(built).value();
  BoilerplateRules assigned = BoilerplateRules::Empty();
  assigned = std::move(moved);
  const auto m = assigned.Match("ALSO READ: Night train returns");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->rule, "teaser");
}

TEST(BoilerplateTest, CloneMatchesLikeTheOriginal) {
  // Built-in rules plus a file's, in their order: the copy (regular
  // expressions of its own, for another thread) finds the same spans under
  // the same rule names, and outlives nothing it points into.
  const RulesFile file("clone.rules",
                       "line promo (?i)harbour deals:\n"
                       "trailer agency \\(Marlow Wire\\)\n");
  auto original = BoilerplateRules::BuiltIn();
  ASSERT_TRUE(original.ok());
  ASSERT_TRUE(original->AddFromFile(file.path()).ok());
  auto copy = original->Clone();
  ASSERT_TRUE(copy.ok()) << copy.status();
  EXPECT_EQ(copy->size(), original->size());
  std::vector<std::string_view> paragraphs = {
      "Harbour deals: two for one\nThe ferry runs daily. (Marlow Wire)"sv,
      "The pier reopens on Monday. (Marlow Wire)"sv, "READ MORE: Pier shut"sv};
  for (const MatchCase& c : kMatchCases) paragraphs.push_back(c.paragraph);
  size_t matched = 0;
  for (std::string_view paragraph : paragraphs) {
    const std::vector<BoilerplateMatch> a = original->MatchAll(paragraph);
    const std::vector<BoilerplateMatch> b = copy->MatchAll(paragraph);
    ASSERT_EQ(a.size(), b.size()) << paragraph;
    for (size_t k = 0; k < a.size(); ++k) {
      EXPECT_EQ(a[k].range, b[k].range) << paragraph;
      EXPECT_EQ(a[k].rule, b[k].rule) << paragraph;
      EXPECT_NE(a[k].rule.data(), b[k].rule.data());  // the copy's own name
    }
    matched += a.size();
  }
  EXPECT_GT(matched, 20u);
  const auto promo = copy->MatchAll(paragraphs[0]);
  ASSERT_EQ(promo.size(), 2u);
  EXPECT_EQ(promo[0].rule, "promo");
  EXPECT_EQ(promo[1].rule, "agency");
}

}  // namespace
}  // namespace newsdedup
