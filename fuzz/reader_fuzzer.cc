// Fuzz target for the reader: the input is written to a file and read as
// JSONL and as a text document, plain and after gzip and zstd compression,
// whole and truncated. It must never crash, hang or leak; malformed records
// are only reported. Inputs that start with the gzip or zstd magic bytes
// reach the decompressors directly.
//
// Checked on every input:
// - every malformed record reaches the callback, and the counts agree;
// - a plain input is consumed whole (bytes() == input size);
// - gzip- and zstd-compressed copies read exactly like the plain input,
//   with and without the read-ahead thread, and pumped by another thread
//   (and so does a compressed input);
// - a truncated compressed copy yields a prefix of those documents and
//   reports the truncation;
// - a text document is the input itself, its title a line of it.
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "newsdedup/reader.h"

namespace {

using newsdedup::Document;
using newsdedup::InputFormat;
using newsdedup::Malformed;
using newsdedup::Reader;
using newsdedup::ReaderOptions;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "reader_fuzzer: check failed: %s\n", what);
    std::abort();
  }
}

std::string TempPath(const char* suffix) {
  return "/tmp/newsdedup_reader_fuzzer_" + std::to_string(getpid()) + suffix;
}

void WriteFile(const std::string& path, const std::string& bytes) {
  FILE* f = std::fopen(path.c_str(), "wb");
  Check(f != nullptr, "cannot create the temporary file");
  Check(std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size(),
        "cannot write the temporary file");
  Check(std::fclose(f) == 0, "cannot close the temporary file");
}

struct Result {
  std::vector<Document> docs;
  uint64_t reported = 0;  // callback calls
  uint64_t malformed = 0;
  uint64_t records = 0;
  uint64_t bytes = 0;
  std::vector<std::string> messages;
};

enum class Ahead { kNone, kThread, kPumped };

Result Read(const std::string& path, InputFormat format,
            Ahead ahead = Ahead::kNone) {
  ReaderOptions options;
  options.format = format;
  options.read_ahead = ahead != Ahead::kNone;
  options.pumped = ahead == Ahead::kPumped;
  options.keep_raw = true;
  options.max_line_bytes = 1024;  // the minimum: long lines are fuzzed too
  Result r;
  auto reader = Reader::Open({path}, options, [&](const Malformed& m) {
    ++r.reported;
    r.messages.push_back(m.ToString());
    Check(m.raw.size() <= options.max_line_bytes, "raw longer than a line");
  });
  Check(reader.ok(), "Open failed on an existing file");
  // Pumped: another thread decodes ahead, as a scanner's workers do.
  std::atomic<bool> done{false};
  std::thread pumper;
  if (ahead == Ahead::kPumped) {
    pumper = std::thread([&] {
      while (!done.load()) {
        if (!(*reader)->Pump()) std::this_thread::yield();
      }
    });
  }
  Document doc;
  while (true) {
    auto more = (*reader)->Next(&doc);
    Check(more.ok(), "Next failed without strict");
    if (!*more) break;
    if (format == InputFormat::kJsonl) {
      Check(doc.line > 0, "JSONL document without a line number");
      Check(doc.raw.size() <= options.max_line_bytes, "raw too long");
      Check(doc.title_offset == -1, "JSONL title with an offset");
    }
    r.docs.push_back(doc);
  }
  done.store(true);
  if (pumper.joinable()) pumper.join();
  r.malformed = (*reader)->malformed();
  r.records = (*reader)->records();
  r.bytes = (*reader)->bytes();
  Check(r.reported == r.malformed, "malformed count != callback calls");
  Check(r.records == r.docs.size(), "records != documents");
  return r;
}

bool SameDocument(const Document& a, const Document& b) {
  return a.text == b.text && a.title == b.title && a.site == b.site &&
         a.raw == b.raw && a.line == b.line && a.title_offset == b.title_offset;
}

std::string Gzip(const std::string& in) {
  z_stream s;
  std::memset(&s, 0, sizeof(s));
  Check(deflateInit2(&s, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK,
        "deflateInit2");
  std::string out(deflateBound(&s, in.size()) + 64, '\0');
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  s.avail_in = static_cast<uInt>(in.size());
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  s.avail_out = static_cast<uInt>(out.size());
  Check(deflate(&s, Z_FINISH) == Z_STREAM_END, "deflate");
  out.resize(s.total_out);
  deflateEnd(&s);
  return out;
}

std::string Zstd(const std::string& in) {
  std::string out(ZSTD_compressBound(in.size()), '\0');
  const size_t n =
      ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 1);
  Check(!ZSTD_isError(n), "ZSTD_compress");
  out.resize(n);
  return out;
}

// gzip, zstd, or a zstd skippable frame.
bool StartsWithMagic(const std::string& s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  return (s.size() >= 2 && p[0] == 0x1F && p[1] == 0x8B) ||
         (s.size() >= 4 && p[0] == 0x28 && p[1] == 0xB5 && p[2] == 0x2F &&
          p[3] == 0xFD) ||
         (s.size() >= 4 && (p[0] & 0xF0) == 0x50 && p[1] == 0x2A &&
          p[2] == 0x4D && p[3] == 0x18);
}

void CheckSameDocuments(const Result& plain, const Result& other,
                        const char* what) {
  Check(other.docs.size() == plain.docs.size(), what);
  for (size_t i = 0; i < plain.docs.size(); ++i) {
    Check(SameDocument(plain.docs[i], other.docs[i]), what);
  }
  Check(other.malformed == plain.malformed, what);
  Check(other.bytes == plain.bytes, what);
}

// The same file read with and without the read-ahead thread, and pumped:
// the same documents, and the same errors (what comes before a damaged
// block does not depend on the thread).
void CheckReadAhead(const std::string& path, const Result& without) {
  const Result with = Read(path, InputFormat::kJsonl, Ahead::kThread);
  CheckSameDocuments(without, with, "read-ahead reads differently");
  Check(with.messages == without.messages, "read-ahead reports differently");
  const Result pumped = Read(path, InputFormat::kJsonl, Ahead::kPumped);
  CheckSameDocuments(without, pumped, "pumped reads differently");
  Check(pumped.messages == without.messages, "pumped reads report differently");
}

void CheckPrefix(const Result& plain, const Result& truncated,
                 const char* what) {
  Check(truncated.docs.size() <= plain.docs.size(), what);
  for (size_t i = 0; i < truncated.docs.size(); ++i) {
    Check(SameDocument(plain.docs[i], truncated.docs[i]), what);
  }
  Check(truncated.malformed >= 1, what);  // the truncation is reported
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const std::string path = TempPath(".in");
  WriteFile(path, input);
  const bool magic = StartsWithMagic(input);

  // JSONL: the input as it is (compressed when it starts with a magic).
  const Result plain = Read(path, InputFormat::kJsonl);
  if (!magic) Check(plain.bytes == size, "plain input not consumed whole");
  if (magic) CheckReadAhead(path, plain);

  // Text: one document, the whole input (when not compressed).
  const Result text = Read(path, InputFormat::kText);
  Check(text.docs.size() + text.malformed == 1, "text file != one record");
  if (!magic && size <= 1024) {
    Check(text.docs.size() == 1, "plain text file rejected");
    const Document& d = text.docs[0];
    Check(d.text == input, "text document != file");
    if (d.title_offset < 0) {
      Check(d.title.empty(), "title without offset");
    } else {
      Check(d.text.compare(d.title_offset, d.title.size(), d.title) == 0,
            "title not at its offset");
      Check(d.title.find('\n') == std::string::npos, "title spans lines");
    }
  }

  if (!magic) {
    // Compressed copies read exactly like the plain input; truncated ones
    // give a prefix of its documents and report the truncation.
    const std::string compressed_path = TempPath(".cz");
    const std::string gz = Gzip(input);
    WriteFile(compressed_path, gz);
    CheckSameDocuments(plain, Read(compressed_path, InputFormat::kJsonl),
                       "gzip copy reads differently");
    if (size > 0) {
      WriteFile(compressed_path, gz.substr(0, gz.size() - 1 - size % 8));
      CheckPrefix(plain, Read(compressed_path, InputFormat::kJsonl),
                  "truncated gzip copy");
    }
    const std::string zst = Zstd(input);
    WriteFile(compressed_path, zst);
    const Result zst_read = Read(compressed_path, InputFormat::kJsonl);
    CheckSameDocuments(plain, zst_read, "zstd copy reads differently");
    CheckReadAhead(compressed_path, zst_read);
    if (size > 0) {
      WriteFile(compressed_path, zst.substr(0, zst.size() - 1 - size % 4));
      const Result cut = Read(compressed_path, InputFormat::kJsonl);
      CheckPrefix(plain, cut, "truncated zstd copy");
      CheckReadAhead(compressed_path, cut);
    }
    // A gzip copy as a text document is the input too.
    if (size <= 1024) {
      WriteFile(compressed_path, gz);
      const Result gz_text = Read(compressed_path, InputFormat::kText);
      Check(gz_text.docs.size() == 1 && gz_text.docs[0].text == input,
            "gzip text document != input");
    }
    std::remove(compressed_path.c_str());
  }
  std::remove(path.c_str());
  return 0;
}
