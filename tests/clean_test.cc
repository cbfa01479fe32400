#include "newsdedup/clean.h"

#include <gtest/gtest.h>
// The library is compiled with simdjson's interface definition
// SIMDJSON_THREADS_ENABLED, which changes the layout of simdjson::dom::parser;
// this file must see the same layout or the inline functions the two share
// break the one-definition rule (a stack overflow under ASan).
#ifndef SIMDJSON_THREADS_ENABLED
#define SIMDJSON_THREADS_ENABLED 1
#endif
#include <fcntl.h>
#include <signal.h>
#include <simdjson.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#define ZSTD_STATIC_LINKING_ONLY  // ZSTD_getFrameHeader
#include <zstd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "newsdedup/output_file.h"
#include "newsdedup/pipeline.h"
#include "newsdedup/reader.h"

namespace newsdedup {
namespace {

namespace fs = std::filesystem;

bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
         c == '\v';
}

bool ValidUtf8(std::string_view s) {
  return simdjson::validate_utf8(s.data(), s.size());
}

// A fresh, empty folder for one test; removed with everything in it.
class TempDir {
 public:
  explicit TempDir(const std::string& name)
      : path_(
            fs::temp_directory_path() /
            ("newsdedup_clean_test_" + std::to_string(getpid()) + "_" + name)) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string File(const std::string& name) const {
    return (path_ / name).string();
  }
  std::vector<std::string> Entries() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(path_)) {
      out.push_back(e.path().filename().string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  fs::path path_;
};

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

struct ReadBack {
  std::vector<Document> docs;
  std::vector<std::string> malformed;
  absl::Status status;
};

ReadBack ReadJsonl(const std::string& path) {
  ReadBack result;
  ReaderOptions options;
  options.format = InputFormat::kJsonl;
  options.keep_raw = true;
  auto reader = Reader::Open({path}, options, [&](const Malformed& m) {
    result.malformed.push_back(m.ToString());
  });
  if (!reader.ok()) {
    result.status = reader.status();
    return result;
  }
  Document doc;
  while (true) {
    auto more = (*reader)->Next(&doc);
    if (!more.ok()) {
      result.status = more.status();
      break;
    }
    if (!*more) break;
    result.docs.push_back(doc);
  }
  return result;
}

// ---------------------------------------------------------------------------
// RemoveSpans

struct RemoveCase {
  const char* name;
  std::string text;
  std::vector<ByteRange> remove;
  std::string expected;
};

TEST(RemoveSpansTest, TidiesWhitespaceAtEachCut) {
  const std::vector<RemoveCase> cases = {
      {"between paragraphs", "A\n\nB\n\nC", {{3, 4}}, "A\n\nC"},
      {"between longer paragraphs",
       "Tide tables are printed daily.\n\nThe ferry left late.\n\nTickets "
       "cost more.",
       {{32, 52}},
       "Tide tables are printed daily.\n\nTickets cost more."},
      {"blank lines of three newlines become one",
       "A x\n\n\nB\n\nC y",
       {{6, 7}},
       "A x\n\nC y"},
      {"inside a line", "one two three", {{4, 7}}, "one three"},
      {"inside a line, runs of spaces",
       "one  two   three",
       {{5, 8}},
       "one three"},
      {"inside a line, tabs", "x\ty\tz", {{2, 3}}, "x z"},
      // Punctuation left dangling by a cut goes with it.
      {"dangling comma after a sentence",
       "It fell. READ MORE, he said.",
       {{9, 18}},
       "It fell. he said."},
      {"comma kept after a word",
       "It fell sharply, he said.",
       {{8, 15}},
       "It fell, he said."},
      // Text written without spaces (Chinese) joins directly.
      {"no whitespace around the cut", "aaabbbccc", {{3, 6}}, "aaaccc"},
      // The wider break survives: a line between single newlines leaves a
      // single newline, not a blank line that was not there.
      {"a line between single newlines", "A\nB\nC", {{2, 3}}, "A\nC"},
      {"end of a line before a line", "A B\nC", {{2, 3}}, "A\nC"},
      {"end of a line before a paragraph", "A B\n\nC", {{2, 3}}, "A\n\nC"},
      {"start of a line after a paragraph", "A\n\nB C", {{3, 4}}, "A\n\nC"},
      {"at the start", "Intro\n\nBody text", {{0, 5}}, "Body text"},
      {"at the start after whitespace",
       "  Intro here\n\nBody",
       {{2, 12}},
       "Body"},
      {"at the end", "Body text\n\nSign off\n", {{11, 19}}, "Body text"},
      {"at the end before whitespace",
       "Body text\n\nSign off  \n\n",
       {{11, 19}},
       "Body text"},
      {"whole text", "all of it", {{0, 9}}, ""},
      {"whole text but whitespace", " \n all of it \n", {{3, 12}}, ""},
      {"whitespace elsewhere untouched",
       "  Lead  in\n\n\nB\n\ntail\t \n",
       {{13, 14}},
       "  Lead  in\n\ntail\t \n"},
      {"overlapping", "aaa bbb ccc ddd", {{4, 9}, {6, 11}}, "aaa ddd"},
      {"contained", "aaa bbb ccc ddd", {{4, 11}, {5, 6}}, "aaa ddd"},
      {"adjacent", "aaa bbbccc ddd", {{4, 7}, {7, 10}}, "aaa ddd"},
      {"separated by whitespace only",
       "A\n\nB1\n\nB2\n\nC",
       {{3, 5}, {7, 9}},
       "A\n\nC"},
      {"separated by a space",
       "keep one two keep",
       {{5, 8}, {9, 12}},
       "keep keep"},
      {"separated by a word stay two cuts",
       "a one b two c",
       {{2, 5}, {8, 11}},
       "a b c"},
      {"unsorted", "p1\n\np2\n\np3\n\np4", {{12, 14}, {4, 6}}, "p1\n\np3"},
      {"unsorted three cuts",
       "w0 w1 w2 w3 w4 w5 w6",
       {{15, 17}, {3, 5}, {9, 11}},
       "w0 w2 w4 w6"},
      {"past the end is clamped", "short text", {{5, 1000}}, "short"},
      {"entirely past the end is ignored",
       "short text",
       {{100, 200}},
       "short text"},
      {"empty range is ignored", "one two", {{3, 3}}, "one two"},
      {"inverted range is ignored", "one two", {{5, 2}}, "one two"},
      {"empty text", "", {{0, 4}}, ""},
  };
  for (const RemoveCase& c : cases) {
    EXPECT_EQ(RemoveSpans(c.text, c.remove), c.expected) << c.name;
  }
}

TEST(RemoveSpansTest, NoRangesReturnsInputUnchanged) {
  for (const std::string& text :
       {std::string(""), std::string("  x \n\n\n y  \r\n"),
        std::string("\t\tword"),
        std::string("Gr\xC3\xBC\xC3\x9F"
                    "e\n")}) {
    EXPECT_EQ(RemoveSpans(text, {}), text);
  }
}

TEST(RemoveSpansTest, MultiByteTextCutOnCharacterBoundaries) {
  // German: umlauts and sharp s on both sides of the cuts.
  const std::string p1 = "Die Stadtwerke erh\xC3\xB6hen die Preise.";
  const std::string p2 = "F\xC3\xBCr Kunden \xC3\xA4ndert sich nichts.";
  const std::string p3 =
      "Gr\xC3\xBC\xC3\x9F"
      "e aus K\xC3\xB6ln.";
  const std::string german = p1 + "\n\n" + p2 + "\n\n" + p3;
  const uint32_t p2_begin = p1.size() + 2;
  const uint32_t p3_begin = p2_begin + p2.size() + 2;
  EXPECT_EQ(RemoveSpans(german, {{p2_begin, p3_begin - 2}}), p1 + "\n\n" + p3);
  // A word inside a line: "Kunden" between two multi-byte words.
  const uint32_t word = p2_begin + p2.find("Kunden");
  const std::string cut_word = RemoveSpans(german, {{word, word + 7}});
  EXPECT_EQ(cut_word,
            p1 + "\n\nF\xC3\xBCr \xC3\xA4ndert sich nichts.\n\n" + p3);
  EXPECT_TRUE(ValidUtf8(cut_word));

  // Chinese: no spaces; sentences of 3-byte characters.
  const std::string s1 =
      "\xE4\xBB\x8A\xE5\xA4\xA9\xE4\xB8\x8B\xE9\x9B\xA8\xE3\x80"
      "\x82";  // 今天下雨。
  const std::string s2 =
      "\xE6\xB8\xAF\xE5\x8F\xA3\xE5\x85\xB3\xE9\x97\xAD\xE3\x80"
      "\x82";  // 港口关闭。
  const std::string s3 =
      "\xE6\x98\x8E\xE5\xA4\xA9\xE6\x99\xB4\xE3\x80\x82";  // 明天晴。
  const std::string chinese = s1 + s2 + "\n\n" + s3;
  const uint32_t s2_begin = s1.size();
  const uint32_t s2_end = s2_begin + s2.size();
  const uint32_t s3_begin = s2_end + 2;
  const uint32_t size = chinese.size();
  // The first sentence of the first paragraph.
  EXPECT_EQ(RemoveSpans(chinese, {{0, s2_begin}}), s2 + "\n\n" + s3);
  // The second sentence, then the blank line, at the paragraph end.
  EXPECT_EQ(RemoveSpans(chinese, {{s2_begin, s2_end}}), s1 + "\n\n" + s3);
  // The last paragraph.
  EXPECT_EQ(RemoveSpans(chinese, {{s3_begin, size}}), s1 + s2);
  // Every cut on a character boundary keeps the text valid UTF-8.
  for (uint32_t b = 0; b <= chinese.size(); ++b) {
    for (uint32_t e = b; e <= chinese.size(); ++e) {
      auto boundary = [&](uint32_t i) {
        return i == chinese.size() ||
               (static_cast<unsigned char>(chinese[i]) & 0xC0) != 0x80;
      };
      if (!boundary(b) || !boundary(e)) continue;
      const std::string out = RemoveSpans(chinese, {{b, e}});
      ASSERT_TRUE(ValidUtf8(out)) << b << ".." << e;
    }
  }
}

// Differential property on random ASCII texts: the non-whitespace bytes of
// the result are exactly those of the input outside the (clamped) ranges,
// in order; whitespace is only ever squeezed at the cuts, so the result is
// never longer than the input; and a cut reaching either end of the text
// leaves no whitespace at that end.
TEST(RemoveSpansTest, KeepsExactlyTheBytesOutsideTheRanges) {
  std::mt19937 rng(20250304);
  const char kAlphabet[] = {'a', 'b', 'c', ' ', ' ', '\n', '\t'};
  for (int iter = 0; iter < 3000; ++iter) {
    const size_t n = rng() % 40;
    std::string text;
    for (size_t i = 0; i < n; ++i) text += kAlphabet[rng() % sizeof(kAlphabet)];
    std::vector<ByteRange> remove;
    const int ranges = rng() % 4;
    std::vector<bool> removed(n, false);
    for (int r = 0; r < ranges; ++r) {
      const uint32_t b = rng() % (n + 3);
      const uint32_t e = b + rng() % 10;
      remove.push_back({b, e});
      for (uint32_t i = b; i < e && i < n; ++i) removed[i] = true;
    }
    std::string kept;
    for (size_t i = 0; i < n; ++i) {
      if (!removed[i] && !IsAsciiSpace(text[i])) kept += text[i];
    }
    const std::string out = RemoveSpans(text, remove);
    std::string out_kept;
    for (char c : out) {
      if (!IsAsciiSpace(c)) out_kept += c;
    }
    ASSERT_EQ(out_kept, kept) << "text \"" << text << "\" iteration " << iter;
    ASSERT_LE(out.size(), text.size());
    if (remove.empty()) {
      ASSERT_EQ(out, text);
      continue;
    }
    // A cut reached from the start over whitespace only leaves no leading
    // whitespace; likewise at the end.
    bool cut_at_start = false;
    for (size_t i = 0; i < n && (IsAsciiSpace(text[i]) || removed[i]); ++i) {
      if (removed[i]) cut_at_start = true;
    }
    if (cut_at_start && !out.empty()) {
      ASSERT_FALSE(IsAsciiSpace(out.front())) << "text \"" << text << "\"";
    }
    bool cut_at_end = false;
    for (size_t i = n; i > 0 && (IsAsciiSpace(text[i - 1]) || removed[i - 1]);
         --i) {
      if (removed[i - 1]) cut_at_end = true;
    }
    if (cut_at_end && !out.empty()) {
      ASSERT_FALSE(IsAsciiSpace(out.back())) << "text \"" << text << "\"";
    }
  }
}

// ---------------------------------------------------------------------------
// ShouldRemove

struct PolicyRow {
  SpanKind kind;
  bool title_field;  // the span is in the title field
  bool has_first;
  // expected[keep_captions][remove_repeated_titles]
  bool expected[2][2];
};

TEST(ShouldRemoveTest, PolicyTable) {
  constexpr bool T = true, F = false;
  using K = SpanKind;
  const std::vector<PolicyRow> rows = {
      // Boilerplate goes everywhere, every copy, whatever the options.
      {K::kBoilerplate, F, F, {{T, T}, {T, T}}},
      {K::kBoilerplate, F, T, {{T, T}, {T, T}}},
      {K::kBoilerplate, T, F, {{T, T}, {T, T}}},
      {K::kBoilerplate, T, T, {{T, T}, {T, T}}},
      // A caption found by pattern only (no first) stays with
      // keep_captions; a repeated caption goes either way.
      {K::kCaption, F, F, {{T, T}, {F, F}}},
      {K::kCaption, F, T, {{T, T}, {T, T}}},
      {K::kCaption, T, F, {{T, T}, {F, F}}},
      {K::kCaption, T, T, {{T, T}, {T, T}}},
      // A headline repeated in the body goes; in the title field only with
      // remove_repeated_titles.
      {K::kHeadline, F, F, {{T, T}, {T, T}}},
      {K::kHeadline, F, T, {{T, T}, {T, T}}},
      {K::kHeadline, T, F, {{F, T}, {F, T}}},
      {K::kHeadline, T, T, {{F, T}, {F, T}}},
      // Repeats go only when they have a kept first copy elsewhere.
      {K::kParagraph, F, F, {{F, F}, {F, F}}},
      {K::kParagraph, F, T, {{T, T}, {T, T}}},
      {K::kParagraph, T, F, {{F, F}, {F, F}}},
      {K::kParagraph, T, T, {{T, T}, {T, T}}},
      {K::kSpan, F, F, {{F, F}, {F, F}}},
      {K::kSpan, F, T, {{T, T}, {T, T}}},
      {K::kSpan, T, F, {{F, F}, {F, F}}},
      {K::kSpan, T, T, {{T, T}, {T, T}}},
  };
  ASSERT_EQ(rows.size(), 5u * 2 * 2);
  // The title field's name is an option of the run, not fixed to "title".
  for (const std::string title_field : {"title", "headline"}) {
    for (const PolicyRow& row : rows) {
      SpanRecord span;
      span.kind = row.kind;
      span.has_first = row.has_first;
      span.at.field = row.title_field ? title_field : std::string_view("text");
      for (int kc = 0; kc < 2; ++kc) {
        for (int rt = 0; rt < 2; ++rt) {
          CleanOptions options;
          options.keep_captions = kc;
          options.remove_repeated_titles = rt;
          EXPECT_EQ(ShouldRemove(span, options, title_field),
                    row.expected[kc][rt])
              << SpanKindName(row.kind) << " in "
              << (row.title_field ? title_field : "text")
              << " has_first=" << row.has_first << " keep_captions=" << kc
              << " remove_repeated_titles=" << rt;
        }
      }
    }
  }
}

TEST(ShouldRemoveTest, DefaultsKeepTitleButRemoveBodyHeadline) {
  const CleanOptions defaults;
  EXPECT_FALSE(defaults.keep_captions);
  EXPECT_FALSE(defaults.remove_repeated_titles);
  SpanRecord title;
  title.kind = SpanKind::kHeadline;
  title.at.field = "title";
  SpanRecord body = title;
  body.at.field = "text";
  EXPECT_FALSE(ShouldRemove(title, defaults, "title"));
  EXPECT_TRUE(ShouldRemove(body, defaults, "title"));
  // With another title field name, "title" is just a body field.
  EXPECT_TRUE(ShouldRemove(title, defaults, "headline"));
}

// ---------------------------------------------------------------------------
// ReplaceJsonStringFields

struct ReplaceCase {
  const char* name;
  std::string line;
  std::vector<std::pair<std::string, std::string>> edits;
  std::string expected;
};

absl::StatusOr<std::string> Replace(
    std::string_view line,
    const std::vector<std::pair<std::string, std::string>>& edits) {
  std::vector<FieldEdit> e;
  for (const auto& [field, value] : edits) e.push_back({field, value});
  return ReplaceJsonStringFields(line, e);
}

TEST(ReplaceJsonStringFieldsTest, ChangesOnlyTheReplacedValues) {
  const std::vector<ReplaceCase> cases = {
      {"odd spacing",
       R"({"a":1,  "text" : "x"})",
       {{"text", "new"}},
       R"({"a":1,  "text" : "new"})"},
      {"spacing after the value",
       "{ \"text\"\t:\t\"x\" ,\"b\" :[ ] }",
       {{"text", "y"}},
       "{ \"text\"\t:\t\"y\" ,\"b\" :[ ] }"},
      {"unicode escapes in other fields kept",
       R"({"id":"caf\u00e9","text":"old","tag":"\ud83d\ude00\n"})",
       {{"text", "caf\xC3\xA9"}},
       "{\"id\":\"caf\\u00e9\",\"text\":\"caf\xC3\xA9\",\"tag\":"
       "\"\\ud83d\\ude00\\n\"}"},
      {"numbers kept verbatim",
       R"({"n":1e-7,"m":-0.0,"big":18446744073709551615,"text":"t","f":1.50})",
       {{"text", "u"}},
       R"({"n":1e-7,"m":-0.0,"big":18446744073709551615,"text":"u","f":1.50})"},
      {"nested text keys untouched",
       R"({"meta":{"text":"nested","arr":["text",{"text":"deep"}]},"text":"top","after":{"text":"x"}})",
       {{"text", "TOP"}},
       R"({"meta":{"text":"nested","arr":["text",{"text":"deep"}]},"text":"TOP","after":{"text":"x"}})"},
      {"value with escapes replaced whole",
       R"({"text":"he said \"hi\" \\ \u00e9\/","z":true})",
       {{"text", "plain"}},
       R"({"text":"plain","z":true})"},
      {"value ending in an escaped backslash",
       R"({"text":"ends\\","z":null})",
       {{"text", "ok"}},
       R"({"text":"ok","z":null})"},
      {"new value is escaped",
       R"({"text":"x"})",
       {{"text", "line1\nline2 \"q\" \\ tab\t bell\x07"}},
       R"({"text":"line1\nline2 \"q\" \\ tab\t bell\u0007"})"},
      {"invalid UTF-8 in the new value becomes U+FFFD",
       R"({"text":"x"})",
       {{"text",
         "a\xFF"
         "b"}},
       R"({"text":"a\ufffdb"})"},
      {"empty new value",
       R"({"text":"something"})",
       {{"text", ""}},
       R"({"text":""})"},
      {"escaped key",
       R"({"te\u0078t":"x","k":2})",
       {{"text", "y"}},
       R"({"te\u0078t":"y","k":2})"},
      {"two fields, edits in reverse order of the line",
       R"({"title":"Old title","id":7,"text":"Old body"})",
       {{"text", "New body"}, {"title", "New title"}},
       R"({"title":"New title","id":7,"text":"New body"})"},
      {"leading and trailing whitespace and CR kept",
       "  {\"text\":\"x\"}  \r",
       {{"text", "y"}},
       "  {\"text\":\"y\"}  \r"},
  };
  for (const ReplaceCase& c : cases) {
    auto out = Replace(c.line, c.edits);
    ASSERT_TRUE(out.ok()) << c.name << ": " << out.status();
    EXPECT_EQ(*out, c.expected) << c.name;
  }
}

TEST(ReplaceJsonStringFieldsTest, NewValueParsesBack) {
  const std::string line =
      R"({"id":"r1","title":"T","text":"old","tags":["a","b"],"score":0.5})";
  const std::vector<std::string> values = {
      "",
      "plain words",
      "quotes \" and backslashes \\ and slashes /",
      "controls \x01\x02\x1F and \r\n\t",
      "Gr\xC3\xBC\xC3\x9F"
      "e \xE6\xB8\xAF\xE5\x8F\xA3 \xF0\x9F\x98\x80",
      std::string("embedded\0nul", 12),
  };
  simdjson::dom::parser parser;
  for (const std::string& value : values) {
    auto out = Replace(line, {{"text", value}, {"title", value + "!"}});
    ASSERT_TRUE(out.ok()) << out.status();
    simdjson::padded_string padded(*out);
    simdjson::dom::element root;
    ASSERT_EQ(parser.parse(padded).get(root), simdjson::SUCCESS) << *out;
    std::string_view text, title, id;
    ASSERT_EQ(root["text"].get_string().get(text), simdjson::SUCCESS);
    ASSERT_EQ(root["title"].get_string().get(title), simdjson::SUCCESS);
    ASSERT_EQ(root["id"].get_string().get(id), simdjson::SUCCESS);
    EXPECT_EQ(text, value);
    EXPECT_EQ(title, value + "!");
    EXPECT_EQ(id, "r1");
    double score = 0;
    ASSERT_EQ(root["score"].get_double().get(score), simdjson::SUCCESS);
    EXPECT_EQ(score, 0.5);
  }
}

// The reader takes the last string value of a repeated key; the rewrite must
// change that one, so that reading the cleaned record gives the new text.
TEST(ReplaceJsonStringFieldsTest, DuplicateKeysFollowTheReader) {
  TempDir dir("dup");
  const std::string line =
      R"({"text":"first copy","id":"d","text":"second copy"})";
  const std::string in_path = dir.File("in.jsonl");
  WriteBytes(in_path, line + "\n");
  ReadBack before = ReadJsonl(in_path);
  ASSERT_EQ(before.docs.size(), 1u);
  ASSERT_EQ(before.docs[0].text, "second copy");

  auto out = Replace(line, {{"text", "cleaned"}});
  ASSERT_TRUE(out.ok()) << out.status();
  const std::string out_path = dir.File("out.jsonl");
  WriteBytes(out_path, *out + "\n");
  ReadBack after = ReadJsonl(out_path);
  ASSERT_EQ(after.docs.size(), 1u);
  EXPECT_EQ(after.docs[0].text, "cleaned");
  EXPECT_EQ(*out, R"({"text":"first copy","id":"d","text":"cleaned"})");

  // A non-string copy does not hide a string one (the reader reads the
  // string), and the string one is what gets replaced.
  auto mixed = Replace(R"({"text":"body","text":5})", {{"text", "new"}});
  ASSERT_TRUE(mixed.ok()) << mixed.status();
  EXPECT_EQ(*mixed, R"({"text":"new","text":5})");
}

struct ErrorCase {
  const char* name;
  std::string line;
  std::vector<std::pair<std::string, std::string>> edits;
  std::string message_part;
};

TEST(ReplaceJsonStringFieldsTest, Errors) {
  const std::vector<ErrorCase> cases = {
      {"missing field",
       R"({"id":"x","body":"y"})",
       {{"text", "z"}},
       "missing string field \"text\""},
      {"missing second field",
       R"({"text":"y"})",
       {{"text", "z"}, {"title", "t"}},
       "\"title\""},
      {"field only nested",
       R"({"meta":{"text":"y"}})",
       {{"text", "z"}},
       "missing"},
      {"number", R"({"text":12})", {{"text", "z"}}, "not a string"},
      {"null", R"({"text":null})", {{"text", "z"}}, "not a string"},
      {"object", R"({"text":{"a":"b"}})", {{"text", "z"}}, "not a string"},
      {"array value", R"({"text":["a"]})", {{"text", "z"}}, "not a string"},
      {"array", R"(["text","x"])", {{"text", "z"}}, "not a JSON object"},
      {"string", R"("text")", {{"text", "z"}}, ""},
      {"empty line", "", {{"text", "z"}}, ""},
      {"not JSON", "text: hello", {{"text", "z"}}, ""},
      {"unterminated object", R"({"text":"x")", {{"text", "z"}}, ""},
      {"unterminated string", R"({"text":"x})", {{"text", "z"}}, ""},
      {"trailing garbage", R"({"text":"x"} {"text":"y"})", {{"text", "z"}}, ""},
      {"bad value elsewhere", R"({"text":"x","n":tru})", {{"text", "z"}}, ""},
      {"field edited twice",
       R"({"text":"x"})",
       {{"text", "a"}, {"text", "b"}},
       "twice"},
  };
  for (const ErrorCase& c : cases) {
    auto out = Replace(c.line, c.edits);
    EXPECT_FALSE(out.ok()) << c.name << " gave " << *out;
    if (!out.ok()) {
      EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument)
          << c.name;
      EXPECT_NE(out.status().message().find(c.message_part), std::string::npos)
          << c.name << ": " << out.status();
    }
  }
}

// ---------------------------------------------------------------------------
// AddJsonField

TEST(AddJsonFieldTest, AppendsAsLastMember) {
  struct Case {
    std::string line, key, value, expected;
  };
  const std::vector<Case> cases = {
      {"{}", "k", "[]", R"({"k": []})"},
      {"{ }", "k", "1", "{\"k\": 1 }"},
      {R"({"a": 1})", "newsdedup_spans", R"([{"x": 1}])",
       R"({"a": 1, "newsdedup_spans": [{"x": 1}]})"},
      {R"({"a": 1}  )", "k", "2", R"({"a": 1, "k": 2}  )"},
      {"{\"a\": 1}\r", "k", "2", "{\"a\": 1, \"k\": 2}\r"},
      {"{\"a\": 1 \t}\r\n", "k", "2", "{\"a\": 1, \"k\": 2 \t}\r\n"},
      {R"({"a": {"b": {}}})", "k", "true", R"({"a": {"b": {}}, "k": true})"},
      {"{}", "q\"uote", "null", R"({"q\"uote": null})"},
  };
  simdjson::dom::parser parser;
  for (const Case& c : cases) {
    auto out = AddJsonField(c.line, c.key, c.value);
    ASSERT_TRUE(out.ok()) << c.line << ": " << out.status();
    EXPECT_EQ(*out, c.expected) << c.line;
    simdjson::padded_string padded(*out);
    simdjson::dom::element root;
    ASSERT_EQ(parser.parse(padded).get(root), simdjson::SUCCESS) << *out;
    simdjson::dom::element value;
    EXPECT_EQ(root[c.key].get(value), simdjson::SUCCESS) << *out;
  }
}

TEST(AddJsonFieldTest, RejectsNonObjects) {
  for (const std::string line :
       {"", "   ", "[1, 2]", R"({"a": 1)", "\"s\"", "{\"a\": 1} x"}) {
    EXPECT_FALSE(AddJsonField(line, "k", "1").ok()) << line;
  }
}

// ---------------------------------------------------------------------------
// CountWords

TEST(CountWordsTest, Table) {
  const std::vector<std::pair<std::string, size_t>> cases = {
      {"", 0},
      {"  \n\t ", 0},
      {"one two three", 3},
      {"Hello, world!", 2},
      {"  spaced\n\nout  words ", 3},
      {"3.5 percent", 3},  // punctuation separates words
      {"e-mail", 2},
      {"Gr\xC3\xBC\xC3\x9F"
       "e aus K\xC3\xB6ln",
       3},
      {"\xE6\xB8\xAF\xE5\x8F\xA3\xE5\x85\xB3\xE9\x97\xAD", 4},  // 港口关闭
      {"-- ... !!", 0},
  };
  for (const auto& [text, words] : cases) {
    EXPECT_EQ(CountWords(text), words) << "\"" << text << "\"";
  }
}

// ---------------------------------------------------------------------------
// OutputFile

// Lines that compress unevenly and together exceed the 64 KiB buffers.
std::vector<std::string> SampleLines() {
  std::vector<std::string> lines;
  std::mt19937 rng(5);
  for (int i = 0; i < 3000; ++i) {
    std::string text;
    const int words = 1 + rng() % 30;
    for (int w = 0; w < words; ++w) {
      text += (w ? " " : "") + std::to_string(rng() % 100000);
    }
    if (i % 7 == 0)
      text +=
          " Gr\xC3\xBC\xC3\x9F"
          "e";
    std::string line = "{\"id\": \"r" + std::to_string(i) + "\", \"text\": ";
    AppendJsonString(text, &line);
    line += "}";
    lines.push_back(std::move(line));
  }
  return lines;
}

TEST(OutputFileTest, CompressedOutputReadsBackIdentically) {
  TempDir dir("roundtrip");
  const std::vector<std::string> lines = SampleLines();
  struct Variant {
    const char* name;
    std::string magic;
  };
  for (const Variant& v :
       {Variant{"out.jsonl", "{\""}, Variant{"out.jsonl.gz", "\x1F\x8B"},
        Variant{"out.jsonl.zst", "\x28\xB5\x2F\xFD"}}) {
    const std::string path = dir.File(v.name);
    auto out = OutputFile::Open(path);
    ASSERT_TRUE(out.ok()) << out.status();
    size_t total = 0;
    for (const std::string& line : lines) {
      // Lines in two writes, as the CLI does.
      ASSERT_TRUE((*out)->Write(line).ok());
      ASSERT_TRUE((*out)->Write("\n").ok());
      total += line.size() + 1;
    }
    ASSERT_FALSE(fs::exists(path)) << v.name << " visible before Commit";
    ASSERT_TRUE((*out)->Commit().ok()) << v.name;
    out->reset();
    const std::string bytes = ReadBytes(path);
    ASSERT_EQ(bytes.substr(0, v.magic.size()), v.magic) << v.name;
    if (v.magic.size() > 2 && v.magic[0] != '{') {
      EXPECT_LT(bytes.size(), total) << v.name << " is not compressed";
    }
    ReadBack back = ReadJsonl(path);
    ASSERT_TRUE(back.status.ok()) << back.status;
    EXPECT_TRUE(back.malformed.empty()) << back.malformed.front();
    ASSERT_EQ(back.docs.size(), lines.size()) << v.name;
    for (size_t i = 0; i < lines.size(); ++i) {
      ASSERT_EQ(back.docs[i].raw, lines[i]) << v.name << " line " << i + 1;
    }
    // Only the final file is left in the folder.
    EXPECT_EQ(dir.Entries(), std::vector<std::string>{v.name});
    fs::remove(path);
  }
}

// What zlib (gzip members one after another) or zstd (frames one after
// another) decode from `bytes`, and how many members or frames there are
// (-1 on an error): the test's own reading, independent of the library's.
std::string DecodeWhole(const std::string& bytes, bool zstd, int* parts) {
  std::string out;
  *parts = 0;
  if (zstd) {
    size_t at = 0;
    while (at < bytes.size()) {
      const size_t size =
          ZSTD_findFrameCompressedSize(bytes.data() + at, bytes.size() - at);
      const unsigned long long content =
          ZSTD_getFrameContentSize(bytes.data() + at, bytes.size() - at);
      ZSTD_frameHeader header;
      if (ZSTD_isError(size) || content == ZSTD_CONTENTSIZE_UNKNOWN ||
          content == ZSTD_CONTENTSIZE_ERROR ||
          ZSTD_getFrameHeader(&header, bytes.data() + at, size) != 0 ||
          !header.checksumFlag) {
        *parts = -1;
        return out;
      }
      const size_t before = out.size();
      out.resize(before + content);
      if (ZSTD_decompress(out.data() + before, content, bytes.data() + at,
                          size) != content) {
        *parts = -1;
        return out;
      }
      at += size;
      ++*parts;
    }
    return out;
  }
  z_stream z{};
  inflateInit2(&z, 15 + 16);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  z.avail_in = static_cast<uInt>(bytes.size());
  char buffer[1 << 16];
  while (true) {
    z.next_out = reinterpret_cast<Bytef*>(buffer);
    z.avail_out = sizeof(buffer);
    const int rc = inflate(&z, Z_NO_FLUSH);
    out.append(buffer, sizeof(buffer) - z.avail_out);
    if (rc == Z_STREAM_END) {
      ++*parts;
      if (z.avail_in == 0) break;
      inflateReset(&z);
    } else if (rc != Z_OK) {
      *parts = -1;
      break;
    }
  }
  inflateEnd(&z);
  return out;
}

// Compressed output is cut into chunks compressed on any number of threads:
// the file is the same bytes for 1, 2 and 5 threads, several members or
// frames long, and decodes (by zlib and zstd themselves) to what was
// written, in writes of every size.
TEST(OutputFileTest, CompressedOutputIsTheSameOnAnyThreads) {
  TempDir dir("threads");
  std::mt19937 rng(11);
  std::string all;
  while (all.size() < (size_t{11} << 20)) {
    std::string line =
        "{\"id\": \"" + std::to_string(rng()) + "\", \"text\": \"";
    const size_t words = rng() % 300;
    for (size_t w = 0; w < words; ++w) {
      line += "word" + std::to_string(rng() % 5000) + " ";
    }
    all += line + "\"}\n";
  }
  for (const char* name : {"t.jsonl.gz", "t.jsonl.zst"}) {
    const bool zstd = std::string(name).find(".zst") != std::string::npos;
    const std::string path = dir.File(name);
    std::string first;
    for (int threads : {1, 2, 5}) {
      SCOPED_TRACE(testing::Message() << name << ", " << threads << " threads");
      auto out = OutputFile::Open(path, threads);
      ASSERT_TRUE(out.ok()) << out.status();
      for (size_t at = 0; at < all.size();) {
        const size_t n = std::min(all.size() - at, size_t{1} + rng() % 300000);
        ASSERT_TRUE((*out)->Write(std::string_view(all).substr(at, n)).ok());
        at += n;
      }
      ASSERT_TRUE((*out)->Commit().ok());
      out->reset();
      const std::string bytes = ReadBytes(path);
      if (threads == 1) {
        first = bytes;
        int parts = 0;
        const std::string decoded = DecodeWhole(bytes, zstd, &parts);
        // Chunks of 1 MiB (gzip) or 4 MiB (zstd) of what was written.
        const size_t chunk = zstd ? size_t{4} << 20 : size_t{1} << 20;
        EXPECT_EQ(parts, static_cast<int>((all.size() + chunk - 1) / chunk));
        ASSERT_EQ(decoded.size(), all.size());
        EXPECT_TRUE(decoded == all);
        EXPECT_LT(bytes.size(), all.size() / 2);
      } else {
        EXPECT_TRUE(bytes == first);
      }
      EXPECT_EQ(dir.Entries(), std::vector<std::string>{name});
    }
    fs::remove(path);
  }
}

// A disk that refuses the bytes (here a file size limit) fails the writes
// from there on with the reason, and the commit too (a file cut short is
// never renamed into place), plain or compressed, on one thread or more;
// the threads end, and nothing is left.
TEST(OutputFileTest, RefusedWriteFailsTheCommit) {
  TempDir dir("refused");
  struct rlimit old_limit;
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  struct sigaction ignore {
  }, old_action;
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(sigaction(SIGXFSZ, &ignore, &old_action), 0);
  struct rlimit small = old_limit;
  small.rlim_cur = 1 << 20;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  std::mt19937 rng(5);
  std::string block;
  for (int i = 0; i < 200000; ++i) block += std::to_string(rng()) + " ";
  for (const char* name : {"big.jsonl.zst", "big.jsonl.gz", "big.jsonl"}) {
    for (int threads : {1, 3}) {
      SCOPED_TRACE(testing::Message() << name << ", " << threads << " threads");
      const std::string path = dir.File(name);
      {
        auto out = OutputFile::Open(path, threads);
        ASSERT_TRUE(out.ok()) << out.status();
        absl::Status written;
        for (int i = 0; i < 20 && written.ok(); ++i) {
          written = (*out)->Write(block);
        }
        const absl::Status committed = (*out)->Commit();
        EXPECT_FALSE(committed.ok());
        EXPECT_NE(committed.message().find("File too large"), std::string::npos)
            << committed;
        EXPECT_FALSE((*out)->Write("x").ok());
      }
      EXPECT_TRUE(dir.Entries().empty());
    }
  }
  setrlimit(RLIMIT_FSIZE, &old_limit);
  sigaction(SIGXFSZ, &old_action, nullptr);
}

// Writing after Commit is an error, not a crash.
TEST(OutputFileTest, WriteAfterCommitIsAnError) {
  TempDir dir("after");
  for (const char* name : {"a.jsonl", "a.jsonl.gz", "a.jsonl.zst"}) {
    for (int threads : {1, 3}) {
      auto out = OutputFile::Open(dir.File(name), threads);
      ASSERT_TRUE(out.ok()) << out.status();
      ASSERT_TRUE((*out)->Write("{\"text\": \"a\"}\n").ok());
      ASSERT_TRUE((*out)->Commit().ok());
      EXPECT_FALSE((*out)->Write(std::string(size_t{5} << 20, 'x')).ok())
          << name;
      EXPECT_FALSE((*out)->Commit().ok()) << name;
    }
  }
}

TEST(OutputFileTest, EmptyCompressedOutputIsValid) {
  TempDir dir("empty");
  for (const char* name : {"e.jsonl.gz", "e.jsonl.zst", "e.jsonl"}) {
    auto out = OutputFile::Open(dir.File(name));
    ASSERT_TRUE(out.ok()) << out.status();
    ASSERT_TRUE((*out)->Commit().ok()) << name;
    ReadBack back = ReadJsonl(dir.File(name));
    EXPECT_TRUE(back.status.ok()) << back.status;
    EXPECT_TRUE(back.docs.empty()) << name;
    EXPECT_TRUE(back.malformed.empty()) << name << ": " << back.malformed[0];
  }
}

TEST(OutputFileTest, UncommittedOutputLeavesNothing) {
  TempDir dir("atomic");
  for (const char* name : {"a.jsonl", "a.jsonl.gz", "a.jsonl.zst"}) {
    const std::string path = dir.File(name);
    {
      auto out = OutputFile::Open(path);
      ASSERT_TRUE(out.ok()) << out.status();
      for (const std::string& line : SampleLines()) {
        ASSERT_TRUE((*out)->Write(line + "\n").ok());
      }
      // Destroyed without Commit: an interrupted run.
    }
    EXPECT_FALSE(fs::exists(path)) << name;
    EXPECT_TRUE(dir.Entries().empty()) << name << ": temporary file left";
  }
  // An existing file under the final name is left as it was.
  const std::string path = dir.File("kept.jsonl.zst");
  WriteBytes(path, "previous contents\n");
  {
    auto out = OutputFile::Open(path);
    ASSERT_TRUE(out.ok()) << out.status();
    ASSERT_TRUE((*out)->Write("{\"text\": \"new\"}\n").ok());
  }
  EXPECT_EQ(ReadBytes(path), "previous contents\n");
  EXPECT_EQ(dir.Entries(), std::vector<std::string>{"kept.jsonl.zst"});
  // ... and replaced whole by a committed one.
  {
    auto out = OutputFile::Open(path);
    ASSERT_TRUE(out.ok()) << out.status();
    ASSERT_TRUE((*out)->Write("{\"text\": \"new\"}\n").ok());
    ASSERT_TRUE((*out)->Commit().ok());
  }
  ReadBack back = ReadJsonl(path);
  ASSERT_EQ(back.docs.size(), 1u);
  EXPECT_EQ(back.docs[0].text, "new");
}

TEST(OutputFileTest, OpenErrors) {
  TempDir dir("errors");
  EXPECT_FALSE(OutputFile::Open("").ok());
  auto missing = OutputFile::Open(dir.File("no/such/folder/out.jsonl"));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("no/such/folder/out.jsonl"),
            std::string::npos)
      << missing.status();
}

// A pipe (like /dev/null or /dev/stdout, which a test must not risk) is
// written in place: a file renamed over it would replace it.
TEST(OutputFileTest, PipeIsWrittenInPlace) {
  TempDir dir("fifo");
  const std::string path = dir.File("report.fifo");
  ASSERT_EQ(mkfifo(path.c_str(), 0600), 0);
  // The reading end, opened first (without waiting for a writer): the
  // bytes fit the pipe's buffer, so they are read back after Commit. Were
  // the pipe replaced, the read would see the end at once, not hang.
  const int in = open(path.c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_GE(in, 0);
  {
    auto out = OutputFile::Open(path);
    ASSERT_TRUE(out.ok()) << out.status();
    ASSERT_TRUE((*out)->Write("{\"a\": 1}\n").ok());
    ASSERT_TRUE((*out)->Commit().ok());
  }
  char buffer[64];
  const ssize_t got = read(in, buffer, sizeof(buffer));
  close(in);
  ASSERT_GE(got, 0);
  EXPECT_EQ(std::string(buffer, static_cast<size_t>(got)), "{\"a\": 1}\n");
  EXPECT_TRUE(fs::is_fifo(path));
  // Nothing else was left in the folder (no temporary file).
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.File("")),
                          fs::directory_iterator()),
            1);
}

// A path under /proc or /dev naming an open file (like /dev/stdout when
// stdout is redirected to a file) is written through, not replaced.
TEST(OutputFileTest, ProcFdPathIsWrittenThrough) {
  TempDir dir("procfd");
  const std::string target = dir.File("redirected.jsonl");
  const int fd = open(target.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(fd, 0);
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  {
    auto out = OutputFile::Open(path);
    ASSERT_TRUE(out.ok()) << out.status();
    ASSERT_TRUE((*out)->Write("{\"b\": 2}\n").ok());
    ASSERT_TRUE((*out)->Commit().ok());
  }
  close(fd);
  EXPECT_EQ(ReadBytes(target), "{\"b\": 2}\n");
}

// ---------------------------------------------------------------------------
// End to end: read, scan, clean with the policy, write compressed, read back.

TEST(CleanEndToEndTest, CleanedCorpusKeepsEverythingElse) {
  TempDir dir("e2e");
  const std::string shared =
      "The harbour board said the breakwater repairs would take until the "
      "end of the autumn season at the earliest.";
  const std::string boiler =
      "Sign up for the Quayside Bulletin to get the harbour news each "
      "morning.";
  std::vector<std::string> lines;
  for (int i = 0; i < 6; ++i) {
    const std::string own = "Story number " + std::to_string(i) +
                            " reports on gull number " + std::to_string(i * 7) +
                            " seen near pier " + std::to_string(i + 100) +
                            " during the storm.";
    // The shared paragraph is in three documents: a repeat, but too few
    // documents to be learned as the site's boilerplate.
    std::string text =
        own + "\n\n" + (i % 2 == 0 ? shared + "\n\n" : "") + boiler;
    std::string line = "{\"id\": \"q" + std::to_string(i) +
                       "\", \"site\": \"quayside.example\", \"n\": 1e-7, "
                       "\"extra\": \"caf\\u00e9\", \"text\": ";
    AppendJsonString(text, &line);
    line += ",   \"tail\": [1, {\"text\": \"nested\"}]}";
    lines.push_back(line);
  }
  std::string input;
  for (const std::string& l : lines) input += l + "\n";
  const std::string in_path = dir.File("in.jsonl");
  WriteBytes(in_path, input);

  ReadBack first = ReadJsonl(in_path);
  ASSERT_EQ(first.docs.size(), lines.size());
  auto scanner = Scanner::Create(ScanOptions());
  ASSERT_TRUE(scanner.ok());
  for (const Document& d : first.docs) (*scanner)->Add(d);
  EXPECT_TRUE((*scanner)->Finish().ok());
  std::vector<std::vector<ByteRange>> removal(first.docs.size());
  (*scanner)->ForEachSpan([&](const SpanRecord& s) {
    if (ShouldRemove(s, CleanOptions(), "title")) {
      removal[s.doc_ordinal].push_back({s.at.start, s.at.end});
    }
  });

  const std::string out_path = dir.File("out.jsonl.zst");
  auto out = OutputFile::Open(out_path);
  ASSERT_TRUE(out.ok());
  std::vector<std::string> expected_text;
  for (size_t i = 0; i < first.docs.size(); ++i) {
    const std::string text = RemoveSpans(first.docs[i].text, removal[i]);
    expected_text.push_back(text);
    auto line = ReplaceJsonStringFields(first.docs[i].raw, {{"text", text}});
    ASSERT_TRUE(line.ok()) << line.status();
    ASSERT_TRUE((*out)->Write(*line + "\n").ok());
  }
  ASSERT_TRUE((*out)->Commit().ok());

  ReadBack back = ReadJsonl(out_path);
  ASSERT_EQ(back.docs.size(), lines.size());
  // The first story keeps the shared paragraph; the boilerplate (learned:
  // six documents of one site) goes from every copy.
  EXPECT_NE(expected_text[0].find(shared), std::string::npos);
  for (size_t i = 0; i < back.docs.size(); ++i) {
    EXPECT_EQ(back.docs[i].text, expected_text[i]) << i;
    EXPECT_EQ(back.docs[i].text.find(boiler), std::string::npos) << i;
    EXPECT_EQ(back.docs[i].text.rfind("Story number " + std::to_string(i), 0),
              0u);
    if (i > 0) {
      EXPECT_EQ(back.docs[i].text.find(shared), std::string::npos) << i;
    }
    // Outside the text value, the record is byte for byte the input.
    const std::string& in = lines[i];
    const std::string& got = back.docs[i].raw;
    const size_t head = in.find("\"text\": \"") + 9;
    ASSERT_EQ(got.substr(0, head), in.substr(0, head));
    const std::string tail = ",   \"tail\": [1, {\"text\": \"nested\"}]}";
    EXPECT_EQ(got.substr(got.size() - tail.size()), tail);
  }
}

}  // namespace
}  // namespace newsdedup

namespace newsdedup {
namespace {

TEST(CleanReviewTest, TextFileHeadlineIsKeptByDefault) {
  // A text file's headline is its first line, in the text field: it is the
  // title all the same.
  SpanRecord span;
  span.kind = SpanKind::kHeadline;
  span.at = {"b.txt", "text", 0, 20};
  span.has_first = true;
  span.is_title = true;
  CleanOptions options;
  EXPECT_FALSE(ShouldRemove(span, options, "title"));
  options.remove_repeated_titles = true;
  EXPECT_TRUE(ShouldRemove(span, options, "title"));
  span.is_title = false;  // the headline repeated in the body
  EXPECT_TRUE(ShouldRemove(span, CleanOptions(), "title"));
}

}  // namespace
}  // namespace newsdedup
