#include "newsdedup/report.h"

#include <utf8proc.h>

#include <cmath>
#include <cstdio>

#include "absl/strings/str_cat.h"

namespace newsdedup {

std::string_view SpanKindName(SpanKind kind) {
  switch (kind) {
    case SpanKind::kHeadline:
      return "headline";
    case SpanKind::kCaption:
      return "caption";
    case SpanKind::kParagraph:
      return "paragraph";
    case SpanKind::kSpan:
      return "span";
    case SpanKind::kBoilerplate:
      return "boilerplate";
  }
  return "unknown";
}

std::string_view MatchTypeName(MatchType match) {
  switch (match) {
    case MatchType::kExact:
      return "exact";
    case MatchType::kNear:
      return "near";
    case MatchType::kPattern:
      return "pattern";
  }
  return "unknown";
}

std::string_view ScopeName(Scope scope) {
  switch (scope) {
    case Scope::kSameDocument:
      return "same_document";
    case Scope::kSameSite:
      return "same_site";
    case Scope::kCrossSite:
      return "cross_site";
  }
  return "unknown";
}

void AppendJsonString(std::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t i = 0;
  while (i < s.size()) {
    // A run of bytes that need no escaping is appended at once.
    size_t j = i;
    while (j < s.size() && p[j] >= 0x20 && p[j] < 0x80 && p[j] != '"' &&
           p[j] != '\\') {
      ++j;
    }
    if (j > i) {
      out->append(s.data() + i, j - i);
      i = j;
      continue;
    }
    const unsigned char c = p[i];
    if (c >= 0x80) {
      utf8proc_int32_t cp;
      const utf8proc_ssize_t len = utf8proc_iterate(
          p + i,
          static_cast<utf8proc_ssize_t>(std::min<size_t>(4, s.size() - i)),
          &cp);
      if (len <= 0) {
        out->append("\\ufffd");
        ++i;
      } else {
        out->append(s.data() + i, static_cast<size_t>(len));
        i += static_cast<size_t>(len);
      }
      continue;
    }
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (c < 0x20) {
          out->append("\\u00");
          out->push_back(kHex[c >> 4]);
          out->push_back(kHex[c & 15]);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
  out->push_back('"');
}

namespace {

void AppendSimilarity(double value, std::string* out) {
  // Round to 4 decimals, then drop trailing zeros but keep one decimal
  // (digits by hand: snprintf was most of a span's formatting).
  const long scaled = std::lround(value * 10000.0);
  const long whole = scaled / 10000;
  long fraction = scaled % 10000;
  if (scaled < 0) {
    out->push_back('-');
    fraction = -fraction;
  }
  absl::StrAppend(out, whole < 0 ? -whole : whole);
  char digits[5] = {'.', static_cast<char>('0' + fraction / 1000),
                    static_cast<char>('0' + fraction / 100 % 10),
                    static_cast<char>('0' + fraction / 10 % 10),
                    static_cast<char>('0' + fraction % 10)};
  size_t n = 5;
  while (n > 2 && digits[n - 1] == '0') --n;
  out->append(digits, n);
}

void AppendLocationFields(const Location& at, std::string* out) {
  out->append("\"doc\": ");
  AppendJsonString(at.doc, out);
  out->append(", \"field\": ");
  AppendJsonString(at.field, out);
  absl::StrAppend(out, ", \"start\": ", at.start, ", \"end\": ", at.end);
}

}  // namespace

void AppendSpanJson(const SpanRecord& span, std::string* out) {
  out->push_back('{');
  AppendLocationFields(span.at, out);
  out->append(", \"kind\": \"");
  out->append(SpanKindName(span.kind));
  out->append("\", \"match\": \"");
  out->append(MatchTypeName(span.match));
  out->append("\", \"similarity\": ");
  AppendSimilarity(span.similarity, out);
  out->append(", \"scope\": \"");
  out->append(ScopeName(span.scope));
  absl::StrAppend(out, "\", \"cluster\": ", span.cluster,
                  ", \"count\": ", span.count);
  if (span.has_first) {
    out->append(", \"first\": {");
    AppendLocationFields(span.first, out);
    out->push_back('}');
  }
  out->append("}\n");
}

}  // namespace newsdedup
