#include "newsdedup/eval.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace newsdedup {
namespace {

// A label file written for one test and removed after it.
class LabelFile {
 public:
  LabelFile(const std::string& name, const std::string& contents)
      : path_(testing::TempDir() + name) {
    std::ofstream(path_, std::ios::binary) << contents;
  }
  ~LabelFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

SpanRecord Span(std::string_view doc, uint32_t start, uint32_t end,
                SpanKind kind, std::string_view first = "") {
  SpanRecord s;
  s.at = {doc, "text", start, end};
  s.kind = kind;
  s.has_first = !first.empty();
  s.first = {first, "text", 0, 10};
  return s;
}

TEST(EvalTest, ReadsHeaderNegativesAndFindings) {
  LabelFile file("labels_ok.jsonl",
                 "{\"labels\": \"newsdedup-eval\", \"name\": \"demo\", "
                 "\"kinds\": [\"paragraph\", \"span\"]}\n"
                 "{\"doc\": \"n1\"}\n"
                 "\n"
                 "{\"doc\": \"a\", \"start\": 5, \"end\": 50, \"kind\": "
                 "\"paragraph\", \"first\": {\"doc\": \"src\"}, \"edit\": "
                 "\"word-2\"}\n"
                 "{\"doc\": 42, \"field\": \"title\", \"start\": 0, \"end\": "
                 "9, \"kind\": \"headline\"}\n");
  auto set = ReadLabels(file.path());
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->name, "demo");
  EXPECT_FALSE(set->scored[static_cast<int>(SpanKind::kHeadline)]);
  EXPECT_TRUE(set->scored[static_cast<int>(SpanKind::kSpan)]);
  EXPECT_EQ(set->docs, (std::vector<std::string>{"n1", "a", "42"}));
  ASSERT_EQ(set->labels.size(), 2u);
  EXPECT_EQ(set->labels[0].field, "text");
  EXPECT_EQ(set->labels[0].first_doc, "src");
  EXPECT_EQ(set->labels[0].edit, "word-2");
  EXPECT_EQ(set->labels[0].line, 4u);
  EXPECT_EQ(set->labels[1].field, "title");
  EXPECT_EQ(set->labels[1].kind, SpanKind::kHeadline);
}

TEST(EvalTest, ErrorsNameFileAndLine) {
  const struct {
    const char* text;
    const char* why;
  } cases[] = {
      {"{\"doc\": \"a\"}\n{\"doc\": \"b\", \"start\": 9, \"end\": 3, "
       "\"kind\": \"span\"}\n",
       ":2: \"start\" is after \"end\""},
      {"{\"doc\": \"a\"}\nnot json\n", ":2: invalid JSON"},
      {"{\"start\": 0, \"end\": 3, \"kind\": \"span\"}\n", ":1: missing"},
      {"{\"doc\": \"a\", \"start\": 0, \"end\": 3, \"kind\": \"quote\"}\n",
       ":1: \"kind\" must be"},
      {"{\"doc\": \"a\", \"start\": -1, \"end\": 3, \"kind\": \"span\"}\n",
       ":1: \"start\" and \"end\" must be byte offsets"},
      {"{\"doc\": \"a\", \"end\": 3, \"kind\": \"span\"}\n",
       ":1: a label with a span needs"},
      {"{\"labels\": \"x\", \"kinds\": [\"paragraph\", \"quote\"]}\n",
       ":1: unknown kind"},
  };
  int i = 0;
  for (const auto& c : cases) {
    LabelFile file("labels_bad" + std::to_string(i++) + ".jsonl", c.text);
    auto set = ReadLabels(file.path());
    ASSERT_FALSE(set.ok()) << c.text;
    const std::string message(set.status().message());
    EXPECT_NE(message.find(file.path() + c.why), std::string::npos) << message;
  }
}

TEST(EvalTest, MissingFileIsAnError) {
  auto set = ReadLabels(testing::TempDir() + "no-such-labels.jsonl");
  ASSERT_FALSE(set.ok());
  EXPECT_NE(set.status().message().find("no-such-labels.jsonl"),
            std::string::npos);
}

// Labels in "a": paragraphs [0,100) and [200,300), a passage [400,450);
// "n" is a negative; "u" is not judged; "gone" is judged but not scanned.
LabelSet Example() {
  LabelSet set;
  set.docs = {"a", "n", "gone"};
  Label p1{"a", "text", 0, 100, SpanKind::kParagraph, "src", "w1", 1};
  Label p2{"a", "text", 200, 300, SpanKind::kParagraph, "", "w2", 2};
  Label s1{"a", "text", 400, 450, SpanKind::kSpan, "", "", 3};
  Label g{"gone", "text", 0, 10, SpanKind::kSpan, "", "", 4};
  set.labels = {p1, p2, s1, g};
  return set;
}

TEST(EvalTest, ScoresFindingsAndBytesPerKind) {
  const std::vector<SpanRecord> spans = {
      Span("a", 0, 100, SpanKind::kParagraph, "src"),  // right
      Span("a", 210, 300, SpanKind::kSpan, "src"),     // inside p2: a passage
      Span("a", 500, 560, SpanKind::kParagraph, "x"),  // false positive
      Span("n", 0, 50, SpanKind::kParagraph, "x"),     // false positive
      Span("u", 0, 80, SpanKind::kParagraph, "x"),     // not judged
  };
  const std::vector<std::string> seen = {"a", "n", "u"};
  const EvalResult r = Evaluate(Example(), spans, seen);
  EXPECT_EQ(r.judged_docs, 2u);
  EXPECT_EQ(r.missing_docs, 1u);

  const Score& para = r.by_kind[static_cast<int>(SpanKind::kParagraph)];
  EXPECT_EQ(para.labels, 2u);
  EXPECT_EQ(para.found, 1u);
  EXPECT_EQ(para.covered, 2u);
  EXPECT_EQ(para.reported, 3u);
  EXPECT_EQ(para.correct, 1u);
  EXPECT_EQ(para.label_bytes, 200u);
  EXPECT_EQ(para.found_bytes, 100u);
  EXPECT_EQ(para.reported_bytes, 210u);
  EXPECT_EQ(para.correct_bytes, 100u);
  EXPECT_DOUBLE_EQ(para.Recall(), 0.5);
  EXPECT_DOUBLE_EQ(para.Precision(), 1.0 / 3);
  EXPECT_DOUBLE_EQ(para.F1(), 0.4);

  const Score& span = r.by_kind[static_cast<int>(SpanKind::kSpan)];
  EXPECT_EQ(span.labels, 1u);
  EXPECT_EQ(span.found, 0u);
  EXPECT_EQ(span.reported, 1u);
  EXPECT_EQ(span.correct, 1u);
  EXPECT_EQ(span.correct_bytes, 90u);

  EXPECT_EQ(r.all.labels, 3u);
  EXPECT_EQ(r.all.found, 2u);
  EXPECT_EQ(r.all.reported, 4u);
  EXPECT_EQ(r.all.correct, 2u);
  EXPECT_EQ(r.all.label_bytes, 250u);
  EXPECT_EQ(r.all.found_bytes, 190u);
  EXPECT_EQ(r.all.reported_bytes, 300u);
  EXPECT_EQ(r.all.correct_bytes, 190u);
  EXPECT_EQ(r.all.first_labelled, 1u);
  EXPECT_EQ(r.all.first_agree, 1u);

  EXPECT_EQ(r.by_edit.at("w1").found, 1u);
  EXPECT_EQ(r.by_edit.at("w2").found, 0u);
  EXPECT_EQ(r.by_edit.at("w2").covered, 1u);
  EXPECT_EQ(r.by_edit.at("(none)").labels, 1u);
}

TEST(EvalTest, UnscoredKindsAndWrongFirst) {
  LabelSet set = Example();
  set.scored = {false, false, true, false, false};  // paragraphs only
  const std::vector<SpanRecord> spans = {
      Span("a", 0, 60, SpanKind::kParagraph, "other"),  // found, wrong first
      Span("a", 400, 450, SpanKind::kSpan, "src"),      // not scored
      Span("n", 0, 40, SpanKind::kBoilerplate),         // not scored
  };
  const EvalResult r = Evaluate(set, spans);
  EXPECT_EQ(r.missing_docs, 0u);  // no list of scanned documents given
  EXPECT_EQ(r.all.labels, 2u);
  EXPECT_EQ(r.all.reported, 1u);
  EXPECT_EQ(r.all.correct, 1u);
  EXPECT_EQ(r.all.found, 1u);  // 60 of 100 bytes: at least half
  EXPECT_EQ(r.all.first_labelled, 1u);
  EXPECT_EQ(r.all.first_agree, 0u);
  const std::string table = FormatEval(r);
  EXPECT_NE(table.find("paragraph"), std::string::npos);
  EXPECT_EQ(table.find("boilerplate"), std::string::npos);
  const std::string json = EvalJson(r);
  EXPECT_NE(json.find("\"all\": {\"labels\": 2, \"found\": 1"),
            std::string::npos)
      << json;
}

TEST(EvalTest, LessThanHalfIsNotFound) {
  const std::vector<SpanRecord> spans = {
      Span("a", 0, 49, SpanKind::kParagraph, "src"),
      Span("a", 60, 100, SpanKind::kParagraph, "src"),
      Span("a", 200, 249, SpanKind::kParagraph, "src"),
  };
  const EvalResult r = Evaluate(Example(), spans);
  const Score& para = r.by_kind[static_cast<int>(SpanKind::kParagraph)];
  // p1: 89 of 100 bytes in two pieces; p2: 49 of 100, less than half.
  EXPECT_EQ(para.found, 1u);
  EXPECT_EQ(para.found_bytes, 138u);
  EXPECT_EQ(para.correct, 3u);
}

}  // namespace
}  // namespace newsdedup
