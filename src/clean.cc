#include "newsdedup/clean.h"

#include <simdjson.h>

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "newsdedup/tokenize.h"

namespace newsdedup {

bool ShouldRemove(const SpanRecord& span, const CleanOptions& options,
                  std::string_view title_field) {
  switch (span.kind) {
    case SpanKind::kBoilerplate:
      return true;
    case SpanKind::kCaption:
      return span.has_first || !options.keep_captions;
    case SpanKind::kHeadline:
      // The headline itself (a title field, or a text file's first line)
      // stays unless asked; its repeats in the body go.
      if (span.is_title || span.at.field == title_field) {
        return options.remove_repeated_titles;
      }
      return true;
    case SpanKind::kParagraph:
    case SpanKind::kSpan:
      return span.has_first;
  }
  return false;
}

namespace {

inline bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
         c == '\v';
}

}  // namespace

std::string RemoveSpans(std::string_view text, std::vector<ByteRange> remove) {
  if (remove.empty()) return std::string(text);
  std::sort(
      remove.begin(), remove.end(),
      [](const ByteRange& a, const ByteRange& b) { return a.begin < b.begin; });
  // Merge ranges that overlap or are separated by whitespace only.
  std::vector<ByteRange> merged;
  for (ByteRange r : remove) {
    r.end = std::min<uint32_t>(r.end, static_cast<uint32_t>(text.size()));
    if (r.begin >= r.end) continue;
    if (!merged.empty()) {
      uint32_t gap = merged.back().end;
      while (gap < r.begin && IsSpace(text[gap])) ++gap;
      if (gap >= r.begin) {
        merged.back().end = std::max(merged.back().end, r.end);
        continue;
      }
    }
    merged.push_back(r);
  }
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;  // next byte of `text` to copy
  for (const ByteRange& r : merged) {
    // Whitespace on both sides of the cut is replaced by one separator.
    size_t left = r.begin;
    while (left > pos && IsSpace(text[left - 1])) --left;
    size_t right = r.end;
    while (right < text.size() && IsSpace(text[right])) ++right;
    out.append(text.substr(pos, left - pos));
    // Punctuation that belonged to the removed words (", the mayor said"
    // after a cut that ends a sentence) would dangle: drop it with its
    // space.
    if (right < text.size() &&
        (text[right] == ',' || text[right] == ';' || text[right] == ':')) {
      size_t last = out.size();
      while (last > 0 && IsSpace(out[last - 1])) --last;
      const char before = last > 0 ? out[last - 1] : '.';
      if (before == '.' || before == '!' || before == '?' || before == ',' ||
          before == ';' || before == ':') {
        ++right;
        while (right < text.size() && IsSpace(text[right])) ++right;
      }
    }
    const bool at_start = out.empty() || left == 0;
    const bool at_end = right == text.size();
    // No space goes before closing punctuation ("fell, he said").
    const bool before_punctuation =
        right < text.size() &&
        (text[right] == ',' || text[right] == '.' || text[right] == ';' ||
         text[right] == ':' || text[right] == '!' || text[right] == '?' ||
         text[right] == ')');
    const bool touching =
        (left == r.begin && right == r.end) || before_punctuation;
    if (!at_start && !at_end && !touching) {
      // The wider of the two breaks around the cut survives: a paragraph
      // break, a line break, or a space.
      int before = 0, after = 0;
      for (size_t i = left; i < r.begin; ++i) before += text[i] == '\n';
      for (size_t i = r.end; i < right; ++i) after += text[i] == '\n';
      const int newlines = std::max(before, after);
      out.append(newlines >= 2 ? "\n\n" : newlines == 1 ? "\n" : " ");
    }
    pos = right;
  }
  out.append(text.substr(pos));
  return out;
}

size_t CountWords(std::string_view text) { return Tokenize(text).size(); }

namespace {

// End (one past the closing quote) of the JSON string starting at `begin`.
size_t StringEnd(std::string_view line, size_t begin) {
  size_t i = begin + 1;
  while (i < line.size()) {
    if (line[i] == '\\') {
      i += 2;
    } else if (line[i] == '"') {
      return i + 1;
    } else {
      ++i;
    }
  }
  return line.size();
}

}  // namespace

absl::StatusOr<std::string> ReplaceJsonStringFields(
    std::string_view line, absl::Span<const FieldEdit> edits) {
  simdjson::padded_string padded(line);
  {
    // On-demand parsing validates only what it visits (not skipped values,
    // not text after the object); the DOM parser validates the whole line.
    simdjson::dom::parser validator;
    simdjson::dom::element root;
    if (validator.parse(padded).get(root)) {
      return absl::InvalidArgumentError("invalid JSON");
    }
  }
  simdjson::ondemand::parser parser;
  simdjson::ondemand::document doc;
  if (parser.iterate(padded).get(doc)) {
    return absl::InvalidArgumentError("invalid JSON");
  }
  simdjson::ondemand::object object;
  if (doc.get_object().get(object)) {
    return absl::InvalidArgumentError("record is not a JSON object");
  }
  for (size_t e = 0; e < edits.size(); ++e) {
    for (size_t f = 0; f < e; ++f) {
      if (edits[f].field == edits[e].field) {
        return absl::InvalidArgumentError(absl::StrCat(
            "field \"", std::string(edits[e].field), "\" edited twice"));
      }
    }
  }
  // Where each edited field's value starts. A repeated key is valid JSON;
  // the reader takes the last string value, so that is the one replaced.
  struct Found {
    bool seen = false;    // the key occurs
    bool string = false;  // with a string value
    size_t begin = 0;     // the opening quote of the last string value
  };
  std::vector<Found> found(edits.size());
  for (auto field : object) {
    std::string_view key;
    if (field.unescaped_key().get(key)) {
      return absl::InvalidArgumentError("invalid JSON key");
    }
    simdjson::ondemand::value value;
    if (field.value().get(value)) {
      return absl::InvalidArgumentError("invalid JSON value");
    }
    for (size_t e = 0; e < edits.size(); ++e) {
      if (key != edits[e].field) continue;
      found[e].seen = true;
      simdjson::ondemand::json_type type;
      if (value.type().get(type) ||
          type != simdjson::ondemand::json_type::string) {
        continue;
      }
      // raw_json_token points at the opening quote inside `padded`.
      const std::string_view raw = value.raw_json_token();
      found[e].string = true;
      found[e].begin = static_cast<size_t>(raw.data() - padded.data());
    }
  }
  struct Replacement {
    size_t begin, end;
    std::string json;
  };
  std::vector<Replacement> replacements;
  for (size_t e = 0; e < edits.size(); ++e) {
    if (!found[e].seen) {
      return absl::InvalidArgumentError(absl::StrCat(
          "missing string field \"", std::string(edits[e].field), "\""));
    }
    if (!found[e].string) {
      return absl::InvalidArgumentError(absl::StrCat(
          "field \"", std::string(edits[e].field), "\" is not a string"));
    }
    Replacement r{found[e].begin, StringEnd(line, found[e].begin), ""};
    AppendJsonString(edits[e].value, &r.json);
    replacements.push_back(std::move(r));
  }
  std::sort(replacements.begin(), replacements.end(),
            [](const Replacement& a, const Replacement& b) {
              return a.begin < b.begin;
            });
  std::string out;
  out.reserve(line.size());
  size_t pos = 0;
  for (const Replacement& r : replacements) {
    out.append(line.substr(pos, r.begin - pos));
    out.append(r.json);
    pos = r.end;
  }
  out.append(line.substr(pos));
  return out;
}

absl::StatusOr<std::string> AddJsonField(std::string_view line,
                                         std::string_view key,
                                         std::string_view value_json) {
  size_t end = line.size();
  while (end > 0 && IsSpace(line[end - 1])) --end;
  if (end == 0 || line[end - 1] != '}') {
    return absl::InvalidArgumentError("record is not a JSON object");
  }
  size_t before = end - 1;
  while (before > 0 && IsSpace(line[before - 1])) --before;
  const bool empty_object = before > 0 && line[before - 1] == '{';
  std::string out(line.substr(0, before));
  if (!empty_object) out.append(", ");
  AppendJsonString(key, &out);
  out.append(": ");
  out.append(value_json);
  out.append(line.substr(before));
  return out;
}

}  // namespace newsdedup
