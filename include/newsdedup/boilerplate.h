// Boilerplate rules: lines and trailers that are boilerplate by their form,
// whatever the site ("READ MORE: ...", "(Reporting by ...; Editing by ...)",
// "Lesen Sie auch: ...", cookie and copyright lines). Built-in rules cover
// English and German; users add their own in a rules file.
//
//   auto rules = newsdedup::BoilerplateRules::BuiltIn();
//   rules->AddFromFile("my-rules.txt");
//   if (auto m = rules->Match("READ MORE: Ferry moves to the quay.")) {
//     // m->range == {0, 35}, m->rule == "teaser"
//   }
//
// Rules file: one rule per line, `KIND NAME REGEX`, where KIND is `line` (the
// regex must match at the start of a paragraph; the span runs to the end of
// that line) or `trailer` (the regex must match at the end of a paragraph;
// the span is the match). REGEX is RE2 syntax, (?i) for case-insensitive.
// Blank lines and lines starting with '#' are ignored.
#ifndef NEWSDEDUP_BOILERPLATE_H_
#define NEWSDEDUP_BOILERPLATE_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "newsdedup/segment.h"

namespace newsdedup {

struct BoilerplateMatch {
  ByteRange range;        // relative to the paragraph passed to Match()
  std::string_view rule;  // the rule's name; valid while the rules live
};

class BoilerplateRules {
 public:
  // The built-in rules (teasers, link lines, newsletter and social lines,
  // cookie and copyright lines, wire bylines and trailers, sign-offs) in
  // English and German.
  static absl::StatusOr<BoilerplateRules> BuiltIn();
  // No rules at all.
  static BoilerplateRules Empty();

  BoilerplateRules(BoilerplateRules&&) noexcept;
  BoilerplateRules& operator=(BoilerplateRules&&) noexcept;
  ~BoilerplateRules();

  // Adds one rule. Errors: unknown kind, empty name, invalid regex.
  absl::Status Add(std::string_view kind, std::string_view name,
                   std::string_view regex);
  // Adds the rules of a rules file. Errors name the file and line.
  absl::Status AddFromFile(const std::string& path);

  // The first boilerplate part of `paragraph` (a trimmed paragraph): a line
  // rule matching at its start wins over a trailer rule matching at its end.
  // Thread-safe (const).
  std::optional<BoilerplateMatch> Match(std::string_view paragraph) const;

  // Every match in the paragraph: the leading line and the trailer, in order.
  std::vector<BoilerplateMatch> MatchAll(std::string_view paragraph) const;

  size_t size() const;

  // The same rules with regular expressions of their own. Matching is
  // thread-safe, but threads matching at once share each expression's
  // cache and its lock (RE2): a thread that matches a lot is better off
  // with a copy. Errors: none for rules that compiled once.
  absl::StatusOr<BoilerplateRules> Clone() const;

 private:
  struct Rule;
  struct Prefilter;
  BoilerplateRules();
  const Prefilter* GetPrefilter() const;
  std::vector<std::unique_ptr<Rule>> rules_;
  std::unique_ptr<Prefilter> prefilter_;
};

namespace internal {

// For tests: the built-in rules as BuiltIn() adds them, and for each trailer
// the bytes its match may end with before whitespace (it is tried only on
// paragraphs that end with one of them).
struct BuiltInRuleText {
  std::string_view kind, name, regex, ends;
};
std::vector<BuiltInRuleText> BuiltInRuleTexts();

}  // namespace internal
}  // namespace newsdedup

#endif  // NEWSDEDUP_BOILERPLATE_H_
