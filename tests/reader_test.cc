#include "newsdedup/reader.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>
#include <zlib.h>
#define ZSTD_STATIC_LINKING_ONLY  // ZSTD_getFrameHeader
#include <zstd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "internal/byte_source.h"
#include "newsdedup/output_file.h"

namespace newsdedup {
namespace {

const std::string kTestdata = NEWSDEDUP_TESTDATA;

struct ReadResult {
  std::vector<Document> docs;
  std::vector<std::string> errors;
  absl::Status status;
  uint64_t malformed = 0;
  uint64_t bytes = 0;
};

// `pumpers`: threads calling Pump() while the records are read (with
// options.pumped, the workers of a caller).
ReadResult ReadAll(std::vector<std::string> inputs, ReaderOptions options = {},
                   int pumpers = 0) {
  ReadResult result;
  auto reader = Reader::Open(
      std::move(inputs), options,
      [&](const Malformed& m) { result.errors.push_back(m.ToString()); });
  if (!reader.ok()) {
    result.status = reader.status();
    return result;
  }
  std::atomic<bool> done{false};
  std::vector<std::thread> pumping;
  for (int t = 0; t < pumpers; ++t) {
    pumping.emplace_back([&] {
      while (!done.load()) {
        if (!(*reader)->Pump()) std::this_thread::yield();
      }
    });
  }
  struct Join {
    std::atomic<bool>* done;
    std::vector<std::thread>* threads;
    ~Join() {
      done->store(true);
      for (std::thread& t : *threads) t.join();
    }
  } join{&done, &pumping};
  Document doc;
  while (true) {
    auto more = (*reader)->Next(&doc);
    if (!more.ok()) {
      result.status = more.status();
      break;
    }
    if (!*more) break;
    result.docs.push_back(doc);
  }
  result.malformed = (*reader)->malformed();
  result.bytes = (*reader)->bytes();
  return result;
}

std::string TempPath(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("newsdedup_reader_test_" + std::to_string(getpid()) + "_" + name))
      .string();
}

// What zlib or zstd decode from `bytes`, in one pass with a large output
// buffer, up to its end or to the first error: the test's own reading of a
// damaged stream, independent of the reader's.
std::string DecodeUntilError(const std::string& bytes, bool zstd) {
  std::string out(64 << 20, '\0');
  if (zstd) {
    ZSTD_DStream* stream = ZSTD_createDStream();
    ZSTD_initDStream(stream);
    ZSTD_inBuffer in{bytes.data(), bytes.size(), 0};
    ZSTD_outBuffer o{out.data(), out.size(), 0};
    while (in.pos < in.size) {
      const size_t before = in.pos;
      if (ZSTD_isError(ZSTD_decompressStream(stream, &o, &in))) break;
      if (in.pos == before && o.pos == o.size) break;
    }
    ZSTD_freeDStream(stream);
    out.resize(o.pos);
    return out;
  }
  z_stream z{};
  inflateInit2(&z, 15 + 32);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  z.avail_in = static_cast<uInt>(bytes.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  // Members one after another (the library writes gzip in members).
  while (z.avail_in > 0) {
    const int rc = inflate(&z, Z_NO_FLUSH);
    if (rc == Z_STREAM_END) {
      inflateReset(&z);
    } else if (rc != Z_OK) {
      break;
    }
  }
  out.resize(out.size() - z.avail_out);
  inflateEnd(&z);
  return out;
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

TEST(ReaderTest, ReadsJsonlFields) {
  ReadResult r = ReadAll({kTestdata + "/news-sample.jsonl"});
  ASSERT_TRUE(r.status.ok()) << r.status;
  ASSERT_EQ(r.docs.size(), 10u);
  EXPECT_TRUE(r.errors.empty());
  EXPECT_EQ(r.docs[0].id, "wire/2025-03-04/pier-closed");
  EXPECT_EQ(r.docs[0].site, "wirewire.example");
  EXPECT_EQ(r.docs[0].title,
            "Marlow Harbour closes ferry pier over rotten piles");
  EXPECT_EQ(r.docs[0].text.substr(0, 13), "MARLOW HARBOU");
  EXPECT_EQ(r.docs[0].line, 1u);
  // Site falls back to the host of the url.
  EXPECT_EQ(r.docs[2].site, "www.coastline-courier.example");
  // JSON escapes are decoded: the text holds real newlines and quotes.
  EXPECT_NE(r.docs[0].text.find("\n\n\"We would"), std::string::npos);
  // Non-ASCII text is decoded as UTF-8 bytes.
  EXPECT_NE(r.docs[4].text.find("erh\xC3\xB6hen"), std::string::npos);
  EXPECT_EQ(r.docs[8].line, 9u);
}

TEST(ReaderTest, GzipAndZstdGiveTheSameDocuments) {
  ReadResult plain = ReadAll({kTestdata + "/news-sample.jsonl"});
  ReadResult gz = ReadAll({kTestdata + "/news-sample.jsonl.gz"});
  ReadResult zst = ReadAll({kTestdata + "/news-sample.jsonl.zst"});
  ASSERT_TRUE(gz.status.ok()) << gz.status;
  ASSERT_TRUE(zst.status.ok()) << zst.status;
  ASSERT_EQ(plain.docs.size(), gz.docs.size());
  ASSERT_EQ(plain.docs.size(), zst.docs.size());
  for (size_t i = 0; i < plain.docs.size(); ++i) {
    EXPECT_EQ(plain.docs[i].text, gz.docs[i].text);
    EXPECT_EQ(plain.docs[i].text, zst.docs[i].text);
    EXPECT_EQ(plain.docs[i].id, zst.docs[i].id);
  }
  EXPECT_EQ(plain.bytes, gz.bytes);
  EXPECT_EQ(plain.bytes, zst.bytes);
}

// Runs an initialised deflate stream over all of `plain`, and ends it.
std::string DeflateAll(z_stream* z, const std::string& plain) {
  std::string out(deflateBound(z, plain.size()) + 64, '\0');
  z->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(plain.data()));
  z->avail_in = static_cast<uInt>(plain.size());
  z->next_out = reinterpret_cast<Bytef*>(out.data());
  z->avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(z, Z_FINISH), Z_STREAM_END);
  out.resize(out.size() - z->avail_out);
  deflateEnd(z);
  return out;
}

// One gzip member of `plain` (zlib's deflate), with a file name, comment,
// extra field and header CRC where `header` (as `gzip -N` and other tools
// write them).
std::string GzipMember(const std::string& plain, bool header) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY),
            Z_OK);
  gz_header h{};
  char name[] = "news.jsonl";
  char comment[] = "a test member";
  unsigned char extra[] = {'N', 'D', 2, 0, 'x', 'y'};
  if (header) {
    h.name = reinterpret_cast<Bytef*>(name);
    h.comment = reinterpret_cast<Bytef*>(comment);
    h.extra = extra;
    h.extra_len = sizeof(extra);
    h.hcrc = 1;
    EXPECT_EQ(deflateSetHeader(&z, &h), Z_OK);
  }
  return DeflateAll(&z, plain);
}

// Members one after another are one stream, whatever their headers, with a
// record split across two of them; a damaged trailer (CRC-32 or length) or
// bytes after the last member are corruption, reported after the records
// decoded before it; a member cut inside its header is a truncation.
TEST(ReaderTest, GzipMembersHeadersAndTrailers) {
  std::string plain;
  for (int i = 0; i < 3000; ++i) {
    plain += "{\"id\": \"m" + std::to_string(i) + "\", \"text\": \"member " +
             std::string(static_cast<size_t>(i % 97), 'a' + i % 26) + "\"}\n";
  }
  const size_t cut = plain.size() / 3 + 7;  // inside a record
  const std::string first = GzipMember(plain.substr(0, cut), true);
  const std::string empty = GzipMember("", false);
  const std::string last = GzipMember(plain.substr(cut), false);
  const std::string whole = first + empty + last;
  const std::string path = TempPath("members.jsonl.gz");
  for (int mode = 0; mode < 2; ++mode) {
    SCOPED_TRACE(testing::Message() << "read-ahead mode " << mode);
    ReaderOptions options;
    options.read_ahead = mode == 1;
    WriteFile(path, whole);
    ReadResult r = ReadAll({path}, options);
    ASSERT_TRUE(r.status.ok()) << r.status;
    EXPECT_EQ(r.malformed, 0u);
    EXPECT_EQ(r.bytes, plain.size());
    ASSERT_EQ(r.docs.size(), 3000u);
    EXPECT_EQ(r.docs[2999].id, "m2999");

    // The trailer: CRC-32, then the length mod 2^32 (4 bytes each).
    for (size_t from_end : {8u, 4u}) {
      std::string damaged = whole;
      damaged[damaged.size() - from_end] ^= 0x01;
      WriteFile(path, damaged);
      ReadResult d = ReadAll({path}, options);
      ASSERT_TRUE(d.status.ok()) << d.status;
      EXPECT_EQ(d.docs.size(), 3000u) << from_end;
      EXPECT_EQ(d.malformed, 1u) << from_end;
      ASSERT_EQ(d.errors.size(), 1u) << from_end;
      EXPECT_NE(d.errors[0].find("corrupt gzip stream"), std::string::npos)
          << d.errors[0];
    }

    // A few bytes that are not a member after the last one (zero padding).
    WriteFile(path, whole + std::string(4, '\0'));
    ReadResult padded = ReadAll({path}, options);
    EXPECT_EQ(padded.docs.size(), 3000u);
    ASSERT_EQ(padded.errors.size(), 1u);
    EXPECT_NE(padded.errors[0].find("corrupt gzip stream"), std::string::npos)
        << padded.errors[0];

    // A member cut in its header: the records before it, then a truncation.
    WriteFile(path, first + empty + last.substr(0, 5));
    ReadResult cut_header = ReadAll({path}, options);
    EXPECT_EQ(cut_header.bytes, cut);
    ASSERT_EQ(cut_header.errors.size(), 1u);
    EXPECT_NE(cut_header.errors[0].find("truncated"), std::string::npos)
        << cut_header.errors[0];
  }
  std::remove(path.c_str());
}

// A gzip member whose deflate data refers to a preset dictionary, which no
// reader has: "distance too far back" where the dictionary's text is first
// repeated.
std::string GzipMemberWithDictionary(const std::string& plain,
                                     const std::string& dict) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
  EXPECT_EQ(
      deflateSetDictionary(&z, reinterpret_cast<const Bytef*>(dict.data()),
                           static_cast<uInt>(dict.size())),
      Z_OK);
  std::string out("\x1F\x8B\x08\0\0\0\0\0\0\x03", 10);
  out += DeflateAll(&z, plain);
  uint32_t trailer[2] = {static_cast<uint32_t>(crc32(
                             0, reinterpret_cast<const Bytef*>(plain.data()),
                             static_cast<uInt>(plain.size()))),
                         static_cast<uint32_t>(plain.size())};
  out.append(reinterpret_cast<const char*>(trailer), sizeof(trailer));
  return out;
}

// Damage a few KB past the first read's 256 KiB, and a cut: the bytes
// before them are zlib's, for reads of every size (isal_inflate alone
// wrote garbage before it stopped, and held some bytes, by read size), and
// so are the records, with read-ahead or without.
TEST(ReaderTest, GzipDamageGivesZlibsBytesWhateverTheReads) {
  int i = 0;
  auto line = [&i]() {
    std::string text;
    for (int w = 0; w < 12; ++w)
      text += "word" + std::to_string(i * 31 + w) + " ";
    return "{\"id\": \"g" + std::to_string(i++) + "\", \"text\": \"" + text +
           "\"}\n";
  };
  std::string first, second;
  while (first.size() < (size_t{256} << 10) - 2000) first += line();
  // Capitals only: no match into it before the line that repeats it.
  std::string dict;
  for (int k = 0; k < 4096; ++k)
    dict += static_cast<char>('A' + (k * 7 + k / 5) % 26);
  while (second.size() < 6000) second += line();
  second += "{\"id\": \"dict\", \"text\": \"" + dict + "\"}\n";
  while (second.size() < 20000) second += line();
  const std::string damaged =
      GzipMember(first, false) + GzipMemberWithDictionary(second, dict);
  const std::string good = GzipMember(first, false) + GzipMember(second, false);
  const std::string cut = good.substr(0, good.size() - 3000);
  const std::string path = TempPath("damaged.jsonl.gz");
  for (const std::string* bytes : {&damaged, &cut}) {
    const bool is_cut = bytes == &cut;
    SCOPED_TRACE(is_cut ? "cut" : "damaged");
    const std::string decodable = DecodeUntilError(*bytes, false);
    ASSERT_GT(decodable.size(), size_t{256} << 10);
    ASSERT_LT(decodable.size(), first.size() + second.size());
    WriteFile(path, *bytes);
    for (size_t n : {size_t{1}, size_t{100}, size_t{4096}, size_t{65536},
                     size_t{256} << 10, size_t{1} << 20}) {
      auto source = internal::ByteSource::Open(path);
      ASSERT_TRUE(source.ok()) << source.status();
      std::string out, buf(n, '\0');
      absl::Status end;
      while (true) {
        absl::StatusOr<size_t> got = (*source)->Read(buf.data(), n);
        if (!got.ok()) {
          end = got.status();
          break;
        }
        if (*got == 0) break;
        out.append(buf.data(), *got);
      }
      EXPECT_NE(end.message().find(is_cut ? "truncated" : "too far back"),
                std::string::npos)
          << n << ": " << end;
      EXPECT_EQ(out.size(), decodable.size()) << n;
      EXPECT_TRUE(out == decodable) << n;
    }
    for (bool ahead : {false, true}) {
      ReaderOptions options;
      options.read_ahead = ahead;
      ReadResult r = ReadAll({path}, options);
      ASSERT_TRUE(r.status.ok()) << r.status;
      EXPECT_EQ(r.docs.size(), static_cast<size_t>(std::count(
                                   decodable.begin(), decodable.end(), '\n')))
          << ahead;
      EXPECT_EQ(r.malformed, 1u) << ahead;
    }
  }
  std::remove(path.c_str());
}

TEST(ReaderTest, CompressionIsDetectedByContentNotName) {
  // A zstd file named .jsonl is still decompressed.
  const std::string path = TempPath("misnamed.jsonl");
  std::ifstream in(kTestdata + "/news-sample.jsonl.zst", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)),
                    std::istreambuf_iterator<char>());
  WriteFile(path, bytes);
  ReadResult r = ReadAll({path});
  std::remove(path.c_str());
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.docs.size(), 10u);
}

TEST(ReaderTest, MalformedRecordsAreReportedWithFileAndLine) {
  const std::string path = kTestdata + "/malformed.jsonl";
  ReadResult r = ReadAll({path});
  ASSERT_TRUE(r.status.ok()) << r.status;
  ASSERT_EQ(r.docs.size(), 3u);
  EXPECT_EQ(r.docs[0].id, "ok/1");
  EXPECT_EQ(r.docs[1].id, "ok/2");
  // A record without an id is named by file and line.
  EXPECT_EQ(r.docs[2].id, path + ":9");
  EXPECT_EQ(r.malformed, 5u);
  const std::vector<std::string> expected = {
      path + ":2: invalid JSON", path + ":3: missing field \"text\"",
      path + ":4: non-string field \"text\"",
      path + ":5: record is not a JSON object", path + ":8: invalid JSON"};
  ASSERT_EQ(r.errors.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(r.errors[i].substr(0, expected[i].size()), expected[i])
        << r.errors[i];
  }
}

TEST(ReaderTest, StrictStopsAtFirstMalformedRecord) {
  ReaderOptions options;
  options.strict = true;
  ReadResult r = ReadAll({kTestdata + "/malformed.jsonl"}, options);
  EXPECT_FALSE(r.status.ok());
  EXPECT_NE(std::string(r.status.message()).find("malformed.jsonl:2:"),
            std::string::npos)
      << r.status;
  EXPECT_EQ(r.docs.size(), 1u);
}

TEST(ReaderTest, ConfigurableFieldNames) {
  const std::string path = TempPath("fields.jsonl");
  WriteFile(path,
            "{\"key\": 17, \"headline\": \"H\", \"body\": \"B text\", "
            "\"link\": \"http://News.Example.org:8080/a\"}\n");
  ReaderOptions options;
  options.id_field = "key";
  options.title_field = "headline";
  options.text_field = "body";
  options.url_field = "link";
  ReadResult r = ReadAll({path}, options);
  std::remove(path.c_str());
  ASSERT_TRUE(r.status.ok()) << r.status;
  ASSERT_EQ(r.docs.size(), 1u);
  EXPECT_EQ(r.docs[0].id, "17");
  EXPECT_EQ(r.docs[0].title, "H");
  EXPECT_EQ(r.docs[0].text, "B text");
  EXPECT_EQ(r.docs[0].site, "news.example.org");
}

TEST(ReaderTest, TextFilesAndFolders) {
  ReadResult r = ReadAll({kTestdata + "/text"});
  ASSERT_TRUE(r.status.ok()) << r.status;
  ASSERT_EQ(r.docs.size(), 1u);
  EXPECT_EQ(r.docs[0].id, kTestdata + "/text/pier-article.txt");
  EXPECT_EQ(r.docs[0].title,
            "Harbour town demands inquiry into collapse of old ferry pier");
  EXPECT_EQ(r.docs[0].line, 0u);
  // The text is the file's bytes, unchanged.
  std::ifstream in(kTestdata + "/text/pier-article.txt", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)),
                    std::istreambuf_iterator<char>());
  EXPECT_EQ(r.docs[0].text, bytes);
}

TEST(ReaderTest, FolderFilesAreReadInPathOrder) {
  const std::string dir = TempPath("dir");
  std::filesystem::create_directories(dir + "/b");
  WriteFile(dir + "/b/2.txt", "Second\nbody two\n");
  WriteFile(dir + "/a.txt", "First\nbody one\n");
  WriteFile(dir + "/c.jsonl", "{\"id\": \"j\", \"text\": \"json body\"}\n");
  ReadResult r = ReadAll({dir});
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(r.status.ok()) << r.status;
  ASSERT_EQ(r.docs.size(), 3u);
  EXPECT_EQ(r.docs[0].title, "First");
  EXPECT_EQ(r.docs[1].title, "Second");
  EXPECT_EQ(r.docs[2].id, "j");
}

TEST(ReaderTest, MissingInputIsAnError) {
  ReadResult r = ReadAll({kTestdata + "/no-such-file.jsonl"});
  EXPECT_EQ(r.status.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(std::string(r.status.message()).find("no-such-file.jsonl"),
            std::string::npos);
  EXPECT_FALSE(ReadAll({}).status.ok());
}

TEST(ReaderTest, TruncatedCompressedStreamsAreReported) {
  for (const std::string ext : {".gz", ".zst"}) {
    std::ifstream in(kTestdata + "/news-sample.jsonl" + ext, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)),
                      std::istreambuf_iterator<char>());
    const std::string path = TempPath("truncated.jsonl" + ext);
    WriteFile(path, bytes.substr(0, bytes.size() * 2 / 3));
    ReadResult r = ReadAll({path});
    std::remove(path.c_str());
    ASSERT_TRUE(r.status.ok()) << r.status;
    EXPECT_EQ(r.malformed, 1u) << ext;
    ASSERT_FALSE(r.errors.empty()) << ext;
    EXPECT_NE(r.errors.back().find("truncated"), std::string::npos)
        << r.errors.back();
    EXPECT_LT(r.docs.size(), 10u);
  }
}

// Inputs of several megabytes: the line reader asks its source for more at
// each read (up to 16 MB) and the decompressors fill what they are asked
// for, so lines cross reads of every size.
TEST(ReaderTest, LargeInputsReadWholeInEveryEncoding) {
  std::string plain;
  std::vector<std::string> texts;
  for (int i = 0; i < 30000; ++i) {
    // Lengths vary (8 to about 400 bytes) so that lines end anywhere.
    std::string text =
        "record " + std::to_string(i) + " " +
        std::string(static_cast<size_t>(i * 7919 % 397), 'a' + i % 26);
    plain += "{\"id\": \"r" + std::to_string(i) + "\", \"text\": \"" + text +
             "\"}\n";
    texts.push_back(std::move(text));
  }
  ASSERT_GT(plain.size(), size_t{6} << 20);
  // The records read from a corrupted stream, by read-ahead and extension.
  std::map<std::string, std::vector<std::string>> broken_ids[3];
  for (int mode = 0; mode < 3; ++mode) {
    ReaderOptions options;
    // On a thread of its own for gzip and zstd, or (zstd) pumped by another
    // thread: the same records, and the same report of a truncation after
    // them.
    options.read_ahead = mode > 0;
    options.pumped = mode == 2;
    const int pumpers = mode == 2 ? 1 : 0;
    for (const std::string ext : {"", ".gz", ".zst"}) {
      SCOPED_TRACE(testing::Message() << "read-ahead mode " << mode);
      const std::string path = TempPath("large.jsonl" + ext);
      auto out = OutputFile::Open(path);
      ASSERT_TRUE(out.ok()) << out.status();
      ASSERT_TRUE((*out)->Write(plain).ok());
      ASSERT_TRUE((*out)->Commit().ok());
      ReadResult r = ReadAll({path}, options, pumpers);
      ASSERT_TRUE(r.status.ok()) << r.status;
      EXPECT_EQ(r.malformed, 0u) << ext;
      EXPECT_EQ(r.bytes, plain.size()) << ext;
      ASSERT_EQ(r.docs.size(), texts.size()) << ext;
      for (size_t i = 0; i < texts.size(); ++i) {
        ASSERT_EQ(r.docs[i].id, "r" + std::to_string(i)) << ext;
        ASSERT_EQ(r.docs[i].text, texts[i]) << ext;
      }
      {
        // A reader closed after one record, its read-ahead still running.
        auto early = Reader::Open({path}, options, nullptr);
        ASSERT_TRUE(early.ok()) << early.status();
        Document first;
        auto more = (*early)->Next(&first);
        ASSERT_TRUE(more.ok() && *more) << ext;
        EXPECT_EQ(first.text, texts[0]);
      }
      if (!ext.empty()) {
        std::ifstream in(path, std::ios::binary);
        const std::string bytes((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
        const bool zstd = ext == ".zst";
        // Cut at two thirds: every record decoded before the cut is read
        // (as many as the library decodes whole lines from the prefix),
        // then the truncation is reported.
        const std::string prefix = bytes.substr(0, bytes.size() * 2 / 3);
        WriteFile(path, prefix);
        ReadResult cut = ReadAll({path}, options, pumpers);
        ASSERT_TRUE(cut.status.ok()) << cut.status;
        EXPECT_EQ(cut.malformed, 1u) << ext;
        ASSERT_FALSE(cut.errors.empty()) << ext;
        EXPECT_NE(cut.errors.back().find("truncated"), std::string::npos)
            << cut.errors.back();
        const std::string decodable = DecodeUntilError(prefix, zstd);
        EXPECT_EQ(cut.docs.size(),
                  static_cast<size_t>(
                      std::count(decodable.begin(), decodable.end(), '\n')))
            << ext;
        EXPECT_LT(cut.docs.size(), texts.size()) << ext;
        for (size_t i = 0; i < cut.docs.size(); ++i) {
          ASSERT_EQ(cut.docs[i].text, texts[i]) << ext;
        }
        // Bytes after the end of the stream: every record, then the
        // corruption.
        WriteFile(path, bytes + "garbage!");
        ReadResult tail = ReadAll({path}, options, pumpers);
        ASSERT_TRUE(tail.status.ok()) << tail.status;
        EXPECT_EQ(tail.docs.size(), texts.size()) << ext;
        EXPECT_EQ(tail.malformed, 1u) << ext;
        ASSERT_FALSE(tail.errors.empty()) << ext;
        EXPECT_NE(tail.errors.back().find("corrupt"), std::string::npos)
            << tail.errors.back();
        // A byte flipped halfway: what comes out before the corruption does
        // not depend on the reads (nor on the read-ahead), and is the
        // records' start. (zstd without a checksum may decode the damage
        // as other text: then no record is malformed.)
        std::string flipped = bytes;
        flipped[flipped.size() / 2] ^= 0x5A;
        WriteFile(path, flipped);
        ReadResult broken = ReadAll({path}, options, pumpers);
        ASSERT_TRUE(broken.status.ok()) << broken.status;
        for (size_t i = 0; i < broken.docs.size() && i < 1000; ++i) {
          ASSERT_EQ(broken.docs[i].text, texts[i]) << ext;
        }
        std::vector<std::string> ids;
        for (const Document& d : broken.docs) ids.push_back(d.id);
        ids.push_back(std::to_string(broken.malformed) + " malformed");
        broken_ids[mode][ext] = std::move(ids);
      }
      std::remove(path.c_str());
    }
  }
  for (const std::string ext : {".gz", ".zst"}) {
    EXPECT_EQ(broken_ids[0][ext], broken_ids[1][ext]) << ext;
    EXPECT_EQ(broken_ids[0][ext], broken_ids[2][ext]) << ext;
    EXPECT_GT(broken_ids[0][ext].size(), 1000u) << ext;
  }
}

TEST(ReaderTest, OverlongLineIsMalformedAndReadingContinues) {
  const std::string path = TempPath("long.jsonl");
  std::string big = "{\"id\": \"big\", \"text\": \"" + std::string(5000, 'x') +
                    "\"}\n{\"id\": \"after\", \"text\": \"short\"}\n";
  WriteFile(path, big);
  ReaderOptions options;
  options.max_line_bytes = 1024;
  ReadResult r = ReadAll({path}, options);
  std::remove(path.c_str());
  ASSERT_TRUE(r.status.ok()) << r.status;
  ASSERT_EQ(r.docs.size(), 1u);
  EXPECT_EQ(r.docs[0].id, "after");
  EXPECT_EQ(r.docs[0].line, 2u);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].find(":1: line longer than 1024"), std::string::npos);
}

// Lines longer than the blocks the line reader reads (256 KB at first) or
// borrows (the read-ahead's 4 MB chunks) are put together whole, and a line
// over the limit is skipped whole, wherever the blocks end.
TEST(ReaderTest, LinesAcrossBlocksInEveryEncoding) {
  const std::vector<size_t> sizes = {300 << 10, 5 << 20, 100, 9 << 20, 7};
  std::string plain;
  for (size_t i = 0; i < sizes.size(); ++i) {
    plain += "{\"id\": \"r" + std::to_string(i) + "\", \"text\": \"" +
             std::string(sizes[i], static_cast<char>('a' + i)) + "\"}\n";
  }
  plain += "{\"id\": \"last\", \"text\": \"no newline\"}";
  for (const bool read_ahead : {false, true}) {
    ReaderOptions options;
    options.read_ahead = read_ahead;
    options.max_line_bytes = 8 << 20;
    for (const std::string ext : {"", ".gz", ".zst"}) {
      SCOPED_TRACE(testing::Message() << "read ahead " << read_ahead << ext);
      const std::string path = TempPath("blocks.jsonl" + ext);
      auto out = OutputFile::Open(path);
      ASSERT_TRUE(out.ok()) << out.status();
      ASSERT_TRUE((*out)->Write(plain).ok());
      ASSERT_TRUE((*out)->Commit().ok());
      ReadResult r = ReadAll({path}, options);
      std::remove(path.c_str());
      ASSERT_TRUE(r.status.ok()) << r.status;
      EXPECT_EQ(r.bytes, plain.size());
      // The 9 MB line is over the limit: reported, and the rest is read.
      ASSERT_EQ(r.malformed, 1u);
      ASSERT_EQ(r.errors.size(), 1u);
      EXPECT_NE(r.errors[0].find(":4: line longer than"), std::string::npos)
          << r.errors[0];
      ASSERT_EQ(r.docs.size(), 5u);
      for (size_t d = 0, i = 0; i < sizes.size(); ++i) {
        if (i == 3) continue;
        EXPECT_EQ(r.docs[d].id, "r" + std::to_string(i));
        EXPECT_EQ(r.docs[d].line, i + 1);
        EXPECT_EQ(r.docs[d].text,
                  std::string(sizes[i], static_cast<char>('a' + i)));
        ++d;
      }
      EXPECT_EQ(r.docs[4].id, "last");
      EXPECT_EQ(r.docs[4].line, 6u);
    }
  }
}

// `path` read without reading ahead, with the read-ahead thread, and
// pumped by two threads or by none: `bytes` bytes, no malformed record, and
// the records' texts in order.
void ExpectReadWhole(const std::string& path, uint64_t bytes,
                     const std::vector<std::string>& texts) {
  for (int mode = 0; mode < 4; ++mode) {
    SCOPED_TRACE(testing::Message() << "read-ahead mode " << mode);
    ReaderOptions options;
    options.read_ahead = mode > 0;
    options.pumped = mode > 1;
    ReadResult r = ReadAll({path}, options, mode == 3 ? 2 : 0);
    ASSERT_TRUE(r.status.ok()) << r.status;
    EXPECT_EQ(r.malformed, 0u);
    EXPECT_EQ(r.bytes, bytes);
    ASSERT_EQ(r.docs.size(), texts.size());
    for (size_t i = 0; i < texts.size(); ++i) {
      ASSERT_EQ(r.docs[i].text, texts[i]) << i;
    }
  }
}

// One zstd frame of `text`: its window 2^window_log, its content size in
// the header or not (then a decoder cannot size its buffer by it), and a
// checksum after its last block or not.
std::string ZstdFrame(const std::string& text, int level, int window_log,
                      bool content_size, bool checksum = false) {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, checksum ? 1 : 0);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, window_log);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, content_size ? 1 : 0);
  if (content_size) ZSTD_CCtx_setPledgedSrcSize(cctx, text.size());
  std::string out(ZSTD_compressBound(text.size()) + 1024, '\0');
  ZSTD_inBuffer in{text.data(), text.size(), 0};
  ZSTD_outBuffer o{out.data(), out.size(), 0};
  // Fed in pieces, then ended with nothing left: the size stays unknown
  // unless pledged.
  while (in.pos < in.size) {
    ZSTD_inBuffer piece{text.data(), std::min(in.size, in.pos + (1 << 20)),
                        in.pos};
    EXPECT_FALSE(
        ZSTD_isError(ZSTD_compressStream2(cctx, &o, &piece, ZSTD_e_continue)));
    in.pos = piece.pos;
  }
  size_t left;
  do {
    left = ZSTD_compressStream2(cctx, &o, &in, ZSTD_e_end);
    EXPECT_FALSE(ZSTD_isError(left));
  } while (left != 0 && !ZSTD_isError(left));
  ZSTD_freeCCtx(cctx);
  out.resize(o.pos);
  return out;
}

// A skippable frame (ignored by decoders) holding `payload`.
std::string SkippableFrame(const std::string& payload) {
  std::string frame = {'\x53', '\x2A', '\x4D', '\x18'};
  const uint32_t n = static_cast<uint32_t>(payload.size());
  for (int i = 0; i < 4; ++i) frame.push_back(static_cast<char>(n >> (8 * i)));
  return frame + payload;
}

// zstd is decoded block by block into a ring it lends to the line reader:
// every kind of frame reads whole, with and without the read-ahead thread,
// whether its window sets the ring's size or its content size does, through
// the ring's end many times, and with frames that need a larger ring after
// a smaller one.
TEST(ReaderTest, ZstdFramesOfEveryKindReadWhole) {
  std::vector<std::string> texts;
  std::string parts[3];
  // Records of 1 byte to about 9 KB, so that lines end anywhere against
  // blocks and the ring's end; 40 MB in the middle frame.
  const size_t sizes[3] = {size_t{3} << 20, size_t{40} << 20, size_t{5} << 20};
  for (int p = 0; p < 3; ++p) {
    while (parts[p].size() < sizes[p]) {
      const size_t i = texts.size();
      std::string text = std::to_string(i) + " " +
                         std::string(i * 7919 % 9001 + 1, 'a' + i % 26);
      parts[p] += "{\"id\": \"r" + std::to_string(i) + "\", \"text\": \"" +
                  text + "\"}\n";
      texts.push_back(std::move(text));
    }
  }
  const std::string frames[3] = {
      ZstdFrame(parts[0], 1, 17, /*content_size=*/true),
      ZstdFrame(parts[1], 1, 19, /*content_size=*/false),
      ZstdFrame(parts[2], 3, 23, /*content_size=*/true)};
  for (const std::string& frame : frames) {
    ZSTD_frameHeader header;
    ASSERT_EQ(ZSTD_getFrameHeader(&header, frame.data(), frame.size()), 0u);
  }
  ZSTD_frameHeader middle;
  ZSTD_getFrameHeader(&middle, frames[1].data(), frames[1].size());
  EXPECT_EQ(middle.frameContentSize, ZSTD_CONTENTSIZE_UNKNOWN);
  EXPECT_EQ(middle.windowSize, uint64_t{1} << 19);
  // A skippable frame first (as pzstd writes them) and between frames.
  const std::string path = TempPath("frames.jsonl.zst");
  WriteFile(path, SkippableFrame("first") + frames[0] + SkippableFrame("") +
                      frames[1] + frames[2] + SkippableFrame("last"));
  ExpectReadWhole(path, parts[0].size() + parts[1].size() + parts[2].size(),
                  texts);
  std::remove(path.c_str());
}

// Many small frames then larger ones, of random sizes: a frame can end
// right before the ring's end, and the next one may need a larger ring
// (made only once every byte of the old one is read). Every record comes
// out, with and without the read-ahead thread.
TEST(ReaderTest, ZstdSmallFramesThenLargerOnesReadWhole) {
  std::mt19937 random(20261126);
  for (int trial = 0; trial < 12; ++trial) {
    SCOPED_TRACE(testing::Message() << "trial " << trial);
    std::string plain;
    std::vector<std::string> texts;
    const size_t total = 100000 + random() % 400000;
    while (plain.size() < total) {
      std::string text = std::string(1 + random() % 700, 'a' + random() % 26);
      plain += "{\"id\": \"r" + std::to_string(texts.size()) +
               "\", \"text\": \"" + text + "\"}\n";
      texts.push_back(std::move(text));
    }
    // Frames of 100 bytes to 60 KB, smallest first, with windows of 1 KB
    // to 1 MB, most with a checksum (the step after a frame's last block).
    std::string file;
    size_t at = 0;
    for (int k = 0; at < plain.size(); ++k) {
      const size_t n = k < 30 ? 100 + random() % 900 : 200 + random() % 60000;
      const std::string piece = plain.substr(at, n);
      at += piece.size();
      // The small ones with their size: each sizes a small ring (wrapped
      // often); a frame without it, or a larger one, needs a new ring.
      file += ZstdFrame(piece, 3, 10 + static_cast<int>(random() % 11),
                        /*content_size=*/k < 30 || random() % 2 == 0,
                        /*checksum=*/random() % 4 != 0);
    }
    const std::string path = TempPath("small-frames.jsonl.zst");
    WriteFile(path, file);
    ExpectReadWhole(path, plain.size(), texts);
    std::remove(path.c_str());
  }
}

// A skippable frame claiming more bytes than the file has is a truncation,
// found without holding what it claims (up to 4 GB) in memory.
// Pumped, frames smaller than the ring's 16 MB ahead are decoded ahead
// too (their rings are sized by their content): Pump, called here between
// records on the reading thread itself, decodes runs, and the records come
// out whole and in order.
TEST(ReaderTest, ZstdSmallSizedFramesArePumped) {
  std::string plain, file;
  std::vector<std::string> texts;
  for (int frame = 0; frame < 4; ++frame) {
    std::string part;
    while (part.size() < (size_t{3} << 20)) {
      std::string text = "record " + std::to_string(texts.size()) + " " +
                         std::string(texts.size() * 7919 % 997, 'k');
      part += "{\"id\": \"r" + std::to_string(texts.size()) +
              "\", \"text\": \"" + text + "\"}\n";
      texts.push_back(std::move(text));
    }
    file += ZstdFrame(part, 3, 22, /*content_size=*/true);
    plain += part;
  }
  const std::string path = TempPath("sized-frames.jsonl.zst");
  WriteFile(path, file);
  ReaderOptions options;
  options.read_ahead = true;
  options.pumped = true;
  auto reader = Reader::Open({path}, options, nullptr);
  ASSERT_TRUE(reader.ok()) << reader.status();
  size_t pumps = 0, read = 0;
  Document doc;
  while (true) {
    auto more = (*reader)->Next(&doc);
    ASSERT_TRUE(more.ok()) << more.status();
    if (!*more) break;
    ASSERT_LT(read, texts.size());
    ASSERT_EQ(doc.text, texts[read]) << read;
    ++read;
    if ((*reader)->Pump()) ++pumps;
  }
  EXPECT_EQ(read, texts.size());
  EXPECT_EQ((*reader)->bytes(), plain.size());
  EXPECT_EQ((*reader)->malformed(), 0u);
  // 12 MB in runs of up to a ring (about 6 MB here, across frames).
  EXPECT_GE(pumps, 2u);
  std::remove(path.c_str());
}

TEST(ReaderTest, ZstdSkippableFrameClaimingTooMuchIsTruncated) {
  const std::string path = TempPath("skip.jsonl.zst");
  WriteFile(path, std::string("\x50\x2A\x4D\x18\x00\x00\x00\xF0"
                              "abc",
                              11));
  struct rusage before;
  getrusage(RUSAGE_SELF, &before);
  for (const bool read_ahead : {false, true}) {
    ReaderOptions options;
    options.read_ahead = read_ahead;
    ReadResult r = ReadAll({path}, options);
    ASSERT_TRUE(r.status.ok()) << r.status;
    EXPECT_TRUE(r.docs.empty());
    EXPECT_EQ(r.malformed, 1u);
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_NE(r.errors[0].find("truncated zstd stream"), std::string::npos)
        << r.errors[0];
  }
  struct rusage after;
  getrusage(RUSAGE_SELF, &after);
  EXPECT_LT(after.ru_maxrss - before.ru_maxrss, 256 << 10);  // KB
  std::remove(path.c_str());
}

// A frame whose window is over zstd's default limit (128 MB) is refused as
// zstd -d refuses it, after the frames before it.
TEST(ReaderTest, ZstdWindowOverTheLimitIsReported) {
  const std::string first = "{\"id\": \"a\", \"text\": \"one\"}\n";
  const std::string frame =
      ZstdFrame("{\"id\": \"b\", \"text\": \"two\"}\n", 3, 28, false);
  ZSTD_frameHeader header;
  ASSERT_EQ(ZSTD_getFrameHeader(&header, frame.data(), frame.size()), 0u);
  ASSERT_EQ(header.windowSize, uint64_t{1} << 28);
  const std::string path = TempPath("wide.jsonl.zst");
  WriteFile(path, ZstdFrame(first, 3, 17, true) + frame);
  for (const bool read_ahead : {false, true}) {
    ReaderOptions options;
    options.read_ahead = read_ahead;
    ReadResult r = ReadAll({path}, options);
    ASSERT_TRUE(r.status.ok()) << r.status;
    ASSERT_EQ(r.docs.size(), 1u);
    EXPECT_EQ(r.docs[0].id, "a");
    EXPECT_EQ(r.malformed, 1u);
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_NE(r.errors[0].find("too much memory"), std::string::npos)
        << r.errors[0];
  }
  std::remove(path.c_str());
}

TEST(ReaderTest, LastLineWithoutNewlineAndCrlf) {
  const std::string path = TempPath("crlf.jsonl");
  WriteFile(path,
            "{\"id\": \"a\", \"text\": \"one\"}\r\n{\"id\": \"b\", \"text\": "
            "\"two\"}");
  ReadResult r = ReadAll({path});
  std::remove(path.c_str());
  ASSERT_TRUE(r.status.ok()) << r.status;
  ASSERT_EQ(r.docs.size(), 2u);
  EXPECT_EQ(r.docs[1].text, "two");
}

TEST(ReaderTest, OptionsAreValidated) {
  ReaderOptions options;
  options.text_field = "";
  EXPECT_FALSE(options.Validate().ok());
  options = ReaderOptions();
  options.max_line_bytes = 10;
  EXPECT_FALSE(options.Validate().ok());
  EXPECT_TRUE(ReaderOptions().Validate().ok());
}

TEST(ReaderTest, HostOfUrl) {
  EXPECT_EQ(HostOfUrl("https://www.bbc.co.uk/news/x"), "www.bbc.co.uk");
  EXPECT_EQ(HostOfUrl("http://user@Example.COM:80/?q"), "example.com");
  EXPECT_EQ(HostOfUrl("no scheme"), "");
  EXPECT_EQ(HostOfUrl("https://host"), "host");
}

}  // namespace
}  // namespace newsdedup
