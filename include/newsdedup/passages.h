// Exact repeated passages at any boundary: every run of at least `min_tokens`
// consecutive words that occurs earlier in the corpus (or earlier in the same
// document), wherever paragraphs begin and end, with the earliest occurrence
// as provenance.
//
//   auto finder = newsdedup::PassageFinder::Create(options);
//   for (each document, in order) (*finder)->Add(ordinal, tokens);   // pass 1
//   (*finder)->Finish();
//   for (each document, in order) {                                  // pass 2
//     auto passages = (*finder)->Find(ordinal, tokens);
//   }
//   (*finder)->EndPass2();  // then FinalCount(p) is each passage's count
//
// Pass 1 hashes every window of `min_tokens` words (a rolling hash over the
// word hashes the tokenizer made) and records the hash: 8 bytes per input
// word. While the hashes fit in `memory_limit` bytes, they are sorted in
// memory and the windows that occur twice or more make a table, with their
// number of occurrences. Pass 2 looks each window up in that table; the
// first time a window is met in input order is its first occurrence, and
// consecutive repeated windows whose first occurrences are consecutive too
// join into maximal passages.
//
// When the hashes do not fit, pass 1 filters them (below); if what is left
// makes a table that fits in memory, pass 2 runs as above and counts the
// occurrences itself (CountsInPass2). Otherwise the corpus takes a record
// pass between the two (NeedsRecordPass), and holds nothing in memory that
// grows with it:
//
//   (*finder)->Finish();
//   if ((*finder)->NeedsRecordPass()) {
//     for (each batch of documents, in order) (*finder)->RecordBatch(...);
//     (*finder)->FinishRecordPass();
//   }
//   for (each batch of documents, in order) (*finder)->FindBatch(...);
//   (*finder)->EndPass2();
//
// From the first spill on, pass 1 records only windows whose bit in a bit
// array was set before (every repeated window at least once, and a few
// single ones); the record pass writes the place of every window a Bloom
// filter of those may hold; sorting the places by hash gives each repeated
// window's first occurrence and count, and sorting the repeats by place
// gives FindBatch its hits, read back in order from disk. The passages are
// the same either way: the result does not depend on the memory limit or
// the number of threads.
#ifndef NEWSDEDUP_PASSAGES_H_
#define NEWSDEDUP_PASSAGES_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "newsdedup/segment.h"
#include "newsdedup/tokenize.h"

namespace newsdedup {

struct PassageOptions {
  // Shortest reported passage, in words. Default 10; range [4, 1000].
  int min_tokens = 10;
  // Bytes of pass-1 records (8 per input word) held in memory before a
  // sorted run is spilled to disk. Default 512 MiB (64M words); at least
  // 1 MiB.
  uint64_t memory_limit = uint64_t{512} << 20;
  // Folder for spilled runs. Default "": $TMPDIR, else /tmp.
  std::string temp_dir;
  // Once pass 1's records spill: the most bytes a table of the windows they
  // hold may take in memory (about 40 per window; pass 2 then counts the
  // occurrences, see CountsInPass2). Past it the finder takes a record pass
  // instead. Default (UINT64_MAX): memory_limit. 0: always a record pass.
  uint64_t max_table_bytes = UINT64_MAX;
  // Threads for sorting the records and for FindBatch, and shards Add may
  // be called on at once (see Add). Default 1; range [1, 256]. The result
  // does not depend on it.
  int threads = 1;

  absl::Status Validate() const;
};

// One repeated passage of a document's text.
struct Passage {
  ByteRange range;         // in the document's text, token-precise
  uint32_t tokens = 0;     // words in the passage
  uint32_t first_doc = 0;  // ordinal of the document holding the first
                           // occurrence
  ByteRange first;         // the first occurrence, in that document's text
  // Occurrences of the passage's first window; where CountsInPass2, only
  // those met so far (up to the end of the batch): see FinalCount.
  uint32_t count = 0;
  uint32_t entry = 0;  // where CountsInPass2: that window's table entry
  // The first occurrence of each of the passage's windows (min_tokens words
  // starting at each of its words but the last min_tokens - 1): what
  // SubtractCovered needs to cut `first` along with `range`.
  std::vector<ByteRange> first_windows;
};

struct PassageStats {
  uint64_t windows = 0;  // windows hashed in pass 1
  // Distinct windows occurring twice or more: after Finish, after
  // FinishRecordPass for a record pass, after EndPass2 where CountsInPass2.
  uint64_t repeated_windows = 0;
  uint64_t runs_spilled = 0;  // sorted runs written to disk
  uint64_t bytes_spilled = 0;
  uint64_t peak_record_bytes = 0;  // largest in-memory record buffer
  // The table of windows (repeated ones, or those pass 1 recorded once it
  // spilled), or the record pass's Bloom filter.
  uint64_t table_bytes = 0;
  // Once pass 1 spilled: whether a record pass is needed, the distinct
  // hashes pass 1 recorded (repeated windows and some single ones), and the
  // places the record pass wrote.
  bool record_pass = false;
  uint64_t candidate_windows = 0;
  uint64_t recorded_occurrences = 0;
};

// What a batch of documents carries from one step of a pipelined
// FindBatch to the next (PassageFinder::LookUp, Settle, Assemble): the
// table entries its windows hit. May be used again for the next batch.
class PassageBatch {
 public:
  PassageBatch();
  ~PassageBatch();
  PassageBatch(PassageBatch&&) noexcept;
  PassageBatch& operator=(PassageBatch&&) noexcept;

 private:
  friend class PassageFinder;
  struct State;
  std::unique_ptr<State> state_;
};

class PassageFinder {
 public:
  static absl::StatusOr<std::unique_ptr<PassageFinder>> Create(
      const PassageOptions& options);
  ~PassageFinder();

  // Pass 1: the tokens of document `ordinal`'s text, each document once, in
  // any order (the ordinal is not needed: pass 2 learns where windows
  // first occur). Errors: a spill that cannot be written.
  absl::Status Add(uint32_t ordinal, absl::Span<const Token> tokens);
  // The same into shard `shard` in [0, threads): calls for different
  // shards may run at once on different threads (one thread per shard at a
  // time). Each shard buffers memory_limit / threads bytes; the result is
  // the same however documents are spread over shards.
  absl::Status Add(int shard, uint32_t ordinal, absl::Span<const Token> tokens);
  // Ends pass 1: builds the table of repeated windows (of the windows pass
  // 1 recorded once it spilled), or readies a record pass.
  absl::Status Finish();
  // After Finish: whether every document must come once more, in input
  // order, through RecordBatch (then FinishRecordPass) before FindBatch.
  bool NeedsRecordPass() const;
  // The record pass: documents first_ordinal, first_ordinal + 1, ... (their
  // tokens as in pass 1), on `threads` threads. Errors: a spill that cannot
  // be written; FailedPrecondition when no record pass is needed.
  absl::Status RecordBatch(uint32_t first_ordinal,
                           absl::Span<const absl::Span<const Token>> docs);
  // Ends the record pass: sorts the places into repeats. Errors: a run that
  // cannot be written or read back.
  absl::Status FinishRecordPass();
  // Pass 2: the maximal repeated passages of the same document, in order,
  // non-overlapping; each repeats text that starts earlier in input order.
  // Every document must come once, in input order (first occurrences are
  // learned on the way), after the record pass if one is needed (before it,
  // nothing is found). Not thread-safe.
  std::vector<Passage> Find(uint32_t ordinal, absl::Span<const Token> tokens);
  // Whether the table was made from spilled, filtered records and fits in
  // memory (PassageOptions::max_table_bytes): pass 2 then counts each
  // window's occurrences as it goes, so a passage's count is final only
  // after the last document (FinalCount). Each document must then come
  // exactly once: Find or FindBatch on it again counts it again.
  bool CountsInPass2() const;
  // After the last FindBatch: settles stats().repeated_windows where
  // CountsInPass2. Errors: after a record pass, repeats that could not be
  // read back from disk, or left unread (documents other than the record
  // pass's).
  absl::Status EndPass2();
  // After EndPass2: the number of occurrences of p's first window, p being
  // a passage this finder found (or SubtractCovered cut from one). p.count
  // where counts were known before pass 2.
  uint32_t FinalCount(const Passage& p) const;
  // Find for documents first_ordinal, first_ordinal + 1, ... at once, on
  // `threads` threads: (*out)[k] gets document first_ordinal + k's
  // passages, the same as Find would give (but for counts so far, where
  // CountsInPass2).
  void FindBatch(uint32_t first_ordinal,
                 absl::Span<const absl::Span<const Token>> docs,
                 std::vector<std::vector<Passage>>* out);
  // FindBatch in three steps, for a caller that runs batches through a
  // pipeline of its own threads. For each batch, in this order:
  //   LookUp: on any thread, at once with any other batch's LookUp, Settle
  //     or Assemble;
  //   Settle: one batch at a time, in input order (like FindBatch, every
  //     document once);
  //   Assemble: on any thread, at once with any other batch's steps.
  // The passages are FindBatch's, but for Passage::count where
  // CountsInPass2: 0, and FinalCount after EndPass2 gives it.
  void LookUp(absl::Span<const absl::Span<const Token>> docs,
              PassageBatch* batch) const;
  void Settle(uint32_t first_ordinal,
              absl::Span<const absl::Span<const Token>> docs,
              PassageBatch* batch);
  void Assemble(uint32_t first_ordinal,
                absl::Span<const absl::Span<const Token>> docs,
                const PassageBatch& batch,
                std::vector<std::vector<Passage>>* out) const;
  const PassageStats& stats() const;

 private:
  class Impl;
  explicit PassageFinder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// `passages` with the bytes in `covered` (sorted, non-overlapping ranges of
// the same text, e.g. paragraphs already reported) cut out; what is left of
// a passage is kept when it still holds `min_tokens` words, with its first
// occurrence cut to match. `tokens`: the text's tokens.
std::vector<Passage> SubtractCovered(const std::vector<Passage>& passages,
                                     absl::Span<const ByteRange> covered,
                                     absl::Span<const Token> tokens,
                                     int min_tokens);

}  // namespace newsdedup

#endif  // NEWSDEDUP_PASSAGES_H_
