#include "newsdedup/report.h"

#include <gtest/gtest.h>

#include <string>

namespace newsdedup {
namespace {

std::string Json(std::string_view s) {
  std::string out;
  AppendJsonString(s, &out);
  return out;
}

TEST(ReportTest, JsonStringEscapes) {
  const struct {
    std::string_view in;
    std::string out;
  } cases[] = {
      {"plain", "\"plain\""},
      {"quote \" and \\ backslash", "\"quote \\\" and \\\\ backslash\""},
      {"line\nbreak\ttab\rcr", "\"line\\nbreak\\ttab\\rcr\""},
      {std::string_view("nul\0x", 5), "\"nul\\u0000x\""},
      {"\x01\x1f", "\"\\u0001\\u001f\""},
      {"Gr\xC3\xBC\xC3\x9F"
       "e \xE4\xB8\xAD",
       "\"Gr\xC3\xBC\xC3\x9F"
       "e \xE4\xB8\xAD\""},
      // Invalid UTF-8 becomes U+FFFD escapes, one per bad byte.
      {"a\xFF"
       "b",
       "\"a\\ufffdb\""},
      {"\xE4\xB8", "\"\\ufffd\\ufffd\""},
  };
  for (const auto& c : cases) EXPECT_EQ(Json(c.in), c.out) << c.in;
}

TEST(ReportTest, SpanLineMatchesTheContract) {
  SpanRecord span;
  span.at = {"bbc/business/001.txt", "text", 120, 245};
  span.kind = SpanKind::kParagraph;
  span.match = MatchType::kNear;
  span.similarity = 0.86;
  span.scope = Scope::kCrossSite;
  span.cluster = 17;
  span.count = 3;
  span.first = {"reuters/20080901/a", "text", 0, 130};
  std::string line;
  AppendSpanJson(span, &line);
  EXPECT_EQ(line,
            "{\"doc\": \"bbc/business/001.txt\", \"field\": \"text\", "
            "\"start\": 120, \"end\": 245, \"kind\": \"paragraph\", "
            "\"match\": \"near\", \"similarity\": 0.86, \"scope\": "
            "\"cross_site\", \"cluster\": 17, \"count\": 3, \"first\": "
            "{\"doc\": \"reuters/20080901/a\", \"field\": \"text\", "
            "\"start\": 0, \"end\": 130}}\n");
}

TEST(ReportTest, BoilerplateHasNoFirst) {
  SpanRecord span;
  span.at = {"d", "text", 0, 10};
  span.kind = SpanKind::kBoilerplate;
  span.match = MatchType::kExact;
  span.scope = Scope::kSameSite;
  span.has_first = false;
  std::string line;
  AppendSpanJson(span, &line);
  EXPECT_EQ(line.find("first"), std::string::npos);
  EXPECT_NE(line.find("\"kind\": \"boilerplate\""), std::string::npos);
  EXPECT_NE(line.find("\"similarity\": 1.0,"), std::string::npos);
}

TEST(ReportTest, SimilarityIsRoundedToFourDecimals) {
  const struct {
    double value;
    const char* text;
  } cases[] = {{1.0, "1.0"},          {0.5, "0.5"},      {0.70001, "0.7"},
               {0.123456, "0.1235"},  {0.99999, "1.0"},  {0.0, "0.0"},
               {2.0 / 3.0, "0.6667"}, {0.05, "0.05"},    {0.0001, "0.0001"},
               {0.10004, "0.1"},      {0.80999, "0.81"}, {0.000049, "0.0"}};
  for (const auto& c : cases) {
    SpanRecord span;
    span.at = {"d", "text", 0, 1};
    span.first = {"e", "text", 0, 1};
    span.similarity = c.value;
    std::string line;
    AppendSpanJson(span, &line);
    EXPECT_NE(line.find(std::string("\"similarity\": ") + c.text + ","),
              std::string::npos)
        << c.value << " -> " << line;
  }
}

TEST(ReportTest, EnumNames) {
  EXPECT_EQ(SpanKindName(SpanKind::kHeadline), "headline");
  EXPECT_EQ(SpanKindName(SpanKind::kCaption), "caption");
  EXPECT_EQ(SpanKindName(SpanKind::kSpan), "span");
  EXPECT_EQ(MatchTypeName(MatchType::kPattern), "pattern");
  EXPECT_EQ(ScopeName(Scope::kSameDocument), "same_document");
  EXPECT_EQ(ScopeName(Scope::kSameSite), "same_site");
}

}  // namespace
}  // namespace newsdedup
