#include "newsdedup/caption.h"

#include <re2/re2.h>

#include <cstring>
#include <initializer_list>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "internal/spaces.h"

namespace newsdedup {
namespace {

// A date as captions write it: "Sept 5, 2017", "October 16, 2017",
// "5 September 2017", "2017-09-05".
constexpr char kDate[] =
    R"((?:(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4})"
    R"(|\d{1,2}(?:st|nd|rd|th)?\s+(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?,?\s+\d{4})"
    R"(|\d{4}-\d{2}-\d{2}))";

constexpr char kAgencies[] =
    "AFP|AP|REUTERS|EPA|EPA-EFE|GETTY IMAGES|GETTY|XINHUA|ANADOLU|DPA|ANSA|"
    "KYODO|YONHAP|UPI|SANA|TASS|SPUTNIK|NURPHOTO|SIPA|BLOOMBERG|AAP|PA|"
    "ZUMA|SHUTTERSTOCK|HANDOUT";

bool IsAbbreviation(std::string_view word) {
  static constexpr std::string_view kAbbreviations[] = {
      "Mr",   "Mrs", "Ms",   "Dr",  "St",  "Jan",  "Feb", "Mar",
      "Apr",  "Jun", "Jul",  "Aug", "Sep", "Sept", "Oct", "Nov",
      "Dec",  "Gen", "Gov",  "Sen", "Rep", "Lt",   "Col", "Sgt",
      "Capt", "Inc", "Corp", "Co",  "Ltd", "No",   "Jr",  "Sr",
      "Prof", "Rev", "Mt",   "Ft",  "vs",  "Adm",  "Maj", "Pres"};
  if (word.size() == 1) return true;  // initials: "J. Smith", "U.S."
  if (word.find('.') != std::string_view::npos) return true;  // "U.S"
  for (std::string_view a : kAbbreviations) {
    if (word == a) return true;
  }
  return false;
}

inline bool IsSpace(char c) {
  return c == ' ' || c == '\n' || c == '\t' || c == '\r';
}

// End (one past the punctuation) of the sentence that starts at or before
// `from`: the first '.', '!' or '?' followed by whitespace and an upper-case
// letter, digit or quote, that does not close an abbreviation; or a newline.
// Returns text.size() when the sentence runs to the end.
size_t SentenceEnd(std::string_view text, size_t from) {
  for (size_t i = from; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') return i;
    if (c != '.' && c != '!' && c != '?') continue;
    size_t j = i + 1;
    if (j < text.size() && (text[j] == '"' || text[j] == '\'')) ++j;
    if (j == text.size()) return j;
    if (!IsSpace(text[j])) continue;
    size_t k = j;
    while (k < text.size() && IsSpace(text[k])) ++k;
    if (k == text.size()) return j;
    const unsigned char next = static_cast<unsigned char>(text[k]);
    if (!((next >= 'A' && next <= 'Z') || (next >= '0' && next <= '9') ||
          next == '"' || next == '(' || next >= 0xC0))
      continue;
    if (c == '.') {
      size_t w = i;
      while (w > 0 && !IsSpace(text[w - 1])) --w;
      if (IsAbbreviation(text.substr(w, i - w))) continue;
    }
    return j;
  }
  return text.size();
}

// Cheap necessary conditions for the patterns below, so that a paragraph
// that cannot open with a caption or a credit (almost all of them) skips
// the regular expressions: they cost about 100 ns a call even when they
// fail on the first byte. Each must accept everything its pattern can
// match; keep them in step with the patterns.

// The first word (ASCII letters) of `text`.
std::string_view FirstWord(std::string_view text) {
  size_t n = 0;
  while (n < text.size() &&
         static_cast<unsigned char>((text[n] | 0x20) - 'a') < 26u)
    ++n;
  return text.substr(0, n);
}

bool IsOneOf(std::string_view word,
             std::initializer_list<std::string_view> words) {
  for (std::string_view w : words) {
    if (word == w) return true;
  }
  return false;
}

// The words `label_opener` starts with.
bool IsLabelWord(std::string_view w) {
  return IsOneOf(w, {"FILE", "File", "PHOTO", "Photo", "PICTURE", "Picture",
                     "IMAGE", "Image", "CAPTION", "Caption", "PICTURED",
                     "Pictured", "Foto", "FOTO", "Bild"});
}

// The words `opener` starts with (`date_opener`'s, "This" and "In", are
// among them).
bool IsOpenerWord(std::string_view w) {
  return IsOneOf(w, {"This", "These", "A", "An", "The", "In"});
}

// Whether `credit` may match at the start of `text`: every alternative
// opens with '(', with two capitals ("REUTERS", "AFP", a name in capitals
// before an agency: "[A-Z][A-Z'.-]+"), or with "Getty", "Photo", "Image",
// "Picture", "Foto" or "Bild".
bool MayOpenCredit(std::string_view text) {
  if (text.empty()) return false;
  const char c = text[0];
  if (c == '(') return true;
  if (c < 'A' || c > 'Z') return false;
  if (c == 'G' || c == 'P' || c == 'I' || c == 'F' || c == 'B') return true;
  if (text.size() < 2) return false;
  const char d = text[1];
  return (d >= 'A' && d <= 'Z') || d == '\'' || d == '.' || d == '-';
}

bool StartsWithAny(std::string_view s,
                   std::initializer_list<std::string_view> prefixes) {
  for (std::string_view p : prefixes) {
    if (s.substr(0, p.size()) == p) return true;
  }
  return false;
}

bool EndsWithAny(std::string_view s,
                 std::initializer_list<std::string_view> suffixes) {
  for (std::string_view p : suffixes) {
    if (s.size() >= p.size() && s.substr(s.size() - p.size()) == p) {
      return true;
    }
  }
  return false;
}

}  // namespace

namespace internal {

const char kTrailingCreditPattern[] =
    R"((?:\((?:(?:AP|AFP|Reuters|REUTERS|EPA|Xinhua|dpa) (?:Photo|PHOTO|Foto)|Photo|Foto|Getty Images?)\b[^()\n]{0,80}\)|(?:REUTERS|AFP PHOTO|EPA|EPA-EFE|XINHUA|ANADOLU)\s*/\s*[^\n./]{1,40}(?:/[^\n./]{1,30})?|Getty Images)\s*$)";

// Whether `trailing_credit` may match in `text`: a test of what each of its
// alternatives needs, so that the pattern runs only on a few paragraphs (on
// long paragraphs that end in ')' its DFA builds many states, and RE2 then
// spends tens of thousands of cycles a call rebuilding its cache). The
// match runs to the end of the text (then only whitespace, RE2's \s) and is
// - a parenthesised credit: the text's last '(' opens it (nothing inside
//   is a parenthesis), followed by an agency and a space, "Photo", "Foto"
//   or "Getty Image", and the ')' closes the text;
// - "Getty Images";
// - an agency, whitespace, '/' and a name of anything but '.', '/' and
//   newlines, then at most one more '/' and name: the agency's '/' is the
//   text's last or next-to-last, and no '.' follows the last.
bool MayCloseCredit(std::string_view text) {
  const std::string_view body = StripRe2SpacesRight(text);
  if (body.empty()) return false;
  if (body.back() == ')') {
    const void* open = memrchr(body.data(), '(', body.size());
    if (open != nullptr &&
        StartsWithAny(
            body.substr(static_cast<const char*>(open) - body.data() + 1),
            {"AP ", "AFP ", "Reuters ", "REUTERS ", "EPA ", "Xinhua ", "dpa ",
             "Photo", "Foto", "Getty Image"})) {
      return true;
    }
  }
  if (EndsWithAny(body, {"Getty Images"})) return true;
  const char* last =
      static_cast<const char*>(memrchr(body.data(), '/', body.size()));
  if (last == nullptr ||
      body.find('.', static_cast<size_t>(last - body.data())) !=
          std::string_view::npos) {
    return false;
  }
  const char* slash = last;
  for (int k = 0; k < 2 && slash != nullptr; ++k) {
    const std::string_view before = StripRe2SpacesRight(
        body.substr(0, static_cast<size_t>(slash - body.data())));
    if (EndsWithAny(before, {"REUTERS", "AFP PHOTO", "EPA", "EPA-EFE", "XINHUA",
                             "ANADOLU"})) {
      return true;
    }
    slash = static_cast<const char*>(
        memrchr(body.data(), '/', static_cast<size_t>(slash - body.data())));
  }
  return false;
}

}  // namespace internal

struct CaptionFinder::Patterns {
  std::unique_ptr<RE2> opener;        // "This picture taken on", "A photo"
  std::unique_ptr<RE2> date_opener;   // "This Sept 5, 2017 shows"
  std::unique_ptr<RE2> label_opener;  // "FILE PHOTO:", "Photo:"
  std::unique_ptr<RE2> clause;        // "shows", "seen", "pictured"
  std::unique_ptr<RE2> date;
  std::unique_ptr<RE2> credit;           // a credit at a given position
  std::unique_ptr<RE2> trailing_credit;  // a credit closing a paragraph
};

CaptionFinder::CaptionFinder() = default;
CaptionFinder::CaptionFinder(CaptionFinder&&) noexcept = default;
CaptionFinder& CaptionFinder::operator=(CaptionFinder&&) noexcept = default;
CaptionFinder::~CaptionFinder() = default;

absl::StatusOr<CaptionFinder> CaptionFinder::Create() {
  RE2::Options options;
  options.set_log_errors(false);
  CaptionFinder finder;
  finder.patterns_ = std::make_unique<Patterns>();
  Patterns& p = *finder.patterns_;
  const std::string date(kDate);
  const std::string agencies(kAgencies);
  p.opener = std::make_unique<RE2>(
      R"(^(?:This|These|A|An|The|In this|In a|In these)\s+(?:(?:handout|undated|file|aerial|combination|video|screen|satellite|AFP|AP|Reuters|EPA|recent|)\s+)*(?:picture|photo|photograph|image|pic|still|screenshot|screen grab|grab|photo illustration)s?\b)",
      options);
  p.date_opener = std::make_unique<RE2>(
      absl::StrCat(R"(^(?:This|In this)\s+)", date, R"(\b)"), options);
  p.label_opener = std::make_unique<RE2>(
      R"(^(?:FILE PHOTO|File photo|File Photo|FILE PICTURE|FILE IMAGE|PHOTO|Photo|PICTURE|Picture|IMAGE|Image|CAPTION|Caption|PICTURED|Pictured|Foto|FOTO|Bild)\s*(?:[:|]|-\s))",
      options);
  p.clause = std::make_unique<RE2>(
      R"(\b(?:shows?|showing|seen|pictured|poses?|posing|photo|picture|image|taken)\b)",
      options);
  p.date = std::make_unique<RE2>(date, options);
  p.credit = std::make_unique<RE2>(
      absl::StrCat(
          R"((?:\((?:(?:AP|AFP|Reuters|REUTERS|EPA|Xinhua|dpa) (?:Photo|PHOTO|Foto)|Photo|Foto|Image|Picture|Getty Images?)\b[^()\n]{0,80}\))",
          R"(|(?:REUTERS|AFP PHOTO|AFP|EPA|EPA-EFE|ANADOLU|XINHUA|GETTY IMAGES|Getty Images)\s*/\s*\p{Lu}[\p{L}'.\-]*(?:\s+\p{Lu}[\p{L}'.\-]*)?(?:\s*/\s*\p{Lu}[\p{L}'.\-]*(?:\s+\p{Lu}[\p{L}'.\-]*){0,2})?)",
          R"(|(?:[A-Z][A-Z'.\-]+\s+){1,5}(?:)", agencies,
          R"()(?:\s*/\s*(?:FILE|HO|POOL))*\b)",
          R"(|(?:Getty Images|Photo credit:[^\n]{1,60}|(?:Photo|Image|Picture|Foto|Bild)s?:\s*[^\n]{1,60}$)))"),
      options);
  p.trailing_credit =
      std::make_unique<RE2>(internal::kTrailingCreditPattern, options);
  for (const auto* re : {&p.opener, &p.date_opener, &p.label_opener, &p.clause,
                         &p.date, &p.credit, &p.trailing_credit}) {
    if (!(*re)->ok()) {
      return absl::InternalError(
          absl::StrCat("caption pattern does not compile: ", (*re)->error()));
    }
  }
  return finder;
}

std::vector<ByteRange> CaptionFinder::Find(std::string_view paragraph) const {
  const Patterns& p = *patterns_;
  const re2::StringPiece text(paragraph.data(), paragraph.size());
  std::vector<ByteRange> out;

  // Length of a credit starting at `pos` (after whitespace), or 0.
  auto credit_at = [&](size_t pos) -> size_t {
    while (pos < paragraph.size() && IsSpace(paragraph[pos])) ++pos;
    if (pos >= paragraph.size()) return 0;
    if (!MayOpenCredit(paragraph.substr(pos))) return 0;
    re2::StringPiece m;
    if (p.credit->Match(text, pos, text.size(), RE2::ANCHOR_START, &m, 1) &&
        !m.empty()) {
      return static_cast<size_t>(m.data() + m.size() - text.data());
    }
    return 0;
  };

  // 1. A whole-paragraph credit ("(AP Photo/Evan Vucci)", "REUTERS/Name").
  if (size_t end = credit_at(0); end > 0 && end == paragraph.size()) {
    out.push_back({0, static_cast<uint32_t>(end)});
    return out;
  }

  // 2. A leading caption.
  size_t lead_end = 0;
  re2::StringPiece opener;
  bool label = false, dated = false;
  const std::string_view first_word = FirstWord(paragraph);
  if (IsLabelWord(first_word) &&
      p.label_opener->Match(text, 0, text.size(), RE2::ANCHOR_START, &opener,
                            1)) {
    label = true;
  } else if ((first_word == "This" || first_word == "In") &&
             p.date_opener->Match(text, 0, text.size(), RE2::ANCHOR_START,
                                  &opener, 1)) {
    dated = true;
  } else if (!IsOpenerWord(first_word) ||
             !p.opener->Match(text, 0, text.size(), RE2::ANCHOR_START, &opener,
                              1)) {
    opener = re2::StringPiece();
  }
  if (!opener.empty()) {
    size_t end = SentenceEnd(paragraph, opener.size());
    const re2::StringPiece sentence(paragraph.data(), end);
    const size_t credit_end = credit_at(end);
    bool is_caption = label;
    if (!is_caption) {
      // A dated opener needs a caption clause; a plain opener needs the
      // clause and a date or a credit: "This photo shows nothing, he said"
      // is a sentence about a photo, not a caption.
      const bool clause =
          RE2::PartialMatch(re2::StringPiece(sentence.data() + opener.size(),
                                             sentence.size() - opener.size()),
                            *p.clause);
      const bool has_date = RE2::PartialMatch(sentence, *p.date);
      is_caption = dated ? clause : (clause && (has_date || credit_end > 0));
    }
    if (is_caption) {
      lead_end = credit_end > 0 ? credit_end : end;
      out.push_back({0, static_cast<uint32_t>(lead_end)});
      if (lead_end >= paragraph.size()) return out;
    }
  }

  // 3. A trailing caption: the last sentence before a closing credit.
  re2::StringPiece credit;
  if (internal::MayCloseCredit(paragraph) &&
      p.trailing_credit->Match(text, lead_end, text.size(), RE2::UNANCHORED,
                               &credit, 1)) {
    const size_t credit_begin = credit.data() - text.data();
    // Start of the sentence that the credit closes.
    size_t start = lead_end, scan = lead_end;
    while (scan < credit_begin) {
      const size_t end = SentenceEnd(paragraph, scan);
      if (end >= credit_begin) break;
      // SentenceEnd also ends a sentence before the credit's '(' or capital:
      // the sentence the credit closes is the one before that end.
      size_t next = end;
      while (next < credit_begin && IsSpace(paragraph[next])) ++next;
      if (next >= credit_begin) break;
      start = end;
      scan = end + 1;
    }
    while (start < credit_begin && IsSpace(paragraph[start])) ++start;
    size_t end = paragraph.size();
    while (end > start && IsSpace(paragraph[end - 1])) --end;
    if (start < end)
      out.push_back({static_cast<uint32_t>(start), static_cast<uint32_t>(end)});
  }
  return out;
}

}  // namespace newsdedup
