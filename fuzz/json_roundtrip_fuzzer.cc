// Fuzz target for the JSONL rewriting that `newsdedup clean` does. The input
// (up to its first newline) is one JSONL line. When the reader would accept
// it (a JSON object; the text is the last string value of "text"):
// - ReplaceJsonStringFields with the same text succeeds, reads back to the
//   same text, and changes nothing but that one value's bytes;
// - replacing text (and title, when there is one) with other strings reads
//   back, reader-style, to exactly those strings, and every other top-level
//   member is unchanged (key and minified value);
// - AddJsonField appends a member and keeps the line a valid object.
// On every input, AppendJsonString of the raw bytes is a valid JSON string
// that decodes to the bytes themselves when they are valid UTF-8.
// The library is compiled with simdjson's interface definition
// SIMDJSON_THREADS_ENABLED, which changes the layout of simdjson::dom::parser;
// this file must see the same layout or the inline functions the two share
// break the one-definition rule (a stack overflow under ASan).
#ifndef SIMDJSON_THREADS_ENABLED
#define SIMDJSON_THREADS_ENABLED 1
#endif
#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "newsdedup/clean.h"
#include "newsdedup/report.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "json_roundtrip_fuzzer: check failed: %s\n", what);
    std::abort();
  }
}

// A top-level member: its key and minified value.
struct Member {
  std::string key;
  std::string value;
  bool is_string = false;
  std::string string;  // the decoded value, for strings
};

// Parses `line` as the reader does; false when it is not a JSON object.
bool ParseObject(simdjson::dom::parser& parser, std::string_view line,
                 std::vector<Member>* members) {
  simdjson::padded_string padded(line);
  simdjson::dom::element root;
  if (parser.parse(padded).get(root)) return false;
  simdjson::dom::object object;
  if (root.get_object().get(object)) return false;
  members->clear();
  for (auto field : object) {
    Member m;
    m.key = std::string(field.key);
    m.value = simdjson::minify(field.value);
    std::string_view s;
    if (!field.value.get_string().get(s)) {
      m.is_string = true;
      m.string = std::string(s);
    }
    members->push_back(std::move(m));
  }
  return true;
}

// Index of the member the reader takes for `key`: the last string value.
int ReaderField(const std::vector<Member>& members, std::string_view key) {
  int found = -1;
  for (size_t i = 0; i < members.size(); ++i) {
    if (members[i].key == key && members[i].is_string) {
      found = static_cast<int>(i);
    }
  }
  return found;
}

bool HasKey(const std::vector<Member>& members, std::string_view key) {
  for (const Member& m : members) {
    if (m.key == key) return true;
  }
  return false;
}

// `out` is `line` with one region replaced by `json`.
bool OnlyOneRegionChanged(std::string_view line, std::string_view out,
                          std::string_view json) {
  if (out.size() < json.size()) return false;
  const size_t tail = out.size() - json.size();  // bytes kept from `line`
  if (tail > line.size()) return false;
  size_t prefix = 0;
  while (prefix < tail && line[prefix] == out[prefix]) ++prefix;
  // The replaced value starts at a quote within the common prefix (or right
  // after it).
  for (size_t p = 0; p <= prefix; ++p) {
    if (out[p] != '"' || out.compare(p, json.size(), json) != 0) continue;
    const std::string_view rest = out.substr(p + json.size());
    if (rest.size() <= line.size() - p &&
        line.substr(line.size() - rest.size()) == rest) {
      return true;
    }
  }
  return false;
}

void CheckUnchangedExcept(const std::vector<Member>& before,
                          const std::vector<Member>& after,
                          const std::vector<int>& replaced, const char* what) {
  Check(before.size() == after.size(), what);
  for (size_t i = 0; i < before.size(); ++i) {
    Check(before[i].key == after[i].key, what);
    bool is_replaced = false;
    for (int r : replaced) is_replaced |= r == static_cast<int>(i);
    if (!is_replaced) Check(before[i].value == after[i].value, what);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  static simdjson::dom::parser parser;

  // AppendJsonString on arbitrary bytes gives a valid JSON string.
  {
    std::string json;
    newsdedup::AppendJsonString(bytes, &json);
    simdjson::padded_string padded(json);
    simdjson::dom::element root;
    Check(!parser.parse(padded).get(root), "AppendJsonString: invalid JSON");
    std::string_view decoded;
    Check(!root.get_string().get(decoded), "AppendJsonString: not a string");
    if (simdjson::validate_utf8(bytes.data(), bytes.size())) {
      Check(decoded == bytes, "AppendJsonString changed valid UTF-8");
    } else {
      Check(decoded.size() >= 1, "AppendJsonString dropped invalid bytes");
    }
  }

  const std::string_view line = bytes.substr(0, bytes.find('\n'));
  std::vector<Member> before;
  if (!ParseObject(parser, line, &before)) {
    // Whatever the reader rejects, the rewrite rejects too.
    newsdedup::FieldEdit edit{"text", "x"};
    Check(!newsdedup::ReplaceJsonStringFields(line, {&edit, 1}).ok(),
          "rewrote a line the reader rejects");
    return 0;
  }

  // AddJsonField keeps a valid object with the new member last.
  {
    auto added = newsdedup::AddJsonField(line, "newsdedup_spans", "[1]");
    Check(added.ok(), "AddJsonField failed on an object");
    std::vector<Member> after;
    Check(ParseObject(parser, *added, &after), "AddJsonField: invalid JSON");
    Check(after.size() == before.size() + 1, "AddJsonField: member count");
    Check(after.back().key == "newsdedup_spans" && after.back().value == "[1]",
          "AddJsonField: new member");
    CheckUnchangedExcept(before,
                         std::vector<Member>(after.begin(), after.end() - 1),
                         {}, "AddJsonField changed a member");
  }

  const int text = ReaderField(before, "text");
  if (text < 0) {
    newsdedup::FieldEdit edit{"text", "x"};
    auto out = newsdedup::ReplaceJsonStringFields(line, {&edit, 1});
    Check(!out.ok(), "rewrote a record without a string text");
    return 0;
  }

  // The same text: one region changes, to the text's canonical JSON.
  {
    const std::string& original = before[text].string;
    newsdedup::FieldEdit edit{"text", original};
    auto out = newsdedup::ReplaceJsonStringFields(line, {&edit, 1});
    Check(out.ok(), "ReplaceJsonStringFields failed on a readable record");
    std::vector<Member> after;
    Check(ParseObject(parser, *out, &after), "rewrite is not valid JSON");
    Check(ReaderField(after, "text") == text, "text moved");
    Check(after[text].string == original, "text changed");
    CheckUnchangedExcept(before, after, {text}, "another member changed");
    std::string json;
    newsdedup::AppendJsonString(original, &json);
    Check(OnlyOneRegionChanged(line, *out, json),
          "bytes outside the text value changed");
  }

  // Other values, for text and title at once.
  {
    const std::string new_text =
        "<" + before[text].string + "\" \\ \n\t\x01 \xC3\xA9>";
    std::vector<newsdedup::FieldEdit> edits = {{"text", new_text}};
    std::vector<int> replaced = {text};
    const int title = ReaderField(before, "title");
    const std::string new_title =
        title >= 0 ? before[title].string + " (edited)" : "";
    if (title >= 0) {
      edits.push_back({"title", new_title});
      replaced.push_back(title);
    }
    auto out = newsdedup::ReplaceJsonStringFields(line, edits);
    Check(out.ok(), "ReplaceJsonStringFields failed on a readable record");
    std::vector<Member> after;
    Check(ParseObject(parser, *out, &after), "rewrite is not valid JSON");
    CheckUnchangedExcept(before, after, replaced, "another member changed");
    Check(ReaderField(after, "text") == text, "text moved");
    Check(after[text].string == new_text, "reader reads another text");
    if (title >= 0) {
      Check(ReaderField(after, "title") == title, "title moved");
      Check(after[title].string == new_title, "reader reads another title");
    } else if (HasKey(before, "title")) {
      // A non-string title is an error, not silently skipped.
      newsdedup::FieldEdit edit{"title", "t"};
      Check(!newsdedup::ReplaceJsonStringFields(line, {&edit, 1}).ok(),
            "replaced a non-string title");
    }
  }
  return 0;
}
