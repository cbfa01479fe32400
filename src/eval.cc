#include "newsdedup/eval.h"

#include <algorithm>
#include <cstdio>
#include <string_view>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "internal/byte_source.h"
#include "simdjson.h"

namespace newsdedup {
namespace {

constexpr uint64_t kMaxLabelLine = uint64_t{1} << 24;

bool KindFromName(std::string_view name, SpanKind* kind) {
  for (int k = 0; k < 5; ++k) {
    if (SpanKindName(static_cast<SpanKind>(k)) == name) {
      *kind = static_cast<SpanKind>(k);
      return true;
    }
  }
  return false;
}

// Reads an unsigned offset that fits 32 bits.
bool GetOffset(simdjson::dom::element value, uint32_t* out) {
  uint64_t v = 0;
  if (value.get_uint64().get(v) || v > UINT32_MAX) return false;
  *out = static_cast<uint32_t>(v);
  return true;
}

absl::Status LineError(const std::string& path, uint64_t line,
                       std::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat(path, ":", line, ": ", std::string(why)));
}

struct Interval {
  uint32_t begin, end;
};

// Sorts and merges overlapping or touching intervals in place.
void Merge(std::vector<Interval>* v) {
  std::sort(v->begin(), v->end(), [](const Interval& a, const Interval& b) {
    return a.begin < b.begin || (a.begin == b.begin && a.end < b.end);
  });
  size_t out = 0;
  for (const Interval& i : *v) {
    if (i.end <= i.begin) continue;
    if (out > 0 && i.begin <= (*v)[out - 1].end) {
      (*v)[out - 1].end = std::max((*v)[out - 1].end, i.end);
    } else {
      (*v)[out++] = i;
    }
  }
  v->resize(out);
}

uint64_t Length(const std::vector<Interval>& merged) {
  uint64_t n = 0;
  for (const Interval& i : merged) n += i.end - i.begin;
  return n;
}

// Bytes of [begin, end) inside a merged union.
uint64_t Overlap(uint32_t begin, uint32_t end,
                 const std::vector<Interval>& merged) {
  auto it =
      std::upper_bound(merged.begin(), merged.end(), begin,
                       [](uint32_t b, const Interval& i) { return b < i.end; });
  uint64_t n = 0;
  for (; it != merged.end() && it->begin < end; ++it) {
    n += std::min(end, it->end) - std::max(begin, it->begin);
  }
  return n;
}

uint64_t Overlap(const std::vector<Interval>& a,
                 const std::vector<Interval>& b) {
  uint64_t n = 0;
  for (const Interval& i : a) n += Overlap(i.begin, i.end, b);
  return n;
}

// Half or more of [begin, end) lies in `merged`.
bool MostlyIn(uint32_t begin, uint32_t end,
              const std::vector<Interval>& merged) {
  return 2 * Overlap(begin, end, merged) >= uint64_t{end} - begin;
}

double Ratio(uint64_t a, uint64_t b) {
  return b == 0 ? 1.0 : static_cast<double>(a) / static_cast<double>(b);
}

double Harmonic(double p, double r) {
  return p + r == 0 ? 0.0 : 2 * p * r / (p + r);
}

struct Group {
  std::vector<const Label*> labels;
  std::vector<const SpanRecord*> spans;
};

}  // namespace

double Score::Recall() const { return Ratio(found, labels); }
double Score::Precision() const { return Ratio(correct, reported); }
double Score::F1() const { return Harmonic(Precision(), Recall()); }
double Score::ByteRecall() const { return Ratio(found_bytes, label_bytes); }
double Score::BytePrecision() const {
  return Ratio(correct_bytes, reported_bytes);
}
double Score::ByteF1() const { return Harmonic(BytePrecision(), ByteRecall()); }

absl::StatusOr<LabelSet> ReadLabels(const std::string& path) {
  auto source = internal::ByteSource::Open(path);
  if (!source.ok()) return source.status();
  internal::LineReader lines(std::move(*source), kMaxLabelLine);
  LabelSet set;
  absl::flat_hash_set<std::string> judged;
  simdjson::dom::parser parser;
  std::string_view line;
  bool too_long = false;
  while (true) {
    auto more = lines.Next(&line, &too_long);
    if (!more.ok()) return more.status();
    if (!*more) break;
    const uint64_t n = lines.line_number();
    if (too_long) return LineError(path, n, "line too long");
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    // The line reader leaves SIMDJSON_PADDING readable bytes after it.
    static_assert(internal::kLinePadding >= simdjson::SIMDJSON_PADDING);
    simdjson::dom::element root;
    if (auto error = parser.parse(line.data(), line.size(), false).get(root)) {
      return LineError(
          path, n,
          absl::StrCat("invalid JSON: ", simdjson::error_message(error)));
    }
    simdjson::dom::object object;
    if (root.get_object().get(object)) {
      return LineError(path, n, "not a JSON object");
    }
    simdjson::dom::element value;
    if (!object["labels"].get(value)) {  // the header
      std::string_view name;
      if (!object["name"].get_string().get(name)) set.name.assign(name);
      simdjson::dom::array kinds;
      if (!object["kinds"].get(value)) {
        if (value.get_array().get(kinds)) {
          return LineError(path, n, "\"kinds\" must be an array of kinds");
        }
        set.scored = {false, false, false, false, false};
        for (simdjson::dom::element k : kinds) {
          std::string_view kind_name;
          SpanKind kind;
          if (k.get_string().get(kind_name) ||
              !KindFromName(kind_name, &kind)) {
            return LineError(path, n,
                             "unknown kind in \"kinds\" (headline, caption, "
                             "paragraph, span, boilerplate)");
          }
          set.scored[static_cast<int>(kind)] = true;
        }
      }
      continue;
    }
    Label label;
    label.line = n;
    std::string_view s;
    if (!object["doc"].get(value) && !value.get_string().get(s)) {
      label.doc.assign(s);
    } else if (!object["doc"].get(value) &&
               (value.is_int64() || value.is_uint64())) {
      label.doc = simdjson::minify(value);
    } else {
      return LineError(path, n, "missing \"doc\"");
    }
    if (judged.insert(label.doc).second) set.docs.push_back(label.doc);
    const bool has_start = !object["start"].get(value);
    if (!has_start) {
      simdjson::dom::element unused;
      if (!object["end"].get(unused) || !object["kind"].get(unused)) {
        return LineError(path, n,
                         "a label with a span needs \"start\" and \"end\"");
      }
      continue;  // a judged document without findings
    }
    if (!GetOffset(value, &label.start) || object["end"].get(value) ||
        !GetOffset(value, &label.end)) {
      return LineError(path, n, "\"start\" and \"end\" must be byte offsets");
    }
    if (label.start > label.end) {
      return LineError(path, n, "\"start\" is after \"end\"");
    }
    label.field = "text";
    if (!object["field"].get_string().get(s)) label.field.assign(s);
    if (object["kind"].get_string().get(s) || !KindFromName(s, &label.kind)) {
      return LineError(path, n,
                       "\"kind\" must be headline, caption, paragraph, span "
                       "or boilerplate");
    }
    simdjson::dom::object first;
    if (!object["first"].get_object().get(first) && !first["doc"].get(value)) {
      if (!value.get_string().get(s)) {
        label.first_doc.assign(s);
      } else {
        label.first_doc = simdjson::minify(value);
      }
    }
    if (!object["edit"].get_string().get(s)) label.edit.assign(s);
    set.labels.push_back(std::move(label));
  }
  return set;
}

EvalResult Evaluate(const LabelSet& labels, absl::Span<const SpanRecord> spans,
                    absl::Span<const std::string> seen_docs) {
  EvalResult result;
  result.name = labels.name;
  result.scored = labels.scored;
  absl::flat_hash_set<std::string_view> seen(seen_docs.begin(),
                                             seen_docs.end());
  absl::flat_hash_set<std::string_view> judged;
  for (const std::string& doc : labels.docs) {
    if (!seen.empty() && !seen.contains(doc)) {
      ++result.missing_docs;
      continue;
    }
    judged.insert(doc);
  }
  result.judged_docs = judged.size();

  // (doc, field) -> labels and spans there.
  absl::flat_hash_map<std::pair<std::string_view, std::string_view>, Group>
      groups;
  for (const Label& l : labels.labels) {
    if (!judged.contains(l.doc)) continue;
    if (!labels.scored[static_cast<int>(l.kind)]) continue;
    groups[{l.doc, l.field}].labels.push_back(&l);
  }
  for (const SpanRecord& s : spans) {
    if (!labels.scored[static_cast<int>(s.kind)]) continue;
    if (!judged.contains(s.at.doc)) continue;
    groups[{s.at.doc, s.at.field}].spans.push_back(&s);
  }

  for (auto& [key, group] : groups) {
    std::vector<Interval> label_by_kind[5], span_by_kind[5], label_all,
        span_all;
    for (const Label* l : group.labels) {
      label_by_kind[static_cast<int>(l->kind)].push_back({l->start, l->end});
      label_all.push_back({l->start, l->end});
    }
    for (const SpanRecord* s : group.spans) {
      span_by_kind[static_cast<int>(s->kind)].push_back(
          {s->at.start, s->at.end});
      span_all.push_back({s->at.start, s->at.end});
    }
    Merge(&label_all);
    Merge(&span_all);
    for (int k = 0; k < 5; ++k) {
      Merge(&label_by_kind[k]);
      Merge(&span_by_kind[k]);
      Score& score = result.by_kind[k];
      score.label_bytes += Length(label_by_kind[k]);
      score.found_bytes += Overlap(label_by_kind[k], span_by_kind[k]);
      score.reported_bytes += Length(span_by_kind[k]);
      score.correct_bytes += Overlap(span_by_kind[k], label_all);
    }
    result.all.label_bytes += Length(label_all);
    result.all.found_bytes += Overlap(label_all, span_all);
    result.all.reported_bytes += Length(span_all);
    result.all.correct_bytes += Overlap(span_all, label_all);

    for (const Label* l : group.labels) {
      const int k = static_cast<int>(l->kind);
      const bool found = MostlyIn(l->start, l->end, span_by_kind[k]);
      const bool covered = MostlyIn(l->start, l->end, span_all);
      // The reported span of the label's kind that overlaps it most says
      // which copy the tool keeps.
      const SpanRecord* best = nullptr;
      uint64_t best_overlap = 0;
      for (const SpanRecord* s : group.spans) {
        if (s->kind != l->kind) continue;
        const uint32_t b = std::max(s->at.start, l->start);
        const uint32_t e = std::min(s->at.end, l->end);
        if (e > b && e - b > best_overlap) {
          best_overlap = e - b;
          best = s;
        }
      }
      const bool first_labelled = found && !l->first_doc.empty();
      const bool first_agree = first_labelled && best != nullptr &&
                               best->has_first &&
                               best->first.doc == l->first_doc;
      Score& edit = result.by_edit[l->edit.empty() ? "(none)" : l->edit];
      for (Score* score : {&result.by_kind[k], &result.all, &edit}) {
        ++score->labels;
        score->found += score == &result.all ? covered : found;
        score->covered += covered;
        score->first_labelled += first_labelled;
        score->first_agree += first_agree;
      }
      // Per edit tag, the bytes too (per kind and in all, they come from
      // the merged ranges above).
      edit.label_bytes += l->end - l->start;
      edit.found_bytes += Overlap(l->start, l->end, span_by_kind[k]);
    }
    for (const SpanRecord* s : group.spans) {
      if (s->at.end <= s->at.start) continue;
      const bool correct = MostlyIn(s->at.start, s->at.end, label_all);
      for (Score* score :
           {&result.by_kind[static_cast<int>(s->kind)], &result.all}) {
        ++score->reported;
        score->correct += correct;
      }
    }
  }
  return result;
}

namespace {

std::string Fixed(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.4f", v);
  return buf;
}

void AppendRow(std::string_view name, const Score& s, std::string* out) {
  char buf[256];
  std::snprintf(
      buf, sizeof(buf),
      "%-12s %7llu %7llu %7s %7llu %7llu %7s %7s | %7s %7s %7s\n",
      std::string(name).c_str(), static_cast<unsigned long long>(s.labels),
      static_cast<unsigned long long>(s.found), Fixed(s.Recall()).c_str(),
      static_cast<unsigned long long>(s.reported),
      static_cast<unsigned long long>(s.correct), Fixed(s.Precision()).c_str(),
      Fixed(s.F1()).c_str(), Fixed(s.ByteRecall()).c_str(),
      Fixed(s.BytePrecision()).c_str(), Fixed(s.ByteF1()).c_str());
  out->append(buf);
}

void AppendScoreJson(const Score& s, std::string* out) {
  absl::StrAppend(
      out, "{\"labels\": ", s.labels, ", \"found\": ", s.found,
      ", \"covered\": ", s.covered, ", \"reported\": ", s.reported,
      ", \"correct\": ", s.correct, ", \"recall\": ", Fixed(s.Recall()),
      ", \"precision\": ", Fixed(s.Precision()), ", \"f1\": ", Fixed(s.F1()),
      ", \"first_labelled\": ", s.first_labelled,
      ", \"first_agree\": ", s.first_agree,
      ", \"label_bytes\": ", s.label_bytes,
      ", \"found_bytes\": ", s.found_bytes,
      ", \"reported_bytes\": ", s.reported_bytes,
      ", \"correct_bytes\": ", s.correct_bytes,
      ", \"byte_recall\": ", Fixed(s.ByteRecall()),
      ", \"byte_precision\": ", Fixed(s.BytePrecision()),
      ", \"byte_f1\": ", Fixed(s.ByteF1()), "}");
}

}  // namespace

std::string FormatEval(const EvalResult& r) {
  std::string out;
  absl::StrAppend(&out, "labels: ", r.name.empty() ? "(unnamed)" : r.name,
                  "; judged documents: ", r.judged_docs);
  if (r.missing_docs > 0) {
    absl::StrAppend(&out, " (", r.missing_docs,
                    " more are not in the input and were not scored)");
  }
  out.append("\n");
  out.append(
      "                    findings                                   |"
      "         bytes\n"
      "kind          labels   found  recall reported correct  precis"
      "      F1 |  recall  precis      F1\n");
  for (int k = 0; k < 5; ++k) {
    if (!r.scored[k]) continue;
    AppendRow(SpanKindName(static_cast<SpanKind>(k)), r.by_kind[k], &out);
  }
  AppendRow("all", r.all, &out);
  if (r.all.first_labelled > 0) {
    absl::StrAppend(
        &out, "kept copy (`first`) as labelled: ", r.all.first_agree, " of ",
        r.all.first_labelled, " found labels that name one\n");
  }
  if (!r.by_edit.empty()) {
    out.append(
        "\nrecall by edit  labels   found  recall covered (any kind)  "
        "byte recall\n");
    for (const auto& [edit, s] : r.by_edit) {
      char buf[256];
      std::snprintf(buf, sizeof(buf), "%-14s %7llu %7llu %7s %7llu %7s %12s\n",
                    edit.c_str(), static_cast<unsigned long long>(s.labels),
                    static_cast<unsigned long long>(s.found),
                    Fixed(s.Recall()).c_str(),
                    static_cast<unsigned long long>(s.covered),
                    Fixed(Ratio(s.covered, s.labels)).c_str(),
                    Fixed(s.ByteRecall()).c_str());
      out.append(buf);
    }
  }
  return out;
}

std::string EvalJson(const EvalResult& r) {
  std::string out = "{\"labels\": ";
  AppendJsonString(r.name, &out);
  absl::StrAppend(&out, ", \"judged_docs\": ", r.judged_docs,
                  ", \"missing_docs\": ", r.missing_docs, ", \"kinds\": {");
  bool comma = false;
  for (int k = 0; k < 5; ++k) {
    if (!r.scored[k]) continue;
    if (comma) out.append(", ");
    comma = true;
    AppendJsonString(SpanKindName(static_cast<SpanKind>(k)), &out);
    out.append(": ");
    AppendScoreJson(r.by_kind[k], &out);
  }
  out.append("}, \"all\": ");
  AppendScoreJson(r.all, &out);
  out.append(", \"edits\": {");
  comma = false;
  for (const auto& [edit, s] : r.by_edit) {
    if (comma) out.append(", ");
    comma = true;
    AppendJsonString(edit, &out);
    out.append(": ");
    AppendScoreJson(s, &out);
  }
  out.append("}}");
  return out;
}

}  // namespace newsdedup
