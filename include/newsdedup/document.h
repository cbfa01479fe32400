// A document: one news record as the rest of the pipeline sees it.
//
//   newsdedup::Document doc;
//   doc.id = "reuters/20080901/a";
//   doc.title = "Oil falls";
//   doc.text = "LONDON (Reuters) - Oil fell ...";
#ifndef NEWSDEDUP_DOCUMENT_H_
#define NEWSDEDUP_DOCUMENT_H_

#include <cstdint>
#include <string>

namespace newsdedup {

struct Document {
  std::string id;      // record id; the file path for text input; path:line
                       // when a JSONL record has no id
  std::string site;    // site field, else the host of the url field, else ""
  std::string title;   // headline; "" when absent
  std::string text;    // body, UTF-8 bytes as decoded from JSON (or the file)
  std::string source;  // the input it came from ("-" for stdin)
  uint64_t line = 0;   // 1-based line in `source` for JSONL, 0 for text files
  // Byte offset of `title` inside `text` when the title is the text's first
  // line (text files); -1 when the title is a field of its own.
  int64_t title_offset = -1;
  // The record's original JSONL line, when the reader keeps it.
  std::string raw;
};

}  // namespace newsdedup

#endif  // NEWSDEDUP_DOCUMENT_H_
