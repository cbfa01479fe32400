#include "newsdedup/inspect.h"

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace newsdedup {
namespace {

constexpr size_t kMaxBoilerplateEntries = 200000;

void AppendHtmlEscaped(std::string_view s, std::string* out) {
  for (char c : s) {
    switch (c) {
      case '&':
        out->append("&amp;");
        break;
      case '<':
        out->append("&lt;");
        break;
      case '>':
        out->append("&gt;");
        break;
      case '"':
        out->append("&quot;");
        break;
      case '\'':
        out->append("&#39;");
        break;
      default:
        out->push_back(c);
    }
  }
}

std::string HtmlEscape(std::string_view s) {
  std::string out;
  AppendHtmlEscaped(s, &out);
  return out;
}

// Collapses whitespace runs to one space, so that boilerplate lines that
// differ only in spacing are counted together.
std::string Squeeze(std::string_view s) {
  std::string out;
  bool space = false;
  for (char c : s) {
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

std::string LocationJson(const Location& at) {
  std::string out = "{\"doc\": ";
  AppendJsonString(at.doc, &out);
  out.append(", \"field\": ");
  AppendJsonString(at.field, &out);
  absl::StrAppend(&out, ", \"start\": ", at.start, ", \"end\": ", at.end, "}");
  return out;
}

std::string_view KindName(int k) {
  return SpanKindName(static_cast<SpanKind>(k));
}

// "name": seconds, ... (a JSON object's members, in order).
void AppendPhases(const std::vector<std::pair<std::string, double>>& phases,
                  std::string* out) {
  for (size_t i = 0; i < phases.size(); ++i) {
    if (i > 0) out->append(", ");
    AppendJsonString(phases[i].first, out);
    absl::StrAppend(out, ": ", absl::StrFormat("%.3f", phases[i].second));
  }
}

}  // namespace

Inspector::Inspector(const InspectOptions& options,
                     absl::Span<const SpanRecord> spans)
    : options_(options), spans_(spans) {
  for (size_t i = 0; i < spans_.size(); ++i) {
    const SpanRecord& s = spans_[i];
    auto [it, fresh] =
        by_doc_.try_emplace(s.doc_ordinal, std::make_pair(i, i + 1));
    if (!fresh) it->second.second = i + 1;
    clusters_[s.cluster].push_back(i);
  }
  // The documents shown in full: the first ones with spans.
  std::vector<uint32_t> ordinals;
  for (const auto& [ordinal, range] : by_doc_) ordinals.push_back(ordinal);
  std::sort(ordinals.begin(), ordinals.end());
  if (ordinals.size() > options_.max_documents) {
    ordinals.resize(options_.max_documents);
  }
  for (uint32_t ordinal : ordinals) {
    const size_t index = shown_.size();
    shown_index_[ordinal] = index;
    shown_.emplace_back();
    const auto [begin, end] = by_doc_[ordinal];
    for (size_t i = begin; i < end; ++i) {
      if (spans_[i].has_first) Want(spans_[i].first_ordinal, spans_[i].first);
    }
  }
  // Exemplars of the largest clusters: the kept copy, or the first member.
  for (uint32_t cluster : LargestClusters()) {
    const SpanRecord& s = spans_[clusters_[cluster].front()];
    if (s.has_first) {
      Want(s.first_ordinal, s.first);
    } else {
      Want(s.doc_ordinal, s.at);
    }
  }
}

void Inspector::Want(uint32_t ordinal, const Location& at) {
  const bool title = at.field == options_.title_field;
  auto& list = wanted_[ordinal];
  for (const Wanted& w : list) {
    if (w.title == title && w.start == at.start && w.end == at.end) return;
  }
  list.push_back({title, at.start, at.end, ""});
}

const std::string* Inspector::ExcerptAt(uint32_t ordinal,
                                        const Location& at) const {
  auto it = wanted_.find(ordinal);
  if (it == wanted_.end()) return nullptr;
  const bool title = at.field == options_.title_field;
  for (const Wanted& w : it->second) {
    if (w.title == title && w.start == at.start && w.end == at.end) {
      return &w.excerpt;
    }
  }
  return nullptr;
}

std::vector<uint32_t> Inspector::LargestClusters() const {
  std::vector<std::pair<uint32_t, uint32_t>> by_count;  // (count, cluster)
  for (const auto& [cluster, members] : clusters_) {
    by_count.push_back({spans_[members.front()].count, cluster});
  }
  std::sort(by_count.begin(), by_count.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  std::vector<uint32_t> out;
  for (size_t i = 0; i < by_count.size() && i < options_.max_clusters; ++i) {
    out.push_back(by_count[i].second);
  }
  return out;
}

std::string Inspector::Cut(std::string_view text) const {
  if (text.size() <= options_.excerpt_bytes) return std::string(text);
  size_t end = options_.excerpt_bytes;
  // Never cut a UTF-8 character.
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) {
    --end;
  }
  return std::string(text.substr(0, end)) + "\xE2\x80\xA6";
}

void Inspector::AddDocument(uint32_t ordinal, const Document& doc) {
  auto field_text = [&](bool title) {
    return title ? std::string_view(doc.title) : std::string_view(doc.text);
  };
  auto wanted = wanted_.find(ordinal);
  if (wanted != wanted_.end()) {
    for (Wanted& w : wanted->second) {
      const std::string_view text = field_text(w.title);
      if (w.start <= w.end && w.end <= text.size()) {
        w.excerpt = Cut(text.substr(w.start, w.end - w.start));
      }
    }
  }
  auto range = by_doc_.find(ordinal);
  if (range == by_doc_.end()) return;
  const auto [begin, end] = range->second;
  for (size_t i = begin; i < end; ++i) {
    const SpanRecord& s = spans_[i];
    if (s.kind != SpanKind::kBoilerplate) continue;
    const std::string_view text =
        field_text(s.at.field == options_.title_field);
    if (s.at.end > text.size() || s.at.start > s.at.end) continue;
    std::string key =
        Squeeze(Cut(text.substr(s.at.start, s.at.end - s.at.start)));
    auto& site = boilerplate_[doc.site];
    auto it = site.find(key);
    if (it != site.end()) {
      ++it->second.count;
    } else if (boilerplate_entries_ < kMaxBoilerplateEntries) {
      ++boilerplate_entries_;
      site.emplace(key, Boilerplate{key, 1});
    }
  }
  auto shown = shown_index_.find(ordinal);
  if (shown == shown_index_.end()) return;
  Shown& out = shown_[shown->second];
  out.ordinal = ordinal;
  out.id = doc.id;
  out.site = doc.site;
  out.html = RenderDocument(doc, begin, end);
}

std::string Inspector::RenderDocument(const Document& doc, size_t begin,
                                      size_t end) const {
  std::string html;
  for (const bool title : {true, false}) {
    const std::string_view text =
        title ? std::string_view(doc.title) : std::string_view(doc.text);
    std::vector<const SpanRecord*> marks;
    for (size_t i = begin; i < end; ++i) {
      const SpanRecord& s = spans_[i];
      if ((s.at.field == options_.title_field) == title &&
          s.at.start <= s.at.end && s.at.end <= text.size()) {
        marks.push_back(&s);
      }
    }
    if (text.empty()) continue;
    html.append(title ? "<div class=\"title\">" : "<pre class=\"text\">");
    size_t pos = 0;
    for (const SpanRecord* s : marks) {
      if (s->at.start < pos) continue;
      AppendHtmlEscaped(text.substr(pos, s->at.start - pos), &html);
      std::string tip = absl::StrFormat(
          "%s, %s, similarity %.2f, %s, cluster %d (%d occurrences)",
          std::string(SpanKindName(s->kind)),
          std::string(MatchTypeName(s->match)), s->similarity,
          std::string(ScopeName(s->scope)), s->cluster, s->count);
      if (s->has_first) {
        absl::StrAppend(&tip, "; repeats ", std::string(s->first.doc));
        const std::string* excerpt = ExcerptAt(s->first_ordinal, s->first);
        if (excerpt != nullptr && !excerpt->empty()) {
          absl::StrAppend(&tip, ": ", *excerpt);
        }
      }
      absl::StrAppend(&html, "<mark class=\"k-",
                      std::string(SpanKindName(s->kind)), "\" title=\"",
                      HtmlEscape(tip), "\">");
      AppendHtmlEscaped(text.substr(s->at.start, s->at.end - s->at.start),
                        &html);
      html.append("</mark>");
      if (s->has_first && shown_index_.count(s->first_ordinal) > 0) {
        absl::StrAppend(&html, "<a class=\"ref\" href=\"#d", s->first_ordinal,
                        "\" title=\"go to the kept copy\">&#8617;</a>");
      }
      pos = s->at.end;
    }
    AppendHtmlEscaped(text.substr(pos), &html);
    html.append(title ? "</div>" : "</pre>");
  }
  return html;
}

std::string Inspector::ClustersJsonl() const {
  std::string out;
  for (const auto& [cluster, members] : clusters_) {
    const SpanRecord& head = spans_[members.front()];
    absl::StrAppend(&out, "{\"cluster\": ", cluster, ", \"kind\": \"",
                    std::string(SpanKindName(head.kind)),
                    "\", \"count\": ", head.count, ", \"kept\": ");
    out.append(head.has_first ? LocationJson(head.first) : "null");
    out.append(", \"members\": [");
    for (size_t k = 0; k < members.size(); ++k) {
      const SpanRecord& s = spans_[members[k]];
      std::string member = LocationJson(s.at);
      member.pop_back();
      absl::StrAppend(&out, k ? ", " : "", member, ", \"match\": \"",
                      std::string(MatchTypeName(s.match)), "\"}");
    }
    out.append("]}\n");
  }
  return out;
}

std::string Inspector::SummaryJson(const ScanStats& stats,
                                   const RunTotals& totals) const {
  std::string out = "{";
  absl::StrAppend(
      &out, "\"records\": ", totals.records,
      ", \"malformed\": ", totals.malformed,
      ", \"duplicate_ids\": ", totals.duplicate_ids,
      ", \"lost\": ", totals.lost, ", \"written\": ", totals.written,
      ", \"emptied\": ", totals.emptied, ", \"dropped\": ", totals.dropped,
      ", \"paragraphs\": ", stats.paragraphs,
      ", \"clusters\": ", stats.clusters, ", \"spans\": ", stats.flagged,
      ", \"flagged_bytes\": ", stats.flagged_bytes,
      ", \"removed_bytes\": ", totals.removed_bytes,
      ", \"text_bytes\": ", stats.text_bytes, ", \"by_kind\": {");
  for (int k = 0; k < 5; ++k) {
    absl::StrAppend(&out, k ? ", " : "", "\"", std::string(KindName(k)),
                    "\": {\"spans\": ", stats.spans_by_kind[k],
                    ", \"bytes\": ", stats.bytes_by_kind[k], "}");
  }
  out.append("}, \"top_boilerplate\": {");
  bool first_site = true;
  for (const auto& [site, texts] : boilerplate_) {
    std::vector<const Boilerplate*> top;
    for (const auto& [key, b] : texts) top.push_back(&b);
    std::sort(top.begin(), top.end(), [](const auto* a, const auto* b) {
      return a->count != b->count ? a->count > b->count : a->text < b->text;
    });
    if (top.size() > options_.top_boilerplate)
      top.resize(options_.top_boilerplate);
    if (!first_site) out.append(", ");
    first_site = false;
    AppendJsonString(site, &out);
    out.append(": [");
    for (size_t i = 0; i < top.size(); ++i) {
      absl::StrAppend(&out, i ? ", " : "", "{\"count\": ", top[i]->count,
                      ", \"text\": ");
      AppendJsonString(top[i]->text, &out);
      out.append("}");
    }
    out.append("]");
  }
  absl::StrAppend(
      &out, "}, \"seconds\": ", absl::StrFormat("%.3f", totals.seconds),
      ", \"input_bytes\": ", totals.input_bytes, ", \"mb_per_s\": ",
      absl::StrFormat("%.2f", totals.seconds > 0
                                  ? totals.input_bytes / totals.seconds / 1e6
                                  : 0.0),
      ", \"peak_rss_mb\": ", absl::StrFormat("%.1f", totals.peak_rss_mb),
      ", \"memory_limit_mb\": ",
      absl::StrFormat("%.1f", totals.memory_limit_mb),
      ", \"index_mb\": ", absl::StrFormat("%.1f", stats.index_bytes / 1e6),
      ", \"indexed_paragraphs\": ", stats.indexed,
      ", \"unindexed_paragraphs\": ", stats.unindexed,
      ", \"match_seconds\": ", absl::StrFormat("%.3f", stats.match_seconds),
      ", \"buffer_mb\": ", absl::StrFormat("%.1f", stats.buffer_bytes / 1e6),
      ", \"spilled_mb\": ", absl::StrFormat("%.1f", stats.spilled_bytes / 1e6),
      ", \"threads\": ", totals.threads, ", \"phase_seconds\": {");
  AppendPhases(totals.phase_seconds, &out);
  out.append("}, \"phase_cpu_seconds\": {");
  AppendPhases(totals.phase_cpu_seconds, &out);
  out.append("}");
  if (!totals.passage_figures.empty()) {
    out.append(", \"passages\": {");
    for (size_t i = 0; i < totals.passage_figures.size(); ++i) {
      if (i > 0) out.append(", ");
      AppendJsonString(totals.passage_figures[i].first, &out);
      absl::StrAppend(&out, ": ", totals.passage_figures[i].second);
    }
    out.append("}");
  }
  out.append(", \"simd\": ");
  AppendJsonString(totals.simd, &out);
  out.append("}\n");
  return out;
}

std::string Inspector::Html(const ScanStats& stats,
                            const RunTotals& totals) const {
  std::string h;
  h.append(R"(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>newsdedup report</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:1em 2em;color:#222}
h1{margin-bottom:.2em}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;width:100%;margin:.5em 0}td,th{border-bottom:1px solid #eee;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#f6f6f6}td.n{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
pre.text{white-space:pre-wrap;font:14px/1.5 Georgia,serif;background:#fcfcfc;border:1px solid #eee;padding:.8em;margin:.3em 0}
div.title{font-weight:bold;font-size:1.1em;margin:.2em 0}
article{margin:1.2em 0;padding-top:.3em;border-top:1px dashed #ccc}article h3{margin:.2em 0;font-size:1em;color:#555}
mark{border-radius:3px;padding:0 2px}
.k-headline{background:#ffd7a8}.k-caption{background:#c8e6ff}.k-paragraph{background:#ffc4c4}
.k-span{background:#f0c4ff}.k-boilerplate{background:#d6d6d6;color:#444}
a.ref{text-decoration:none;margin-left:2px}.legend mark{margin-right:.6em}
.excerpt{font-family:Georgia,serif;color:#333}.muted{color:#777;font-size:.9em}
</style></head><body>
<h1>newsdedup report</h1>
)");
  absl::StrAppend(
      &h, "<p class=\"muted\">", totals.records, " records (", totals.malformed,
      " malformed), ", stats.paragraphs, " paragraphs, ", stats.flagged,
      " spans flagged in ", stats.clusters, " clusters: ", stats.flagged_bytes,
      " of ", stats.text_bytes, " text bytes (",
      absl::StrFormat("%.1f", stats.text_bytes ? 100.0 * stats.flagged_bytes /
                                                     stats.text_bytes
                                               : 0.0),
      "%). ", absl::StrFormat("%.2f", totals.seconds), " s, ", totals.threads,
      " thread(s), ", HtmlEscape(totals.simd), ".</p>\n");
  h.append(
      "<h2 id=\"kinds\">What was flagged</h2>\n<table><tr><th>kind</th>"
      "<th class=\"n\">spans</th><th "
      "class=\"n\">bytes</th><th>meaning</th></tr>\n");
  static constexpr const char* kMeaning[] = {
      "a headline repeated in the body or across articles",
      "a photo caption or credit",
      "a paragraph repeating an earlier one, exactly or nearly",
      "a passage repeating earlier text inside a paragraph",
      "boilerplate: by rule, or repeated across a site's stories"};
  for (int k = 0; k < 5; ++k) {
    absl::StrAppend(&h, "<tr><td><mark class=\"k-", std::string(KindName(k)),
                    "\">", std::string(KindName(k)),
                    "</mark></td><td class=\"n\">", stats.spans_by_kind[k],
                    "</td><td class=\"n\">", stats.bytes_by_kind[k],
                    "</td><td>", kMeaning[k], "</td></tr>\n");
  }
  h.append("</table>\n<h2 id=\"boilerplate\">Boilerplate by site</h2>\n");
  if (boilerplate_.empty()) h.append("<p class=\"muted\">None found.</p>\n");
  for (const auto& [site, texts] : boilerplate_) {
    std::vector<const Boilerplate*> top;
    uint64_t total = 0;
    for (const auto& [key, b] : texts) {
      top.push_back(&b);
      total += b.count;
    }
    std::sort(top.begin(), top.end(), [](const auto* a, const auto* b) {
      return a->count != b->count ? a->count > b->count : a->text < b->text;
    });
    if (top.size() > options_.top_boilerplate)
      top.resize(options_.top_boilerplate);
    absl::StrAppend(
        &h, "<h3>", HtmlEscape(site.empty() ? "(no site)" : site),
        " <span class=\"muted\">", total, " spans, ", texts.size(),
        " distinct</span></h3>\n<table><tr><th class=\"n\">count</th>"
        "<th>text</th></tr>\n");
    for (const Boilerplate* b : top) {
      absl::StrAppend(&h, "<tr><td class=\"n\">", b->count,
                      "</td><td class=\"excerpt\">", HtmlEscape(b->text),
                      "</td></tr>\n");
    }
    h.append("</table>\n");
  }
  h.append(
      "<h2 id=\"clusters\">Largest clusters</h2>\n<table><tr><th class=\"n\">"
      "cluster</th><th>kind</th><th class=\"n\">count</th><th>exemplar "
      "(the kept copy)</th><th>where</th></tr>\n");
  for (uint32_t cluster : LargestClusters()) {
    const std::vector<size_t>& members = clusters_.at(cluster);
    const SpanRecord& head = spans_[members.front()];
    const std::string* excerpt = head.has_first
                                     ? ExcerptAt(head.first_ordinal, head.first)
                                     : ExcerptAt(head.doc_ordinal, head.at);
    std::string where;
    if (head.has_first) {
      absl::StrAppend(&where, "kept: ", HtmlEscape(std::string(head.first.doc)),
                      "<br>");
    }
    for (size_t k = 0; k < members.size() && k < 5; ++k) {
      const SpanRecord& s = spans_[members[k]];
      const bool linked = shown_index_.count(s.doc_ordinal) > 0;
      absl::StrAppend(
          &where, k ? ", " : "",
          linked ? absl::StrCat("<a href=\"#d", s.doc_ordinal, "\">") : "",
          HtmlEscape(std::string(s.at.doc)), linked ? "</a>" : "");
    }
    if (members.size() > 5) absl::StrAppend(&where, ", &hellip;");
    absl::StrAppend(
        &h, "<tr><td class=\"n\">", cluster, "</td><td><mark class=\"k-",
        std::string(SpanKindName(head.kind)), "\">",
        std::string(SpanKindName(head.kind)), "</mark></td><td class=\"n\">",
        head.count, "</td><td class=\"excerpt\">",
        excerpt != nullptr ? HtmlEscape(*excerpt) : "", "</td><td>", where,
        "</td></tr>\n");
  }
  h.append(
      "</table>\n<h2 id=\"documents\">Documents</h2>\n<p class=\"legend\">");
  for (int k = 0; k < 5; ++k) {
    absl::StrAppend(&h, "<mark class=\"k-", std::string(KindName(k)), "\">",
                    std::string(KindName(k)), "</mark>");
  }
  absl::StrAppend(&h,
                  "<span class=\"muted\">Hover a mark for why it was "
                  "flagged; &#8617; jumps to the kept copy. The first ",
                  shown_.size(),
                  " documents with flagged spans are shown."
                  "</span></p>\n");
  for (const Shown& d : shown_) {
    if (d.html.empty()) continue;
    absl::StrAppend(&h, "<article id=\"d", d.ordinal, "\"><h3>",
                    HtmlEscape(d.id), d.site.empty() ? "" : " &middot; ",
                    HtmlEscape(d.site), "</h3>\n", d.html, "</article>\n");
  }
  h.append("</body></html>\n");
  return h;
}

}  // namespace newsdedup
