// Photo captions and credits, recognised by their form: whole paragraphs, or
// the leading or trailing part of a paragraph a scraper ran them into.
//
//   auto finder = newsdedup::CaptionFinder::Create();
//   auto spans = finder->Find(
//       "This picture taken on May 3, 2024 shows the pier. MARLOW The council "
//       "voted ...");
//   // spans == {{0, 49}}: the caption ends where the body text begins.
//
// Recognised: openers such as "This picture taken on <date> ... shows ...",
// "This <date> photo shows", "In this <date> photo", "FILE PHOTO:", "Photo:",
// "Image:", with a date, a "shows"/"seen"/"pictured" clause or a credit; and
// credits: "(AP Photo/...)", "REUTERS/Name", "AFP PHOTO / ...", "Getty
// Images", "EPA/...", and an all-caps photographer credit ending in an agency
// ("DELIL SOULEIMAN AFP"). A sentence that merely mentions a photo is not a
// caption.
#ifndef NEWSDEDUP_CAPTION_H_
#define NEWSDEDUP_CAPTION_H_

#include <memory>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "newsdedup/segment.h"

namespace newsdedup {

class CaptionFinder {
 public:
  static absl::StatusOr<CaptionFinder> Create();
  CaptionFinder(CaptionFinder&&) noexcept;
  CaptionFinder& operator=(CaptionFinder&&) noexcept;
  ~CaptionFinder();

  // Caption spans in `paragraph` (trimmed), relative to it, in order, at
  // most one leading and one trailing; a whole-paragraph caption is one span
  // covering it. Thread-safe (const).
  std::vector<ByteRange> Find(std::string_view paragraph) const;

 private:
  struct Patterns;
  CaptionFinder();
  std::unique_ptr<Patterns> patterns_;
};

namespace internal {

// For tests: the pattern of a photo credit closing a paragraph, and the
// quick test Find runs before it, which must be true wherever the pattern
// can match.
extern const char kTrailingCreditPattern[];
bool MayCloseCredit(std::string_view text);

}  // namespace internal
}  // namespace newsdedup

#endif  // NEWSDEDUP_CAPTION_H_
