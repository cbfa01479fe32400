// Early-return helpers for absl::Status / absl::StatusOr, which Debian 12's
// Abseil (20220623) does not ship.
//
//   RETURN_IF_ERROR(source.Open(path));
//   ASSIGN_OR_RETURN(Document doc, reader.Next());
#ifndef NEWSDEDUP_INTERNAL_STATUS_MACROS_H_
#define NEWSDEDUP_INTERNAL_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define NEWSDEDUP_CONCAT_INNER_(a, b) a##b
#define NEWSDEDUP_CONCAT_(a, b) NEWSDEDUP_CONCAT_INNER_(a, b)

#define RETURN_IF_ERROR(expr)                              \
  do {                                                     \
    ::absl::Status newsdedup_status_ = (expr);             \
    if (!newsdedup_status_.ok()) return newsdedup_status_; \
  } while (false)

#define ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                           \
  if (!tmp.ok()) return tmp.status();          \
  lhs = std::move(tmp).value()

#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL_(NEWSDEDUP_CONCAT_(statusor_, __LINE__), lhs, expr)

#endif  // NEWSDEDUP_INTERNAL_STATUS_MACROS_H_
