#include "newsdedup/inspect.h"

#include <gtest/gtest.h>
// The library is compiled with simdjson's interface definition
// SIMDJSON_THREADS_ENABLED, which changes the layout of simdjson::dom::parser;
// this file must see the same layout or the inline functions the two share
// break the one-definition rule (a stack overflow under ASan).
#ifndef SIMDJSON_THREADS_ENABLED
#define SIMDJSON_THREADS_ENABLED 1
#endif
#include <simdjson.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "newsdedup/pipeline.h"

namespace newsdedup {
namespace {

Document Doc(std::string id, std::string site, std::string title,
             std::string text) {
  Document d;
  d.id = std::move(id);
  d.site = std::move(site);
  d.title = std::move(title);
  d.text = std::move(text);
  return d;
}

// The learned boilerplate of harbour.example (in all six of its stories) and
// a second one in five of them.
const std::string kSubscribe =
    "Subscribe to the Harbour Gazette for local news delivered every single "
    "morning.";
const std::string kPhotos =
    "Photos by Gazette staff are available for purchase at our front desk "
    "on weekdays.";
// A paragraph syndicated from the wire, with markup-like text in it.
const std::string kWire =
    "Officials said <script>alert(1)</script> was found pasted into the "
    "council website, and that Salt & pepper shakers were also stolen from "
    "the town hall canteen.";
// A German paragraph copied across sites.
const std::string kGerman =
    "\xC3\x9C"
    "ber die alte Br\xC3\xBC"
    "cke f\xC3\xA4hrt ab heute kein Zug mehr, teilte die Bahn am Montag "
    "mit.";

std::vector<Document> Corpus() {
  std::vector<Document> docs;
  for (int i = 0; i < 6; ++i) {
    std::string text = "Harbour story " + std::to_string(i) +
                       " describes boat number " + std::to_string(i * 13) +
                       " leaving berth " + std::to_string(40 + i) +
                       " in the early fog.\n\n" + kSubscribe;
    if (i > 0) text += "\n\n" + kPhotos;
    docs.push_back(Doc("harbour/" + std::to_string(i), "harbour.example",
                       "Harbour story " + std::to_string(i) + " of the week",
                       text));
  }
  docs.push_back(
      Doc("wire/1", "wire.example", "Council website defaced",
          "From the wire desk today.\n\n" + kWire + "\n\n" + kGerman));
  docs.push_back(
      Doc("paper/<b>&1", "paper.example", "Council website defaced",
          "Our own introduction to the story comes first here.\n\n" + kWire));
  docs.push_back(
      Doc("zeitung/1", "zeitung.example", "",
          "Eine eigene Einleitung steht hier zuerst.\n\n" + kGerman));
  docs.push_back(
      Doc("quiet/1", "quiet.example", "Nothing repeated",
          "A story with nothing in common with any other story at all."));
  docs.push_back(Doc("paper/2", "paper.example", "",
                     "Our own introduction to the story comes first here.\n\n"
                     "A second story from the paper follows on from it."));
  return docs;
}

// A scanned corpus: the scanner owns the strings the spans point into.
struct Scanned {
  std::vector<Document> docs;
  std::unique_ptr<Scanner> scanner;
  std::vector<SpanRecord> spans;
};

Scanned Scan(std::vector<Document> docs) {
  Scanned s;
  s.docs = std::move(docs);
  auto scanner = Scanner::Create(ScanOptions());
  EXPECT_TRUE(scanner.ok()) << scanner.status();
  s.scanner = std::move(*scanner);
  for (const Document& d : s.docs) s.scanner->Add(d);
  EXPECT_TRUE(s.scanner->Finish().ok());
  s.scanner->ForEachSpan([&](const SpanRecord& r) { s.spans.push_back(r); });
  return s;
}

void Feed(const Scanned& s, Inspector* inspector) {
  for (size_t i = 0; i < s.docs.size(); ++i) {
    inspector->AddDocument(static_cast<uint32_t>(i), s.docs[i]);
  }
}

RunTotals Totals(const Scanned& s) {
  RunTotals t;
  t.records = s.docs.size();
  t.input_bytes = 12345;
  t.seconds = 0.5;
  t.simd = "TEST<&>";
  return t;
}

size_t Count(std::string_view haystack, std::string_view needle) {
  size_t n = 0;
  for (size_t pos = haystack.find(needle); pos != std::string_view::npos;
       pos = haystack.find(needle, pos + 1)) {
    ++n;
  }
  return n;
}

// The part of `html` from the heading with `id` to the next heading.
std::string_view Section(std::string_view html, std::string_view id) {
  const size_t begin = html.find(std::string("<h2 id=\"") + std::string(id));
  if (begin == std::string_view::npos) return {};
  const size_t end = html.find("<h2 ", begin + 1);
  return html.substr(begin, end == std::string_view::npos ? end : end - begin);
}

// Text of an HTML fragment: links back to kept copies dropped, tags
// removed, entities decoded.
std::string TextOf(std::string_view html) {
  std::string no_refs;
  for (size_t pos = 0; pos < html.size();) {
    const size_t ref = html.find("<a class=\"ref\"", pos);
    if (ref == std::string_view::npos) {
      no_refs.append(html.substr(pos));
      break;
    }
    no_refs.append(html.substr(pos, ref - pos));
    pos = html.find("</a>", ref) + 4;
  }
  std::string out;
  for (size_t i = 0; i < no_refs.size(); ++i) {
    const char c = no_refs[i];
    if (c == '<') {
      i = no_refs.find('>', i);
      continue;
    }
    if (c == '&') {
      const size_t semi = no_refs.find(';', i);
      const std::string entity = no_refs.substr(i, semi - i + 1);
      static const std::map<std::string, std::string> kEntities = {
          {"&amp;", "&"},   {"&lt;", "<"},  {"&gt;", ">"},
          {"&quot;", "\""}, {"&#39;", "'"}, {"&middot;", "\xC2\xB7"}};
      auto it = kEntities.find(entity);
      EXPECT_NE(it, kEntities.end()) << entity;
      if (it != kEntities.end()) out += it->second;
      i = semi;
      continue;
    }
    out += c;
  }
  return out;
}

TEST(InspectorTest, CorpusProducesEveryKind) {
  // The fixture must exercise what the other tests check.
  Scanned s = Scan(Corpus());
  std::set<SpanKind> kinds;
  std::set<std::string> docs;
  for (const SpanRecord& r : s.spans) {
    kinds.insert(r.kind);
    docs.insert(std::string(r.at.doc));
  }
  EXPECT_TRUE(kinds.count(SpanKind::kParagraph));
  EXPECT_TRUE(kinds.count(SpanKind::kBoilerplate));
  EXPECT_TRUE(kinds.count(SpanKind::kHeadline));
  EXPECT_TRUE(docs.count("paper/<b>&1"));
  EXPECT_TRUE(docs.count("zeitung/1"));
  EXPECT_FALSE(docs.count("quiet/1"));
  EXPECT_FALSE(docs.count("wire/1"));  // only kept copies there
}

TEST(InspectorTest, ClustersJsonlLinesParse) {
  Scanned s = Scan(Corpus());
  Inspector inspector({}, s.spans);
  Feed(s, &inspector);
  const std::string jsonl = inspector.ClustersJsonl();
  ASSERT_FALSE(jsonl.empty());
  ASSERT_EQ(jsonl.back(), '\n');
  simdjson::dom::parser parser;
  size_t lines = 0, members_total = 0, with_kept = 0;
  uint64_t previous_cluster = 0;
  for (size_t pos = 0; pos < jsonl.size();) {
    const size_t nl = jsonl.find('\n', pos);
    const std::string line = jsonl.substr(pos, nl - pos);
    pos = nl + 1;
    ++lines;
    simdjson::padded_string padded(line);
    simdjson::dom::element root;
    ASSERT_EQ(parser.parse(padded).get(root), simdjson::SUCCESS) << line;
    uint64_t cluster = 0, count = 0;
    std::string_view kind;
    simdjson::dom::array members;
    ASSERT_EQ(root["cluster"].get_uint64().get(cluster), simdjson::SUCCESS);
    ASSERT_EQ(root["count"].get_uint64().get(count), simdjson::SUCCESS);
    ASSERT_EQ(root["kind"].get_string().get(kind), simdjson::SUCCESS);
    ASSERT_EQ(root["members"].get_array().get(members), simdjson::SUCCESS);
    // Clusters are numbered from 1 in order.
    EXPECT_EQ(cluster, previous_cluster + 1) << line;
    previous_cluster = cluster;
    simdjson::dom::element kept;
    ASSERT_EQ(root["kept"].get(kept), simdjson::SUCCESS);
    const size_t n = members.size();
    members_total += n;
    if (kept.is_null()) {
      // Boilerplate: every copy is a member.
      EXPECT_EQ(kind, "boilerplate") << line;
      EXPECT_EQ(count, n) << line;
    } else {
      ++with_kept;
      EXPECT_EQ(count, n + 1) << line;
      std::string_view doc;
      uint64_t start = 0, end = 0;
      ASSERT_EQ(kept["doc"].get_string().get(doc), simdjson::SUCCESS);
      ASSERT_EQ(kept["start"].get_uint64().get(start), simdjson::SUCCESS);
      ASSERT_EQ(kept["end"].get_uint64().get(end), simdjson::SUCCESS);
      EXPECT_LT(start, end);
    }
    // Members agree with the spans of that cluster, in report order.
    std::vector<const SpanRecord*> expected;
    for (const SpanRecord& r : s.spans) {
      if (r.cluster == cluster) expected.push_back(&r);
    }
    ASSERT_EQ(expected.size(), n) << line;
    size_t k = 0;
    for (simdjson::dom::element m : members) {
      std::string_view doc, field, match;
      uint64_t start = 0, end = 0;
      ASSERT_EQ(m["doc"].get_string().get(doc), simdjson::SUCCESS);
      ASSERT_EQ(m["field"].get_string().get(field), simdjson::SUCCESS);
      ASSERT_EQ(m["match"].get_string().get(match), simdjson::SUCCESS);
      ASSERT_EQ(m["start"].get_uint64().get(start), simdjson::SUCCESS);
      ASSERT_EQ(m["end"].get_uint64().get(end), simdjson::SUCCESS);
      EXPECT_EQ(doc, expected[k]->at.doc);
      EXPECT_EQ(field, expected[k]->at.field);
      EXPECT_EQ(start, expected[k]->at.start);
      EXPECT_EQ(end, expected[k]->at.end);
      EXPECT_EQ(match, MatchTypeName(expected[k]->match));
      ++k;
    }
  }
  EXPECT_EQ(lines, s.scanner->stats().clusters);
  EXPECT_EQ(members_total, s.spans.size());
  EXPECT_GT(with_kept, 0u);
}

TEST(InspectorTest, SummaryJsonMatchesStats) {
  Scanned s = Scan(Corpus());
  InspectOptions options;
  options.top_boilerplate = 1;
  Inspector inspector(options, s.spans);
  Feed(s, &inspector);
  const ScanStats& stats = s.scanner->stats();
  RunTotals totals = Totals(s);
  totals.malformed = 2;
  totals.phase_seconds = {{"read", 0.25}, {"match", 0.125}};
  totals.phase_cpu_seconds = {{"read", 0.5}, {"match", 0.375}};
  totals.memory_limit_mb = 1536;
  const std::string json = inspector.SummaryJson(stats, totals);
  simdjson::dom::parser parser;
  simdjson::padded_string padded(json);
  simdjson::dom::element root;
  ASSERT_EQ(parser.parse(padded).get(root), simdjson::SUCCESS) << json;
  uint64_t v = 0;
  ASSERT_EQ(root["records"].get_uint64().get(v), simdjson::SUCCESS);
  EXPECT_EQ(v, s.docs.size());
  ASSERT_EQ(root["malformed"].get_uint64().get(v), simdjson::SUCCESS);
  EXPECT_EQ(v, 2u);
  ASSERT_EQ(root["spans"].get_uint64().get(v), simdjson::SUCCESS);
  EXPECT_EQ(v, stats.flagged);
  EXPECT_EQ(v, s.spans.size());
  ASSERT_EQ(root["clusters"].get_uint64().get(v), simdjson::SUCCESS);
  EXPECT_EQ(v, stats.clusters);
  ASSERT_EQ(root["flagged_bytes"].get_uint64().get(v), simdjson::SUCCESS);
  EXPECT_EQ(v, stats.flagged_bytes);
  double limit = 0;
  ASSERT_EQ(root["memory_limit_mb"].get_double().get(limit), simdjson::SUCCESS);
  EXPECT_EQ(limit, 1536.0);
  std::string_view simd;
  ASSERT_EQ(root["simd"].get_string().get(simd), simdjson::SUCCESS);
  EXPECT_EQ(simd, "TEST<&>");
  // Phases keep their order and values, wall time and CPU time apart.
  for (const auto& [key, want] :
       {std::pair{"phase_seconds", &totals.phase_seconds},
        std::pair{"phase_cpu_seconds", &totals.phase_cpu_seconds}}) {
    simdjson::dom::object phases;
    ASSERT_EQ(root[key].get_object().get(phases), simdjson::SUCCESS) << key;
    std::vector<std::pair<std::string, double>> got;
    for (auto field : phases) {
      double seconds = 0;
      ASSERT_EQ(field.value.get_double().get(seconds), simdjson::SUCCESS);
      got.emplace_back(std::string(field.key), seconds);
    }
    EXPECT_EQ(got, *want) << key;
  }

  // by_kind equals the scanner's counts, and those equal the spans.
  uint64_t spans_by_kind[5] = {}, bytes_by_kind[5] = {};
  for (const SpanRecord& r : s.spans) {
    ++spans_by_kind[static_cast<int>(r.kind)];
    bytes_by_kind[static_cast<int>(r.kind)] += r.at.end - r.at.start;
  }
  for (int k = 0; k < 5; ++k) {
    const std::string name(SpanKindName(static_cast<SpanKind>(k)));
    uint64_t spans = 0, bytes = 0;
    ASSERT_EQ(root["by_kind"][name]["spans"].get_uint64().get(spans),
              simdjson::SUCCESS)
        << name;
    ASSERT_EQ(root["by_kind"][name]["bytes"].get_uint64().get(bytes),
              simdjson::SUCCESS)
        << name;
    EXPECT_EQ(spans, stats.spans_by_kind[k]) << name;
    EXPECT_EQ(bytes, stats.bytes_by_kind[k]) << name;
    EXPECT_EQ(spans, spans_by_kind[k]) << name;
    EXPECT_EQ(bytes, bytes_by_kind[k]) << name;
  }

  // Top boilerplate: the most frequent text of the site, limited to one.
  simdjson::dom::array top;
  ASSERT_EQ(root["top_boilerplate"]["harbour.example"].get_array().get(top),
            simdjson::SUCCESS)
      << json;
  ASSERT_EQ(top.size(), 1u);
  std::string_view text;
  ASSERT_EQ(top.at(0)["text"].get_string().get(text), simdjson::SUCCESS);
  ASSERT_EQ(top.at(0)["count"].get_uint64().get(v), simdjson::SUCCESS);
  EXPECT_EQ(text, kSubscribe);
  EXPECT_EQ(v, 6u);
}

TEST(InspectorTest, SummaryListsTopBoilerplateInOrder) {
  Scanned s = Scan(Corpus());
  Inspector inspector({}, s.spans);
  Feed(s, &inspector);
  const std::string json = inspector.SummaryJson(s.scanner->stats(), Totals(s));
  simdjson::dom::parser parser;
  simdjson::padded_string padded(json);
  simdjson::dom::element root;
  ASSERT_EQ(parser.parse(padded).get(root), simdjson::SUCCESS) << json;
  simdjson::dom::array top;
  ASSERT_EQ(root["top_boilerplate"]["harbour.example"].get_array().get(top),
            simdjson::SUCCESS);
  ASSERT_EQ(top.size(), 2u) << json;
  std::string_view text;
  uint64_t count = 0;
  ASSERT_EQ(top.at(1)["text"].get_string().get(text), simdjson::SUCCESS);
  ASSERT_EQ(top.at(1)["count"].get_uint64().get(count), simdjson::SUCCESS);
  EXPECT_EQ(text, kPhotos);
  EXPECT_EQ(count, 5u);
}

TEST(InspectorTest, HtmlEscapesDocumentText) {
  Scanned s = Scan(Corpus());
  Inspector inspector({}, s.spans);
  Feed(s, &inspector);
  const std::string html = inspector.Html(s.scanner->stats(), Totals(s));
  ASSERT_TRUE(simdjson::validate_utf8(html.data(), html.size()));
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("</body></html>"), std::string::npos);
  // The injected markup is shown as text, never as markup.
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;"),
            std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("alert(1)</script>"), std::string::npos);
  EXPECT_NE(html.find("Salt &amp; pepper"), std::string::npos);
  EXPECT_EQ(html.find("Salt & pepper"), std::string::npos);
  // Ids and totals are escaped too.
  EXPECT_NE(html.find("paper/&lt;b&gt;&amp;1"), std::string::npos);
  EXPECT_EQ(html.find("paper/<b>"), std::string::npos);
  EXPECT_NE(html.find("TEST&lt;&amp;&gt;"), std::string::npos);
  // Marks of each reported kind.
  EXPECT_NE(html.find("<mark class=\"k-paragraph\" title="), std::string::npos);
  EXPECT_NE(html.find("<mark class=\"k-boilerplate\" title="),
            std::string::npos);
  EXPECT_NE(html.find("<mark class=\"k-headline\" title="), std::string::npos);
}

TEST(InspectorTest, HtmlShowsBoilerplatePerSiteAndClusters) {
  Scanned s = Scan(Corpus());
  Inspector inspector({}, s.spans);
  Feed(s, &inspector);
  const std::string html = inspector.Html(s.scanner->stats(), Totals(s));
  const std::string_view boilerplate = Section(html, "boilerplate");
  ASSERT_FALSE(boilerplate.empty());
  EXPECT_NE(boilerplate.find("<h3>harbour.example"), std::string::npos);
  EXPECT_NE(boilerplate.find("11 spans, 2 distinct"), std::string::npos)
      << boilerplate;
  const size_t subscribe = boilerplate.find(
      "<tr><td class=\"n\">6</td><td class=\"excerpt\">" + kSubscribe);
  const size_t photos = boilerplate.find(
      "<tr><td class=\"n\">5</td><td class=\"excerpt\">" + kPhotos);
  EXPECT_NE(subscribe, std::string::npos) << boilerplate;
  EXPECT_NE(photos, std::string::npos) << boilerplate;
  EXPECT_LT(subscribe, photos);  // most frequent first
  EXPECT_EQ(boilerplate.find("wire.example"), std::string::npos);

  // Largest clusters: the wire paragraph's exemplar is the kept copy.
  const std::string_view clusters = Section(html, "clusters");
  ASSERT_FALSE(clusters.empty());
  EXPECT_NE(clusters.find("kept: wire/1"), std::string::npos) << clusters;
  EXPECT_NE(clusters.find("Officials said &lt;script&gt;"), std::string::npos);
  EXPECT_EQ(Count(clusters, "<tr><td class=\"n\">"),
            s.scanner->stats().clusters);
}

TEST(InspectorTest, HtmlDocumentsShowTheirFullText) {
  Scanned s = Scan(Corpus());
  Inspector inspector({}, s.spans);
  Feed(s, &inspector);
  const std::string html = inspector.Html(s.scanner->stats(), Totals(s));
  const std::string_view documents = Section(html, "documents");
  std::set<uint32_t> with_spans;
  for (const SpanRecord& r : s.spans) with_spans.insert(r.doc_ordinal);
  EXPECT_EQ(Count(documents, "<article id=\"d"), with_spans.size());
  for (uint32_t ordinal : with_spans) {
    const Document& d = s.docs[ordinal];
    const std::string open =
        "<article id=\"d" + std::to_string(ordinal) + "\">";
    const size_t begin = documents.find(open);
    ASSERT_NE(begin, std::string_view::npos) << d.id;
    const size_t end = documents.find("</article>", begin);
    const std::string_view article = documents.substr(begin, end - begin);
    const size_t h3 = article.find("</h3>");
    EXPECT_EQ(TextOf(article.substr(0, h3)), d.id + " \xC2\xB7 " + d.site)
        << article;
    // Every byte of the text, once, marks and links aside.
    const size_t pre = article.find("<pre class=\"text\">");
    ASSERT_NE(pre, std::string_view::npos);
    const size_t pre_end = article.find("</pre>", pre);
    EXPECT_EQ(TextOf(article.substr(pre, pre_end - pre)), d.text) << d.id;
    if (!d.title.empty()) {
      const size_t title = article.find("<div class=\"title\">");
      ASSERT_NE(title, std::string_view::npos);
      const size_t title_end = article.find("</div>", title);
      EXPECT_EQ(TextOf(article.substr(title, title_end - title)), d.title);
    }
  }
  // A repeat links to its kept copy when that document is shown: paper/2
  // repeats the introduction of paper/<b>&1 (shown), while wire/1 holds
  // only kept copies, so it is not shown and nothing links to it.
  const std::string_view paper2 =
      documents.substr(documents.find("<article id=\"d10\">"));
  EXPECT_NE(paper2.substr(0, paper2.find("</article>")).find("href=\"#d7\""),
            std::string_view::npos);
  EXPECT_EQ(documents.find("href=\"#d6\""), std::string_view::npos);
  EXPECT_EQ(documents.find("<article id=\"d6\">"), std::string_view::npos);
}

TEST(InspectorTest, MaxDocumentsLimitsTheDocumentsShown) {
  Scanned s = Scan(Corpus());
  std::vector<uint32_t> with_spans;
  for (const SpanRecord& r : s.spans) {
    if (with_spans.empty() || with_spans.back() != r.doc_ordinal) {
      with_spans.push_back(r.doc_ordinal);
    }
  }
  ASSERT_GT(with_spans.size(), 3u);
  for (size_t max : {size_t{0}, size_t{1}, size_t{2}, size_t{3}}) {
    InspectOptions options;
    options.max_documents = max;
    Inspector inspector(options, s.spans);
    Feed(s, &inspector);
    const std::string html = inspector.Html(s.scanner->stats(), Totals(s));
    EXPECT_EQ(Count(html, "<article id=\"d"), max);
    EXPECT_NE(html.find("The first " + std::to_string(max) + " documents"),
              std::string::npos);
    // The first ones with spans, in input order.
    for (size_t k = 0; k < with_spans.size(); ++k) {
      const std::string open =
          "<article id=\"d" + std::to_string(with_spans[k]) + "\">";
      EXPECT_EQ(html.find(open) != std::string::npos, k < max)
          << "max " << max << " document " << with_spans[k];
    }
  }
}

TEST(InspectorTest, MaxClustersLimitsTheTable) {
  Scanned s = Scan(Corpus());
  ASSERT_GT(s.scanner->stats().clusters, 2u);
  InspectOptions options;
  options.max_clusters = 2;
  Inspector inspector(options, s.spans);
  Feed(s, &inspector);
  const std::string html = inspector.Html(s.scanner->stats(), Totals(s));
  EXPECT_EQ(Count(Section(html, "clusters"), "<tr><td class=\"n\">"), 2u);
  // The largest first: harbour's six boilerplate copies.
  EXPECT_NE(Section(html, "clusters").find(kSubscribe), std::string::npos);
}

TEST(InspectorTest, ExcerptsNeverSplitACharacter) {
  Scanned s = Scan(Corpus());
  simdjson::dom::parser parser;
  for (size_t bytes = 0; bytes <= 12; ++bytes) {
    InspectOptions options;
    options.excerpt_bytes = bytes;
    Inspector inspector(options, s.spans);
    Feed(s, &inspector);
    const std::string html = inspector.Html(s.scanner->stats(), Totals(s));
    ASSERT_TRUE(simdjson::validate_utf8(html.data(), html.size()))
        << "excerpt_bytes " << bytes;
    const std::string summary =
        inspector.SummaryJson(s.scanner->stats(), Totals(s));
    ASSERT_TRUE(simdjson::validate_utf8(summary.data(), summary.size()));
    simdjson::padded_string padded(summary);
    simdjson::dom::element root;
    ASSERT_EQ(parser.parse(padded).get(root), simdjson::SUCCESS);
  }
  // At 1 byte the German kept copy's excerpt is an ellipsis alone: its first
  // character is two bytes long.
  InspectOptions options;
  options.excerpt_bytes = 1;
  Inspector inspector(options, s.spans);
  Feed(s, &inspector);
  const std::string html = inspector.Html(s.scanner->stats(), Totals(s));
  EXPECT_NE(html.find("repeats wire/1: \xE2\x80\xA6\""), std::string::npos);
}

// Spans that do not fit the documents fed (a stale report, say) are skipped,
// never read out of bounds; an overlapping span is not marked twice.
TEST(InspectorTest, ToleratesSpansThatDoNotFit) {
  const std::string text = "0123456789 abcdefghij <&> klmnopqrst";
  std::vector<SpanRecord> spans(4);
  for (SpanRecord& r : spans) {
    r.at.doc = "d0";
    r.at.field = "text";
    r.kind = SpanKind::kParagraph;
    r.has_first = false;
    r.cluster = 1;
    r.count = 4;
  }
  spans[0].at.start = 0;
  spans[0].at.end = 10;
  spans[1].at.start = 5;  // overlaps the first
  spans[1].at.end = 15;
  spans[2].at.start = 20;
  spans[2].at.end = 25;
  spans[3].at.start = 30;  // past the end
  spans[3].at.end = 500;
  InspectOptions options;
  options.excerpt_bytes = 4;
  Inspector inspector(options, spans);
  Document doc = Doc("d0", "site", "", text);
  inspector.AddDocument(0, doc);
  inspector.AddDocument(7, Doc("unrelated", "site", "t", "no spans here"));
  ScanStats stats;
  const std::string html = inspector.Html(stats, RunTotals());
  const std::string_view documents = Section(html, "documents");
  const size_t pre = documents.find("<pre class=\"text\">");
  ASSERT_NE(pre, std::string_view::npos);
  const size_t pre_end = documents.find("</pre>", pre);
  const std::string_view shown = documents.substr(pre, pre_end - pre);
  EXPECT_EQ(Count(shown, "<mark class="), 2u) << shown;
  EXPECT_NE(shown.find(">0123456789</mark>"), std::string_view::npos);
  EXPECT_NE(shown.find(">j &lt;&amp;&gt;</mark>"), std::string_view::npos);
  EXPECT_EQ(TextOf(shown), text);
  EXPECT_EQ(html.find("unrelated"), std::string::npos);
  const std::string clusters = inspector.ClustersJsonl();
  EXPECT_EQ(Count(clusters, "\n"), 1u);
  EXPECT_EQ(Count(clusters, "\"doc\": \"d0\""), 4u);
}

TEST(InspectorTest, NoSpans) {
  Inspector inspector({}, {});
  inspector.AddDocument(0, Doc("a", "s", "t", "text"));
  EXPECT_EQ(inspector.ClustersJsonl(), "");
  ScanStats stats;
  const std::string html = inspector.Html(stats, RunTotals());
  EXPECT_NE(html.find("None found."), std::string::npos);
  EXPECT_EQ(html.find("<article"), std::string::npos);
  const std::string summary = inspector.SummaryJson(stats, RunTotals());
  simdjson::dom::parser parser;
  simdjson::padded_string padded(summary);
  simdjson::dom::element root;
  ASSERT_EQ(parser.parse(padded).get(root), simdjson::SUCCESS) << summary;
  simdjson::dom::object top;
  ASSERT_EQ(root["top_boilerplate"].get_object().get(top), simdjson::SUCCESS);
  EXPECT_EQ(top.size(), 0u);
}

}  // namespace
}  // namespace newsdedup
