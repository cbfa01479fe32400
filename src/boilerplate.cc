#include "newsdedup/boilerplate.h"

#include <re2/re2.h>
#include <re2/set.h>

#include <algorithm>
#include <fstream>
#include <mutex>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "internal/spaces.h"

namespace newsdedup {

struct BoilerplateRules::Rule {
  bool line;  // true: `line` rule; false: `trailer` rule
  std::string name;
  std::string source;  // the regex as given to Add
  std::unique_ptr<RE2> regex;
  // A built-in trailer's last bytes: what a paragraph must end with (before
  // whitespace) for the rule to be tried. Empty: any (the rules from Add).
  std::string ends;
};

// All line rules in one RE2::Set anchored at the start: one pass over a
// paragraph's first bytes says which rules match at all (almost always
// none), so that only those run on their own. Trailer rules each run on
// their own: RE2 searches a pattern ending in `$` backwards from the end,
// which a forward set over the whole tail would not beat. Built on first
// use.
struct BoilerplateRules::Prefilter {
  std::once_flag built;
  std::unique_ptr<RE2::Set> line;                 // null: check every rule
  std::vector<size_t> line_rules, trailer_rules;  // set index -> rule
};

namespace {

// Longest trailer searched for, in bytes.
constexpr size_t kTrailerWindow = 400;

struct BuiltInRule {
  const char* kind;
  const char* name;
  const char* regex;
  // For a trailer: every byte its match can end with, trailing whitespace
  // aside (RE2's (?i) folds no other character onto these letters). Most
  // paragraphs end with a byte that rules out most trailers, and each RE2
  // call costs about 200 cycles even when it fails at once.
  const char* ends = "";
};

// Each rule is anchored by its kind: line rules at the paragraph start,
// trailer rules at its end. Case-insensitive where the wording varies in
// case; the wire trailers keep their case so that running text ("editing
// by hand") is not caught.
constexpr BuiltInRule kBuiltIn[] = {
    // Teasers and link lines.
    {"line", "teaser",
     R"((?i)(?:read more|read also|also read|more to read|related|related articles?|related stories|related news|see also|more on this|more from|recommended|recommended reading|trending|top stories|editor'?s picks?|watch|watch now|listen|don'?t miss|you may also like|more news)\s*[:|>»]+)"},
    {"line", "teaser", R"((?i)click here\b)"},
    {"line", "teaser", R"((?i)(?:tap|click) (?:here|the link) to\b)"},
    {"line", "teaser",
     R"((?i)(?:lesen sie auch|lesen sie mehr|auch lesen|mehr zum thema|mehr dazu|weiterlesen|siehe auch|auch interessant|das könnte sie auch interessieren|empfehlungen|verwandte artikel|video)\s*[:|>»]+)"},
    // Newsletter, subscription and social lines.
    {"line", "subscribe",
     R"((?i)(?:subscribe (?:to|now|for|today)|sign up (?:for|to|now|here)|get our (?:free )?newsletter|follow us on|like us on|join us on|download our app)\b)"},
    {"line", "subscribe",
     R"((?i)(?:abonnieren sie|jetzt abonnieren|melden sie sich (?:hier |jetzt )?(?:für|zum) |folgen sie uns|newsletter abonnieren)\b)"},
    // Cookie and consent lines.
    {"line", "cookie",
     R"((?i)(?:we use cookies|this (?:web)?site uses cookies|by (?:continuing to use|using) (?:this|our) (?:site|website)|wir verwenden cookies|diese (?:web)?seite verwendet cookies)\b)"},
    // Copyright lines.
    {"line", "copyright",
     R"((?i)(?:copyright|\(c\)|©)\s*(?:[a-z][\w&.-]*\s+){0,3}(?:\d{4}|by\b))"},
    {"line", "copyright",
     R"((?i)(?:republication|redistribution) or (?:republication|redistribution) of)"},
    {"trailer", "copyright",
     R"((?i)(?:©|copyright)[^.\n]{0,80}all rights reserved\.?\s*$)", "dD."},
    {"trailer", "copyright", R"((?i)alle rechte vorbehalten\.?\s*$)", "nN."},
    // Advertising placeholders.
    {"line", "advert",
     R"((?i)(?:advertisement|sponsored content|anzeige|werbung)\s*$)"},
    // Wire bylines and trailers: "(Reporting by X; Editing by Y)".
    // One or more of them in a row, "(Reporting By X)", "(Reporting Jun
    // Ebias; ...)", "(Reporting and writing by X)", optionally followed by a
    // "((reporter@example.com; Reuters Messaging: ...))" contact line.
    {"trailer", "wire-trailer",
     R"((?:\((?:(?:Additional|Further|Extra) )?(?:(?:[Rr]eporting|[Ww]riting|[Ee]diting)(?: and (?:[Rr]eporting|[Ww]riting|[Ee]diting))? (?:[Bb][Yy]\b|from\b|\p{Lu})|(?:[Cc]ompiled|[Rr]esearch|[Ww]ritten) (?:[Bb][Yy]|from)\b)[^()]*(?:\([^()]*\)[^()]*)*\)\s*)+(?:\(\([^()]*\)\)\s*)?$)",
     ")"},
    {"trailer", "contact", R"(\(\([^()]*(?:@|Reuters Messaging)[^()]*\)\)\s*$)",
     ")"},
    // Currency notes closing wire copy: "($1=$1.16 Canadian)".
    {"trailer", "currency-note", R"(\(\$1\s*=\s*[^()]{1,40}\)\s*$)", ")"},
    {"line", "wire-trailer",
     R"((?:(?:Additional|Further) )?(?:Reporting|Writing|Editing|Compiled) by\s+\p{Lu}[^\n]{0,200}$)"},
    // Sign-offs: Reuters' "Reuter", agency tags closing a German article.
    {"trailer", "sign-off",
     R"((?:^|\s)(?:Reuter|REUTER|REUTERS)\s*(?:&#3;)?\s*$)", "rRS;"},
    {"trailer", "sign-off",
     R"(\((?:APA|dpa|AFP|Reuters|AP|red|sda|APA/dpa|dpa/AFP)(?:[,/;] ?[^()]{0,40})?\)\s*$)",
     ")"},
};

}  // namespace

namespace internal {

std::vector<BuiltInRuleText> BuiltInRuleTexts() {
  std::vector<BuiltInRuleText> out;
  for (const BuiltInRule& r : kBuiltIn) {
    out.push_back({r.kind, r.name, r.regex, r.ends});
  }
  return out;
}

}  // namespace internal

namespace {

RE2::Options RuleOptions() {
  RE2::Options options;
  options.set_log_errors(false);
  options.set_encoding(RE2::Options::EncodingUTF8);
  return options;
}

}  // namespace

BoilerplateRules::BoilerplateRules()
    : prefilter_(std::make_unique<Prefilter>()) {}
BoilerplateRules::BoilerplateRules(BoilerplateRules&&) noexcept = default;
BoilerplateRules& BoilerplateRules::operator=(BoilerplateRules&&) noexcept =
    default;
BoilerplateRules::~BoilerplateRules() = default;

BoilerplateRules BoilerplateRules::Empty() { return BoilerplateRules(); }

absl::StatusOr<BoilerplateRules> BoilerplateRules::BuiltIn() {
  BoilerplateRules rules;
  for (const BuiltInRule& r : kBuiltIn) {
    absl::Status s = rules.Add(r.kind, r.name, r.regex);
    if (!s.ok()) return s;
    rules.rules_.back()->ends = r.ends;
  }
  return rules;
}

absl::Status BoilerplateRules::Add(std::string_view kind, std::string_view name,
                                   std::string_view regex) {
  if (kind != "line" && kind != "trailer") {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown rule kind \"", std::string(kind), "\" (use line or trailer)"));
  }
  if (name.empty()) return absl::InvalidArgumentError("rule without a name");
  const RE2::Options options = RuleOptions();
  // Line rules are anchored at the start, trailer rules at the end: with
  // the `$` inside the pattern, the search finds the occurrence that ends the
  // paragraph even when the regex also matches earlier in it.
  const std::string pattern =
      kind == "line" ? absl::StrCat("^(?:", std::string(regex), ")")
                     : absl::StrCat("(?:", std::string(regex), ")\\s*$");
  auto re = std::make_unique<RE2>(pattern, options);
  if (!re->ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid regular expression for rule \"",
                     std::string(name), "\": ", re->error()));
  }
  auto rule = std::make_unique<Rule>();
  rule->line = kind == "line";
  rule->name = std::string(name);
  rule->source = std::string(regex);
  rule->regex = std::move(re);
  rules_.push_back(std::move(rule));
  prefilter_ = std::make_unique<Prefilter>();
  return absl::OkStatus();
}

const BoilerplateRules::Prefilter* BoilerplateRules::GetPrefilter() const {
  if (prefilter_ == nullptr) return nullptr;  // moved from
  // Add() is not called while rules are matched (it replaces the
  // prefilter); matching threads build it once.
  Prefilter& p = *prefilter_;
  std::call_once(p.built, [this, &p]() {
    auto line = std::make_unique<RE2::Set>(RuleOptions(), RE2::ANCHOR_START);
    bool ok = true;
    for (size_t i = 0; i < rules_.size(); ++i) {
      if (!rules_[i]->line) {
        p.trailer_rules.push_back(i);
        continue;
      }
      p.line_rules.push_back(i);
      if (ok) ok = line->Add(rules_[i]->regex->pattern(), nullptr) >= 0;
    }
    if (ok && line->Compile()) p.line = std::move(line);
  });
  return &p;
}

absl::Status BoilerplateRules::AddFromFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(absl::StrCat(path, ": cannot open rules file"));
  }
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    const size_t kind_end = line.find_first_of(" \t", start);
    const size_t name_start = line.find_first_not_of(" \t", kind_end);
    const size_t name_end = line.find_first_of(" \t", name_start);
    const size_t regex_start = line.find_first_not_of(" \t", name_end);
    if (kind_end == std::string::npos || name_start == std::string::npos ||
        name_end == std::string::npos || regex_start == std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", number, ": expected `KIND NAME REGEX`"));
    }
    absl::Status s =
        Add(std::string_view(line).substr(start, kind_end - start),
            std::string_view(line).substr(name_start, name_end - name_start),
            std::string_view(line).substr(regex_start));
    if (!s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", number, ": ", s.message()));
    }
  }
  return absl::OkStatus();
}

namespace {

// The rules of one kind (indices into the rules, in order) that may match
// `text`: those `set` reports, or all of them without a set or when it gave
// up (its DFA ran out of memory).
void Candidates(const RE2::Set* set, const std::vector<size_t>& rules,
                std::string_view text, std::vector<size_t>* out) {
  out->clear();
  if (set != nullptr) {
    const re2::StringPiece piece(text.data(), text.size());
    RE2::Set::ErrorInfo error{};
    // First only whether any rule matches (almost always none): asked for
    // which ones, RE2 allocates on every call and runs the whole DFA.
    if (!set->Match(piece, nullptr, &error) &&
        error.kind == RE2::Set::kNoError) {
      return;
    }
    thread_local std::vector<int> hits;
    hits.clear();
    error = RE2::Set::ErrorInfo{};
    if (set->Match(piece, &hits, &error) || error.kind == RE2::Set::kNoError) {
      std::sort(hits.begin(), hits.end());
      for (int h : hits) out->push_back(rules[static_cast<size_t>(h)]);
      return;
    }
  }
  out->assign(rules.begin(), rules.end());
}

}  // namespace

std::vector<BoilerplateMatch> BoilerplateRules::MatchAll(
    std::string_view paragraph) const {
  std::vector<BoilerplateMatch> out;
  const Prefilter* prefilter = GetPrefilter();
  if (prefilter == nullptr) return out;
  thread_local std::vector<size_t> candidates;
  const re2::StringPiece text(paragraph.data(), paragraph.size());
  // A line rule covers the paragraph's first line.
  Candidates(prefilter->line.get(), prefilter->line_rules, paragraph,
             &candidates);
  for (size_t i : candidates) {
    const Rule& rule = *rules_[i];
    if (RE2::PartialMatch(text, *rule.regex)) {
      size_t end = paragraph.find('\n');
      if (end == std::string_view::npos) end = paragraph.size();
      while (end > 0 &&
             (paragraph[end - 1] == ' ' || paragraph[end - 1] == '\r' ||
              paragraph[end - 1] == '\t'))
        --end;
      out.push_back({{0, static_cast<uint32_t>(end)}, rule.name});
      if (end == paragraph.size()) return out;
      break;
    }
  }
  const uint32_t line_end = out.empty() ? 0 : out.back().range.end;
  // Trailers end the paragraph and are short: search only its tail, so the
  // cost does not grow with the paragraph (starting on a character boundary).
  size_t tail =
      paragraph.size() > kTrailerWindow ? paragraph.size() - kTrailerWindow : 0;
  while (tail < paragraph.size() &&
         (static_cast<unsigned char>(paragraph[tail]) & 0xC0) == 0x80)
    ++tail;
  // The paragraph's last byte before whitespace (RE2's \s).
  const std::string_view body = internal::StripRe2SpacesRight(paragraph);
  for (size_t i : prefilter->trailer_rules) {
    const Rule& rule = *rules_[i];
    if (!rule.ends.empty() &&
        (body.empty() || rule.ends.find(body.back()) == std::string::npos)) {
      continue;
    }
    re2::StringPiece match;
    if (rule.regex->Match(text, tail, text.size(), RE2::UNANCHORED, &match,
                          1) &&
        match.data() + match.size() == text.data() + text.size()) {
      uint32_t begin = static_cast<uint32_t>(match.data() - text.data());
      // Leading whitespace of the match is not part of the trailer.
      while (begin < paragraph.size() &&
             (paragraph[begin] == ' ' || paragraph[begin] == '\n' ||
              paragraph[begin] == '\t' || paragraph[begin] == '\r'))
        ++begin;
      if (begin < line_end) continue;
      uint32_t end = static_cast<uint32_t>(paragraph.size());
      if (begin < end) out.push_back({{begin, end}, rule.name});
      break;
    }
  }
  return out;
}

std::optional<BoilerplateMatch> BoilerplateRules::Match(
    std::string_view paragraph) const {
  std::vector<BoilerplateMatch> all = MatchAll(paragraph);
  if (all.empty()) return std::nullopt;
  return all.front();
}

size_t BoilerplateRules::size() const { return rules_.size(); }

absl::StatusOr<BoilerplateRules> BoilerplateRules::Clone() const {
  BoilerplateRules copy;
  for (const auto& rule : rules_) {
    absl::Status s =
        copy.Add(rule->line ? "line" : "trailer", rule->name, rule->source);
    if (!s.ok()) return s;
    copy.rules_.back()->ends = rule->ends;
  }
  return copy;
}

}  // namespace newsdedup
