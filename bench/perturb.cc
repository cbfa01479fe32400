#include "perturb.h"

#include <algorithm>
#include <cstdio>
#include <random>
#include <string_view>
#include <utility>

#include "newsdedup/reader.h"
#include "newsdedup/report.h"
#include "newsdedup/segment.h"
#include "newsdedup/tokenize.h"

namespace newsdedup::bench {
namespace {

struct Para {
  std::string text;
  std::vector<Token> words;
  uint32_t doc = 0;  // index into the corpus
};

bool HasDigit(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return c >= '0' && c <= '9'; });
}

// Numbers, dates, ordinals and the words that turn a figure around: a
// changed one is a new fact, not an edit of the same copy (the `number-1`
// edit changes a number on purpose).
bool IsFact(std::string_view word) {
  static const char* const kFacts[] = {
      "first",     "second",  "third",    "fourth",    "fifth",     "sixth",
      "seventh",   "eighth",  "ninth",    "tenth",     "rise",      "rises",
      "rose",      "risen",   "fall",     "falls",     "fell",      "fallen",
      "up",        "down",    "higher",   "lower",     "gain",      "gains",
      "gained",    "loss",    "losses",   "increase",  "increased", "decrease",
      "decreased", "drop",    "drops",    "dropped",   "not",       "no",
      "never",     "january", "february", "march",     "april",     "may",
      "june",      "july",    "august",   "september", "october",   "november",
      "december",  "jan",     "feb",      "mar",       "apr",       "jun",
      "jul",       "aug",     "sep",      "sept",      "oct",       "nov",
      "dec",       "monday",  "tuesday",  "wednesday", "thursday",  "friday",
      "saturday",  "sunday"};
  if (HasDigit(word)) return true;
  std::string lower(word);
  for (char& c : lower) c = (c >= 'A' && c <= 'Z') ? c + 32 : c;
  while (!lower.empty() && lower.back() == '.') lower.pop_back();
  for (const char* d : kFacts) {
    if (lower == d) return true;
  }
  return false;
}

// Sentence ends: the byte after ". ", "? " or "! " followed by a capital
// letter or a quote. Returns sentence [begin, end) ranges (end excludes the
// following space).
std::vector<std::pair<size_t, size_t>> Sentences(std::string_view text) {
  std::vector<std::pair<size_t, size_t>> out;
  size_t begin = 0;
  for (size_t i = 0; i + 2 < text.size(); ++i) {
    const char c = text[i];
    if ((c == '.' || c == '?' || c == '!') && text[i + 1] == ' ' &&
        ((text[i + 2] >= 'A' && text[i + 2] <= 'Z') || text[i + 2] == '"')) {
      out.push_back({begin, i + 1});
      begin = i + 2;
    }
  }
  out.push_back({begin, text.size()});
  return out;
}

bool SameWord(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const char x = (a[i] >= 'A' && a[i] <= 'Z') ? a[i] + 32 : a[i];
    const char y = (b[i] >= 'A' && b[i] <= 'Z') ? b[i] + 32 : b[i];
    if (x != y) return false;
  }
  return true;
}

// `paragraph` without its lines of one or two words (sign-offs such as
// "Reuter", bylines): planted text leaves them out, since the tool reports
// them by rule, as boilerplate, wherever they are.
std::string WithoutShortLines(std::string_view paragraph) {
  std::string out;
  size_t pos = 0;
  while (pos <= paragraph.size()) {
    size_t end = paragraph.find('\n', pos);
    if (end == std::string_view::npos) end = paragraph.size();
    const std::string_view line = paragraph.substr(pos, end - pos);
    if (Tokenize(line).size() >= 3) {
      if (!out.empty()) out.push_back('\n');
      out.append(line);
    }
    pos = end + 1;
  }
  return out;
}

// Appends `paragraph` to `*text` after a blank line; returns where it starts.
size_t AppendParagraph(std::string* text, const std::string& paragraph) {
  if (!text->empty()) text->append("\n\n");
  const size_t start = text->size();
  text->append(paragraph);
  return start;
}

class Planter {
 public:
  Planter(const std::vector<Document>& corpus, const PlantOptions& options)
      : corpus_(corpus), options_(options), rng_(options.seed) {
    paras_.resize(corpus.size());
    for (uint32_t d = 0; d < corpus.size(); ++d) {
      const std::string& text = corpus[d].text;
      for (const ByteRange& r : SegmentParagraphs(text, {})) {
        Para p;
        p.text = text.substr(r.begin, r.end - r.begin);
        p.words = Tokenize(p.text);
        if (p.words.empty()) continue;
        p.doc = d;
        if (vocabulary_.size() < 200000) {
          for (const Token& w : p.words) {
            std::string word = p.text.substr(w.begin, w.end - w.begin);
            if (!IsFact(word)) vocabulary_.push_back(std::move(word));
          }
        }
        paras_[d].push_back(std::move(p));
      }
    }
    planted_.labels.name = options.prefix;
  }

  Planted Run() {
    if (vocabulary_.empty()) return std::move(planted_);
    // Sources are drawn without replacement: articles first, then
    // paragraphs of other documents.
    std::vector<uint32_t> docs(corpus_.size());
    for (uint32_t i = 0; i < docs.size(); ++i) docs[i] = i;
    Shuffle(&docs);
    std::vector<bool> used(corpus_.size(), false);
    int made = 0;
    for (uint32_t d : docs) {
      if (made == options_.articles) break;
      if (CountWords(paras_[d]) < 60 || paras_[d].size() < 3 ||
          Tokenize(corpus_[d].title).size() < 4) {
        continue;
      }
      used[d] = true;
      SyndicatedCopy(d, made++);
    }
    std::vector<const Para*> sources;
    for (uint32_t d : docs) {
      if (used[d]) continue;
      for (const Para& p : paras_[d]) {
        if (p.words.size() >= 20) sources.push_back(&p);
      }
    }
    size_t next = 0;
    for (const std::string& edit : ParagraphEdits()) {
      for (int i = 0; i < options_.per_edit && next < sources.size();) {
        const Para& p = *sources[next++];
        std::string text;
        if (!EditParagraph(p, edit, &text)) continue;
        Document doc;
        doc.id = Id("para/" + edit, i++);
        doc.text = text;
        AddLabel(doc.id, "text", 0, doc.text.size(), SpanKind::kParagraph,
                 corpus_[p.doc].id, edit);
        planted_.labels.docs.push_back(doc.id);
        planted_.docs.push_back(std::move(doc));
      }
    }
    // Hard negatives and spliced passages are rewritten from articles not
    // used above (any article will do: the rewrite leaves no passage).
    made = 0;
    for (size_t i = 0; i < docs.size() && made < options_.negatives; ++i) {
      const uint32_t d = docs[docs.size() - 1 - i];
      if (CountWords(paras_[d]) < 40) continue;
      HardNegative(d, made++, /*splice=*/false);
    }
    made = 0;
    for (size_t i = 0; i < docs.size() && made < options_.spliced; ++i) {
      const uint32_t d = docs[(docs.size() / 2 + i) % docs.size()];
      if (CountWords(paras_[d]) < 40) continue;
      HardNegative(d, made++, /*splice=*/true);
    }
    return std::move(planted_);
  }

 private:
  uint64_t Below(uint64_t n) { return n == 0 ? 0 : rng_() % n; }
  bool Chance(double p) { return (rng_() >> 11) * 0x1.0p-53 < p; }

  template <typename T>
  void Shuffle(std::vector<T>* v) {
    for (size_t i = v->size(); i > 1; --i)
      std::swap((*v)[i - 1], (*v)[Below(i)]);
  }

  static size_t CountWords(const std::vector<Para>& ps) {
    size_t n = 0;
    for (const Para& p : ps) n += p.words.size();
    return n;
  }

  std::string Id(const std::string& kind, int n) const {
    return options_.prefix + "/" + kind + "/" + std::to_string(n);
  }

  const std::string& Word() { return vocabulary_[Below(vocabulary_.size())]; }

  void AddLabel(const std::string& doc, const char* field, size_t start,
                size_t end, SpanKind kind, const std::string& first,
                const std::string& edit) {
    Label l;
    l.doc = doc;
    l.field = field;
    l.start = static_cast<uint32_t>(start);
    l.end = static_cast<uint32_t>(end);
    l.kind = kind;
    l.first_doc = first;
    l.edit = edit;
    planted_.labels.labels.push_back(std::move(l));
  }

  // `p` with the words at `positions` (sorted) replaced by corpus words.
  std::string Replace(const Para& p, const std::vector<size_t>& positions) {
    std::string out;
    size_t pos = 0;
    for (size_t i : positions) {
      const Token& w = p.words[i];
      out.append(p.text, pos, w.begin - pos);
      // A different word, not the same one drawn again ("the" for "the").
      const std::string_view old(p.text.data() + w.begin, w.end - w.begin);
      const std::string* word = &Word();
      for (int tries = 0; tries < 20 && SameWord(*word, old); ++tries) {
        word = &Word();
      }
      out.append(*word);
      pos = w.end;
    }
    out.append(p.text, pos, std::string::npos);
    return out;
  }

  // `count` ordinary words (not numbers or dates) of `p` replaced.
  bool ReplaceWords(const Para& p, size_t count, std::string* out) {
    std::vector<size_t> candidates;
    for (size_t i = 0; i < p.words.size(); ++i) {
      const Token& w = p.words[i];
      if (!IsFact(std::string_view(p.text).substr(w.begin, w.end - w.begin)))
        candidates.push_back(i);
    }
    if (candidates.size() < count) return false;
    Shuffle(&candidates);
    candidates.resize(count);
    std::sort(candidates.begin(), candidates.end());
    *out = Replace(p, candidates);
    return true;
  }

  // A rewrite of `p` that keeps its length and order but no run of 7
  // original words: 60% of the words replaced, then one more in every run
  // of 7 left.
  std::string Rewrite(const Para& p) {
    const size_t n = p.words.size();
    // 60% of the words, and at least two (a headline with one word
    // changed is still a near copy).
    std::vector<size_t> order(n);
    for (size_t i = 0; i < n; ++i) order[i] = i;
    Shuffle(&order);
    const size_t count = std::min(n, std::max<size_t>(2, (n * 3 + 4) / 5));
    std::vector<bool> change(n, false);
    for (size_t i = 0; i < count; ++i) change[order[i]] = true;
    size_t run = 0;
    for (size_t i = 0; i < n; ++i) {
      run = change[i] ? 0 : run + 1;
      if (run == 7) {
        change[i] = true;
        run = 0;
      }
    }
    std::vector<size_t> positions;
    for (size_t i = 0; i < n; ++i) {
      if (change[i]) positions.push_back(i);
    }
    return WithoutShortLines(Replace(p, positions));
  }

  bool EditParagraph(const Para& p, const std::string& edit, std::string* out) {
    const size_t n = p.words.size();
    if (edit == "exact") {
      *out = p.text;
      return true;
    }
    if (edit.rfind("word-", 0) == 0) {
      size_t count;
      if (edit.back() == '%') {
        const double share = std::stod(edit.substr(5)) / 100.0;
        count = std::max<size_t>(1, static_cast<size_t>(n * share + 0.5));
      } else {
        count = std::stoul(edit.substr(5));
      }
      return ReplaceWords(p, count, out);
    }
    if (edit == "number-1") {
      std::vector<size_t> numbers;
      for (size_t i = 0; i < n; ++i) {
        const Token& w = p.words[i];
        if (HasDigit(std::string_view(p.text).substr(w.begin, w.end - w.begin)))
          numbers.push_back(i);
      }
      if (numbers.empty()) return false;
      const Token& w = p.words[numbers[Below(numbers.size())]];
      std::string word = p.text.substr(w.begin, w.end - w.begin);
      for (char& c : word) {  // change its first digit
        if (c >= '0' && c <= '9') {
          c = static_cast<char>('0' + (c - '0' + 1 + Below(8)) % 10);
          break;
        }
      }
      *out = p.text.substr(0, w.begin) + word + p.text.substr(w.end);
      return true;
    }
    if (edit == "drop-sentence") {
      const auto sentences = Sentences(p.text);
      if (sentences.size() < 3 || n < 30) return false;
      const size_t k = 1 + Below(sentences.size() - 1);
      // Drop sentence k and the space before it.
      const size_t begin = sentences[k - 1].second;
      const size_t end = sentences[k].second;
      *out = p.text.substr(0, begin) + p.text.substr(end);
      return true;
    }
    if (edit == "add-sentence") {
      // A new sentence: a rewritten sentence of another paragraph.
      const auto& other = paras_[Below(paras_.size())];
      if (other.empty()) return false;
      const Para& q = other[Below(other.size())];
      if (q.words.size() < 12) return false;
      std::string s = Rewrite(q);
      const auto sentences = Sentences(s);
      const auto& first = sentences[0];
      *out = p.text + " " + s.substr(first.first, first.second - first.first);
      return true;
    }
    if (edit == "truncate") {
      const double share = 0.6 + 0.25 * (Below(1000) / 1000.0);
      const size_t keep = std::max<size_t>(1, static_cast<size_t>(n * share));
      *out = p.text.substr(0, p.words[keep - 1].end);
      if (Chance(0.5)) out->append("...");
      return true;
    }
    return false;
  }

  void SyndicatedCopy(uint32_t d, int n) {
    static const char* const kPrefixes[] = {"UPDATE 2-", "REFILE-",
                                            "Analysis: ", "EXCLUSIVE-"};
    static const char* const kSuffixes[] = {" - Reuters", " (AP)",
                                            " | BBC News"};
    const Document& src = corpus_[d];
    Document doc;
    doc.id = Id("article", n);
    doc.site = "syndication.example";
    doc.title = src.title;
    if (Chance(0.7)) {
      if (Chance(0.5)) {
        doc.title = kPrefixes[Below(4)] + doc.title;
      } else {
        doc.title += kSuffixes[Below(3)];
      }
      AddLabel(doc.id, "title", 0, doc.title.size(), SpanKind::kHeadline,
               src.id, "headline-decorated");
    } else {
      AddLabel(doc.id, "title", 0, doc.title.size(), SpanKind::kHeadline,
               src.id, "headline-exact");
    }
    std::string& text = doc.text;
    if (Chance(0.5)) {  // a new intro, written here
      const auto& other = paras_[Below(paras_.size())];
      for (const Para& q : other) {
        if (q.words.size() >= 20) {
          AppendParagraph(&text, Rewrite(q));
          break;
        }
      }
    }
    const std::vector<Para>& ps = paras_[d];
    const size_t teaser_after = Chance(0.5) ? 1 + Below(ps.size() - 1) : 0;
    for (size_t i = 0; i < ps.size(); ++i) {
      const Para& p = ps[i];
      // Lines of one or two words (sign-offs like "Reuter", bylines) are
      // left out: the tool does not report them as repeats.
      if (p.words.size() < 3) continue;
      std::string s = p.text;
      std::string edit = "article-exact";
      if (i + 1 == ps.size() && p.words.size() >= 20 && Chance(0.3)) {
        EditParagraph(p, "truncate", &s);
        edit = "article-truncate";
      } else if (p.words.size() >= 20 && Chance(0.3) &&
                 ReplaceWords(p, 1, &s)) {
        edit = "article-word-1";
      }
      const size_t start = AppendParagraph(&text, s);
      AddLabel(doc.id, "text", start, text.size(), SpanKind::kParagraph, src.id,
               edit);
      if (i + 1 == teaser_after) {
        const Document& other = corpus_[Below(corpus_.size())];
        if (!other.title.empty() &&
            other.title.find('\n') == std::string::npos) {
          const size_t at = AppendParagraph(&text, "READ MORE: " + other.title);
          AddLabel(doc.id, "text", at, text.size(), SpanKind::kBoilerplate, "",
                   "teaser");
        }
      }
    }
    planted_.labels.docs.push_back(doc.id);
    planted_.docs.push_back(std::move(doc));
  }

  void HardNegative(uint32_t d, int n, bool splice) {
    const Document& src = corpus_[d];
    Document doc;
    doc.id = Id(splice ? "spliced" : "negative", n);
    const int site = n % 20;
    doc.site = "gazette" + std::to_string(site) + ".example";
    if (!src.title.empty()) {
      Para t;
      t.text = src.title;
      t.words = Tokenize(t.text);
      doc.title = Rewrite(t);
    }
    std::string& text = doc.text;
    const std::vector<Para>& ps = paras_[d];
    bool spliced = !splice;
    for (size_t i = 0; i < ps.size(); ++i) {
      if (ps[i].words.size() < 3) continue;  // as in copies
      std::string s = Rewrite(ps[i]);
      if (!spliced && ps[i].words.size() >= 20) {
        // A verbatim sentence of 12+ words from another article, put in
        // at a sentence boundary of this paragraph.
        for (int tries = 0; tries < 50 && !spliced; ++tries) {
          const auto& other = paras_[Below(paras_.size())];
          if (other.empty()) continue;
          const Para& q = other[Below(other.size())];
          for (const auto& [b, e] : Sentences(q.text)) {
            // Line breaks (wrapped wire copy) become spaces: the words, which
            // is what the tool compares, stay the same.
            std::string sentence;
            for (char ch : q.text.substr(b, e - b)) {
              if (ch == '\n' || ch == '\r') ch = ' ';
              if (ch == ' ' && !sentence.empty() && sentence.back() == ' ') {
                continue;
              }
              sentence.push_back(ch);
            }
            // Prose: mostly words, not a table of figures.
            const std::vector<Token> sentence_words = Tokenize(sentence);
            const size_t words = sentence_words.size();
            if (words < 12 || words > 60) continue;
            size_t figures = 0;
            for (const Token& w : sentence_words) {
              figures += HasDigit(
                  std::string_view(sentence).substr(w.begin, w.end - w.begin));
            }
            if (figures * 5 > words) continue;
            const auto host = Sentences(s);
            const size_t cut = host[host.size() / 2].first;
            const std::string before = s.substr(0, cut);
            const std::string after = s.substr(cut);
            std::string joined = before;
            if (!joined.empty() && joined.back() != ' ') joined.push_back(' ');
            const size_t at = joined.size();
            joined += sentence;
            if (!after.empty()) joined += " " + after;
            const size_t start = AppendParagraph(&text, joined);
            AddLabel(doc.id, "text", start + at, start + at + sentence.size(),
                     SpanKind::kSpan, corpus_[q.doc].id, "spliced");
            spliced = true;
            break;
          }
        }
        if (spliced) continue;
      }
      AppendParagraph(&text, s);
    }
    if (site % 2 == 0) {  // the site's template line, in every story
      const size_t at = AppendParagraph(
          &text,
          "Gazette " + std::to_string(site) +
              " readers can send corrections and story tips to the regional "
              "desk at any hour of the day.");
      AddLabel(doc.id, "text", at, text.size(), SpanKind::kBoilerplate, "",
               "template");
    }
    planted_.labels.docs.push_back(doc.id);
    planted_.docs.push_back(std::move(doc));
  }

  const std::vector<Document>& corpus_;
  const PlantOptions& options_;
  std::mt19937_64 rng_;
  std::vector<std::vector<Para>> paras_;
  std::vector<std::string> vocabulary_;
  Planted planted_;
};

}  // namespace

const std::vector<std::string>& ParagraphEdits() {
  static const std::vector<std::string> kEdits = {
      "exact",    "word-1",   "word-2",        "word-10%",     "word-20%",
      "word-30%", "number-1", "drop-sentence", "add-sentence", "truncate"};
  return kEdits;
}

Planted Plant(const std::vector<Document>& corpus,
              const PlantOptions& options) {
  return Planter(corpus, options).Run();
}

absl::StatusOr<std::vector<Document>> ReadCorpus(
    const std::vector<std::string>& paths) {
  auto reader = Reader::Open(paths, {}, [](const Malformed& m) {
    std::fprintf(stderr, "%s\n", m.ToString().c_str());
  });
  if (!reader.ok()) return reader.status();
  std::vector<Document> corpus;
  Document doc;
  while (true) {
    auto more = (*reader)->Next(&doc);
    if (!more.ok()) return more.status();
    if (!*more) break;
    corpus.push_back(std::move(doc));
    doc = Document();
  }
  return corpus;
}

std::string DocumentJson(const Document& doc) {
  std::string out = "{\"id\": ";
  AppendJsonString(doc.id, &out);
  if (!doc.site.empty()) {
    out.append(", \"site\": ");
    AppendJsonString(doc.site, &out);
  }
  out.append(", \"title\": ");
  AppendJsonString(doc.title, &out);
  out.append(", \"text\": ");
  AppendJsonString(doc.text, &out);
  out.append("}\n");
  return out;
}

std::string LabelsJsonl(const LabelSet& labels) {
  std::string out = "{\"labels\": \"newsdedup-eval\", \"name\": ";
  AppendJsonString(labels.name, &out);
  out.append(", \"kinds\": [");
  bool comma = false;
  for (int k = 0; k < 5; ++k) {
    if (!labels.scored[k]) continue;
    if (comma) out.append(", ");
    comma = true;
    AppendJsonString(SpanKindName(static_cast<SpanKind>(k)), &out);
  }
  out.append("]}\n");
  // Negatives first (documents without labels), then the labels.
  std::vector<std::string> labelled;
  for (const Label& l : labels.labels) labelled.push_back(l.doc);
  std::sort(labelled.begin(), labelled.end());
  for (const std::string& doc : labels.docs) {
    if (std::binary_search(labelled.begin(), labelled.end(), doc)) continue;
    out.append("{\"doc\": ");
    AppendJsonString(doc, &out);
    out.append("}\n");
  }
  for (const Label& l : labels.labels) {
    out.append("{\"doc\": ");
    AppendJsonString(l.doc, &out);
    out.append(", \"field\": ");
    AppendJsonString(l.field, &out);
    out.append(", \"start\": " + std::to_string(l.start) +
               ", \"end\": " + std::to_string(l.end) + ", \"kind\": ");
    AppendJsonString(SpanKindName(l.kind), &out);
    if (!l.first_doc.empty()) {
      out.append(", \"first\": {\"doc\": ");
      AppendJsonString(l.first_doc, &out);
      out.append("}");
    }
    if (!l.edit.empty()) {
      out.append(", \"edit\": ");
      AppendJsonString(l.edit, &out);
    }
    out.append("}\n");
  }
  return out;
}

}  // namespace newsdedup::bench
