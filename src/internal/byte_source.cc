#include "internal/byte_source.h"

#include <fcntl.h>
#include <isa-l/igzip_lib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>
#include <zstd_errors.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <limits>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace newsdedup::internal {
namespace {

constexpr size_t kChunk = 1 << 18;
// The most a line reader asks of its source at once. Reads grow from kChunk
// while the source fills them. A decompressor run this long keeps its
// window in cache across the run: decoding in 128 KB steps between batches
// of tokenizing and sketching, which evict it, made decompression twice its
// own cost (bench/README.md, "Reading in long runs"; zstd decodes runs of
// its ring's size, kRingAhead, the same way).
constexpr size_t kMaxFill = size_t{16} << 20;
// The read-ahead's chunks (at most four in memory: two waiting, the one
// being read and the one being decoded): its thread decodes one in a run,
// then waits for room. The first is kChunk, and each next one twice the one
// before up to this, so that the reader starts after a short decode.
constexpr size_t kAheadChunk = size_t{4} << 20;

// Raw bytes of a file descriptor, with a few bytes of look-ahead already
// consumed for format detection.
class FdReader {
 public:
  FdReader(int fd, bool owned, std::string path)
      : fd_(fd), owned_(owned), path_(std::move(path)) {}
  ~FdReader() {
    if (owned_) close(fd_);
  }
  absl::StatusOr<size_t> Read(char* buf, size_t n) {
    size_t done = 0;
    if (pending_pos_ < pending_.size()) {
      done = std::min(n, pending_.size() - pending_pos_);
      std::memcpy(buf, pending_.data() + pending_pos_, done);
      pending_pos_ += done;
      if (done == n) return done;
    }
    while (true) {
      const ssize_t got = read(fd_, buf + done, n - done);
      if (got < 0) {
        if (errno == EINTR) continue;
        return absl::DataLossError(
            absl::StrCat(path_, ": read failed: ", std::strerror(errno)));
      }
      return done + static_cast<size_t>(got);
    }
  }
  // Reads up to 4 bytes for format detection; they are returned again by
  // the following Read calls.
  absl::StatusOr<std::string> Peek() {
    // Where the stream starts in the file (stdin may be a file read from
    // elsewhere than its start).
    const off_t at = lseek(fd_, 0, SEEK_CUR);
    start_offset_ = at < 0 ? 0 : static_cast<uint64_t>(at);
    char head[4];
    size_t have = 0;
    while (have < sizeof(head)) {
      const ssize_t got = read(fd_, head + have, sizeof(head) - have);
      if (got < 0) {
        if (errno == EINTR) continue;
        return absl::DataLossError(
            absl::StrCat(path_, ": read failed: ", std::strerror(errno)));
      }
      if (got == 0) break;
      have += static_cast<size_t>(got);
    }
    pending_.assign(head, have);
    pending_pos_ = 0;
    return pending_;
  }
  const std::string& path() const { return path_; }
  int fd() const { return fd_; }
  // The file offset of the first byte Read returns (after Peek).
  uint64_t start_offset() const { return start_offset_; }

 private:
  int fd_;
  bool owned_;
  std::string path_;
  std::string pending_;
  size_t pending_pos_ = 0;
  uint64_t start_offset_ = 0;
};

class PlainSource : public ByteSource {
 public:
  explicit PlainSource(std::unique_ptr<FdReader> in) : in_(std::move(in)) {}
  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    return in_->Read(buf, n);
  }

 private:
  std::unique_ptr<FdReader> in_;
};

// The decompressing sources below fill what they are asked for when `fill`
// (a regular file: a long run of decoding is cheaper than many short ones,
// kMaxFill), and return after the first bytes otherwise (a pipe: records
// arrive as they come). An error after some bytes were decoded in the same
// call is kept: those bytes are returned first, the error by every call
// after, so nothing decoded before a corruption or a truncation is lost.

// gzip through ISA-L's inflate (igzip): about 3.4 times zlib's speed on
// Reuters 2006-2010 here (820 against 240 MB/s), which matters because a
// file's decoding is one chain that no number of threads shortens.
//
// Damage: isal_inflate stops at it, but may have written a few hundred
// bytes of garbage before it says so (a distance too far back is copied
// from whatever precedes), and holds some of what it decoded in a buffer
// of its own; how much of each depends on where the reads were cut. So
// where a member turns out damaged or cut short in a regular file, that
// member is decoded again with zlib, which stops exactly where the data
// does: what comes out before the error is zlib's, whatever the reads.
class GzipSource : public ByteSource {
 public:
  GzipSource(std::unique_ptr<FdReader> in, bool fill)
      : in_(std::move(in)),
        input_(kChunk, '\0'),
        fill_(fill),
        state_(std::make_unique<inflate_state>()) {
    read_bytes_ = input_offset_ = in_->start_offset();
    StartMember();
  }

  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    if (held_pos_ < held_.size()) return TakeHeld(buf, n);
    if (!error_.ok()) return error_;
    if (done_) return 0;
    n = std::min<size_t>(n, std::numeric_limits<uint32_t>::max());
    inflate_state& s = *state_;
    s.next_out = reinterpret_cast<uint8_t*>(buf);
    s.avail_out = static_cast<uint32_t>(n);
    call_member_bytes_ = 0;
    // Runs isal_inflate, counting what it writes; false on damage.
    auto inflate = [&]() {
      const uint32_t before = s.avail_out;
      const int rc = isal_inflate(&s);
      member_bytes_ += before - s.avail_out;
      call_member_bytes_ += before - s.avail_out;
      if (rc >= 0) return true;
      Damaged(absl::StrCat("corrupt gzip stream: ", Why(rc)));
      return false;
    };
    while (s.avail_out > 0 && (fill_ || s.avail_out == n)) {
      if (s.block_state == ISAL_BLOCK_FINISH) {
        // Concatenated gzip members are one stream (as gzip -d treats
        // them): the next one starts where this one's trailer ended.
        StartMember();
        call_member_bytes_ = 0;
        continue;
      }
      if (s.avail_in == 0 && !input_ended_) {
        auto got = in_->Read(input_.data(), input_.size());
        if (!got.ok()) {
          read_error_ = got.status();
          input_ended_ = true;
        } else if (*got == 0) {
          input_ended_ = true;
        } else {
          s.next_in = reinterpret_cast<uint8_t*>(input_.data());
          s.avail_in = static_cast<uint32_t>(*got);
          input_offset_ = read_bytes_;
          read_bytes_ += *got;
        }
      }
      if (s.avail_in == 0) {  // the input has ended
        if (!member_started_) {
          if (read_error_.ok()) {
            done_ = true;
          } else {
            error_ = read_error_;
          }
          break;
        }
        // What isal_inflate decoded ahead into its own buffer (when the
        // caller's was nearly full) comes out before the truncation.
        const uint32_t before = s.avail_out;
        if (!inflate()) break;
        if (s.block_state == ISAL_BLOCK_FINISH || s.avail_out != before) {
          continue;
        }
        if (read_error_.ok()) {
          Damaged("truncated gzip stream (unexpected end)");
        } else {
          error_ = read_error_;
        }
        break;
      }
      member_started_ = true;
      // The magic bytes are checked here, as they come: isal_inflate takes
      // a partial header in and waits for the rest before it looks, so a
      // few bytes of something else after the last member would read as a
      // truncated member.
      bool magic_ok = true;
      for (uint32_t i = 0; magic_ < 2 && i < s.avail_in; ++i, ++magic_) {
        constexpr uint8_t kMagic[2] = {0x1F, 0x8B};
        magic_ok = magic_ok && s.next_in[i] == kMagic[magic_];
      }
      if (!magic_ok) {
        error_ = absl::DataLossError(absl::StrCat(
            in_->path(), ": corrupt gzip stream: ", Why(ISAL_INVALID_WRAPPER)));
        break;
      }
      if (!inflate()) break;
    }
    size_t produced = n - s.avail_out;
    produced -= retract_;
    retract_ = 0;
    if (produced > 0) return produced;
    if (held_pos_ < held_.size()) return TakeHeld(buf, n);
    if (!error_.ok()) return error_;
    return produced;
  }

 private:
  // A new member at the input not yet decoded (its header is parsed and
  // its trailer's CRC-32 and size checked by isal_inflate).
  void StartMember() {
    inflate_state& s = *state_;
    member_offset_ =
        input_offset_ +
        (s.next_in == nullptr
             ? 0
             : static_cast<uint64_t>(
                   s.next_in - reinterpret_cast<uint8_t*>(input_.data())));
    member_bytes_ = 0;
    // The init clears the buffers too: the read under way keeps them.
    uint8_t* next_in = s.next_in;
    const uint32_t avail_in = s.avail_in;
    uint8_t* next_out = s.next_out;
    const uint32_t avail_out = s.avail_out;
    isal_inflate_init(&s);
    s.crc_flag = ISAL_GZIP;
    s.next_in = next_in;
    s.avail_in = avail_in;
    s.next_out = next_out;
    s.avail_out = avail_out;
    member_started_ = false;
    magic_ = 0;
  }

  // The current member is damaged or cut short (`why`). In a regular file
  // it is decoded again with zlib from its first byte: the bytes the caller
  // got of it beyond zlib's are taken back from this read where they are in
  // it, and zlib's bytes beyond the caller's are held, to come out before
  // the error. Elsewhere (a pipe) what isal_inflate held comes out.
  void Damaged(const std::string& why) {
    error_ = absl::DataLossError(absl::StrCat(in_->path(), ": ", why));
    const inflate_state& s = *state_;
    held_.clear();
    held_pos_ = 0;
    if (!fill_) {
      if (s.tmp_out_valid > s.tmp_out_processed) {
        held_.assign(
            reinterpret_cast<const char*>(s.tmp_out_buffer) +
                s.tmp_out_processed,
            static_cast<size_t>(s.tmp_out_valid - s.tmp_out_processed));
      }
      return;
    }
    uint64_t valid = 0;
    if (!ZlibMember(&valid)) return;  // (cannot happen: ISA-L's bytes stand)
    if (member_bytes_ > valid) {
      retract_ = static_cast<size_t>(
          std::min<uint64_t>(member_bytes_ - valid, call_member_bytes_));
    }
  }

  // Decodes the current member with zlib up to its end or first error;
  // *valid: the bytes it decoded. Those past member_bytes_ go to held_.
  bool ZlibMember(uint64_t* valid) {
    z_stream z{};
    if (inflateInit2(&z, 15 + 16) != Z_OK) return false;
    std::string in(kChunk, '\0');
    std::string out(kChunk, '\0');
    uint64_t at = member_offset_;
    bool ended = false;
    while (!ended) {
      if (z.avail_in == 0) {
        const ssize_t got =
            pread(in_->fd(), in.data(), in.size(), static_cast<off_t>(at));
        if (got <= 0) break;
        at += static_cast<uint64_t>(got);
        z.next_in = reinterpret_cast<Bytef*>(in.data());
        z.avail_in = static_cast<uInt>(got);
      }
      z.next_out = reinterpret_cast<Bytef*>(out.data());
      z.avail_out = static_cast<uInt>(out.size());
      const int rc = inflate(&z, Z_NO_FLUSH);
      ended = rc != Z_OK;
      const size_t k = out.size() - z.avail_out;
      // The caller has the member's first member_bytes_ (or fewer, after
      // a retraction); the rest, up to a cap, is held.
      const uint64_t from = *valid;
      *valid += k;
      if (*valid > member_bytes_ && held_.size() < kMaxHeld) {
        const uint64_t skip =
            member_bytes_ > from ? member_bytes_ - from : uint64_t{0};
        held_.append(out.data() + skip,
                     std::min<size_t>(k - skip, kMaxHeld - held_.size()));
      }
    }
    inflateEnd(&z);
    return true;
  }

  size_t TakeHeld(char* buf, size_t n) {
    const size_t k = std::min(n, held_.size() - held_pos_);
    std::memcpy(buf, held_.data() + held_pos_, k);
    held_pos_ += k;
    return k;
  }

  static const char* Why(int rc) {
    switch (rc) {
      case ISAL_INVALID_BLOCK:
        return "invalid block";
      case ISAL_INVALID_SYMBOL:
        return "invalid code";
      case ISAL_INVALID_LOOKBACK:
        return "distance too far back";
      case ISAL_INVALID_WRAPPER:
        return "not a gzip header";
      case ISAL_UNSUPPORTED_METHOD:
        return "unknown compression method";
      case ISAL_INCORRECT_CHECKSUM:
        return "checksum or length mismatch";
      default:
        return "inflate failed";
    }
  }

  // zlib's bytes held before an error at most (isal_inflate stops within
  // a block of where zlib does; this only bounds a disagreement).
  static constexpr size_t kMaxHeld = size_t{4} << 20;

  std::unique_ptr<FdReader> in_;
  std::string input_;
  bool fill_;  // a regular file (see Damaged)
  // About 85 KB of tables and history: on the heap, with the source.
  std::unique_ptr<inflate_state> state_;
  bool member_started_ = false;
  int magic_ = 0;              // of the member's two magic bytes, those checked
  uint64_t read_bytes_ = 0;    // the file offset of the next read
  uint64_t input_offset_ = 0;  // the file offset of input_[0]
  uint64_t member_offset_ = 0;      // ... of the current member's first byte
  uint64_t member_bytes_ = 0;       // decoded of it into the caller's buffers
  uint64_t call_member_bytes_ = 0;  // ... by the read under way
  size_t retract_ = 0;  // of the read under way, beyond zlib's bytes
  bool input_ended_ = false;
  absl::Status read_error_;  // the file's, reported where the input ends
  bool done_ = false;
  absl::Status error_;  // kept for the calls after the bytes before it
  std::string held_;    // decoded before an error, still to come out
  size_t held_pos_ = 0;
};

// zstd, decoded block by block (zstd's buffer-less API) into a ring that is
// also the memory lent to the caller: the window zstd copies its matches
// from is the text itself, with no buffer of zstd's own to decode into and
// copy out of. The ring holds the frame's window, room for two blocks, and
// kRingAhead bytes decoded ahead of the caller; a block is only decoded
// into bytes that are out of the window and that the caller has given back
// (by its next Lend).
//
// `threaded`: blocks are decoded on a thread of its own while there is
// room, and Lend hands out what is decoded (kLendMax at most, so that
// bytes come back to the ring often). `pumped`: the same, but decoded by
// Pump() from the caller's other threads, in runs of kPumpRoom or more
// (less in a small frame's ring), and by Lend where nothing is decoded
// (a block at a time). Otherwise Lend decodes once it has
// handed out everything: as much as the ring has room for (`fill`, a
// regular file: a long run keeps the window in cache) or up to the first
// block with bytes in it (a pipe: records arrive as they come).
//
// A corrupt or truncated stream: the blocks before the damage are handed
// out, then the error, by every call after; what comes out therefore
// depends neither on the thread nor on how the caller reads.
class ZstdRingSource : public ByteSource {
 public:
  ZstdRingSource(std::unique_ptr<FdReader> in, bool fill, ReadAhead ahead)
      : in_(std::move(in)),
        fill_(fill),
        pumped_(ahead == ReadAhead::kPump),
        input_(kInputBytes) {
    dctx_ = ZSTD_createDCtx();
    if (ahead == ReadAhead::kThread) {
      thread_ = std::thread([this] { Produce(); });
    }
  }

  ~ZstdRingSource() override {
    if (pumped_) {
      // A Pump still running ends at its next step.
      std::unique_lock<std::mutex> lock(mu_);
      stop_ = true;
      ready_.wait(lock, [this] { return !stepping_; });
    }
    if (thread_.joinable()) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        stop_ = true;
      }
      space_.notify_all();
      thread_.join();
    }
    ZSTD_freeDCtx(dctx_);
  }

  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    if (unread_.empty()) {
      absl::StatusOr<std::string_view> got = Lend();
      if (!got.ok()) return got.status();
      unread_ = *got;
    }
    const size_t k = std::min(n, unread_.size());
    std::memcpy(buf, unread_.data(), k);
    unread_.remove_prefix(k);
    return k;
  }

  bool lends() const override { return true; }

  absl::StatusOr<std::string_view> Lend() override {
    std::unique_lock<std::mutex> lock(mu_);
    released_ = read_;  // what was lent before is given back
    if (thread_.joinable()) {
      space_.notify_one();
      ready_.wait(lock, [this] { return Unread() || Over(); });
    } else if (pumped_) {
      // Decodes itself only what it needs: a block with bytes in it, unless
      // a pump is running (its first block is as near).
      while (!Unread() && !Over()) {
        if (stepping_) {
          ready_.wait(lock,
                      [this] { return Unread() || Over() || !stepping_; });
          continue;
        }
        if (!CanStep()) break;
        stepping_ = true;
        lock.unlock();
        Step();
        lock.lock();
        stepping_ = false;
      }
    } else if (!Unread()) {
      while (!Over() && CanStep() && (fill_ || !Unread())) {
        lock.unlock();
        Step();
        lock.lock();
      }
    }
    if (!Unread()) {
      if (!error_.ok()) return error_;
      return std::string_view();
    }
    // From past a ring end skipped, up to the next one.
    if (!skips_.empty() && skips_.front().first == read_) {
      read_ = skips_.front().second;
      skips_.pop_front();
    }
    uint64_t end = written_;
    if (!skips_.empty() && skips_.front().first < end) {
      end = skips_.front().first;
    }
    if (thread_.joinable() || pumped_) {
      end = std::min<uint64_t>(end, read_ + kLendMax);
    }
    const std::string_view lent(ring_.get() + read_ % capacity_,
                                static_cast<size_t>(end - read_));
    read_ = end;
    return lent;
  }

  bool Pump() override {
    if (!pumped_) return false;
    {
      // The reading thread is not kept waiting: a busy lock means it is
      // lending or decoding.
      std::unique_lock<std::mutex> lock(mu_, std::try_to_lock);
      if (!lock.owns_lock() || stepping_ || Over() || next_ != Next::kBlocks ||
          Free() < std::min(kPumpRoom, (capacity_ - window_) / 4 * 3)) {
        return false;
      }
      stepping_ = true;
    }
    // Until the ring is full, or the frame ends in one that needs a new
    // ring (made by Lend, once everything lent is back).
    while (true) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (Over() || next_ == Next::kNewRing || !CanStep()) break;
      }
      Step();
    }
    std::lock_guard<std::mutex> lock(mu_);
    stepping_ = false;
    ready_.notify_all();
    return true;
  }

 private:
  static constexpr size_t kInputBytes = size_t{1} << 20;
  // Bytes decoded ahead of the caller, beyond the window.
  static constexpr uint64_t kRingAhead = uint64_t{16} << 20;
  // The most one Lend hands out with a decoder ahead (threaded or pumped):
  // bytes lent come back to the ring only at the next call.
  static constexpr uint64_t kLendMax = uint64_t{4} << 20;
  // A pump starts once this much of the ring is free, or three quarters of
  // what can ever be free (a frame smaller than kRingAhead sizes its ring
  // by its content): long runs keep the window in cache (12 of the 16 MB
  // ahead, from measurements on Reuters).
  static constexpr uint64_t kPumpRoom = uint64_t{12} << 20;
  // Room asked for beyond a block's largest size (zstd's wild copies).
  static constexpr uint64_t kMargin = 64;

  enum class Next : uint8_t {
    kHeader,   // the next frame's header, or the end
    kNewRing,  // a ring for a frame's window, once the old one is read
    kBlocks,   // the frame's blocks
  };

  // Under mu_.
  bool Unread() const {
    const uint64_t from = !skips_.empty() && skips_.front().first == read_
                              ? skips_.front().second
                              : read_;
    return from < written_;
  }
  bool Over() const { return ended_ || stop_ || !error_.ok(); }

  // Under mu_: virtual position v is ring byte v % capacity_ (a ring end
  // skipped counts as written). The bytes that must stay: the window
  // behind the write position, and what the caller has not given back.
  uint64_t Keep() const {
    return std::min(released_, written_ > window_ ? written_ - window_ : 0);
  }
  uint64_t RingEnd() const { return (written_ / capacity_ + 1) * capacity_; }
  // Bytes that may be written before the decoder catches up with Keep(),
  // across the ring's end. 0 before the first ring.
  uint64_t Free() const {
    return capacity_ == 0 ? 0 : Keep() + capacity_ - written_;
  }
  // Writable bytes at the write position.
  uint64_t Room() const {
    return std::min(RingEnd(), Keep() + capacity_) - written_;
  }
  // Whether the decoding side can take its next step now.
  bool CanStep() const {
    switch (next_) {
      case Next::kHeader:
        return true;
      case Next::kNewRing:
        // Everything lent is given back (a ring end skipped last counts as
        // read: no bytes follow it).
        return released_ == read_ && !Unread();
      case Next::kBlocks:
        if (!NextWrites()) return true;
        const uint64_t need = block_max_ + kMargin;
        if (Room() >= need) return true;
        // The ring's end is too close for a block: decoding goes on from
        // its start, once those bytes are free.
        return RingEnd() - written_ < need &&
               RingEnd() + need <= Keep() + capacity_;
    }
    return false;
  }

  // Whether the decoder's next step writes bytes: a block's content (not a
  // header or a checksum).
  bool NextWrites() const {
    const ZSTD_nextInputType_e type = ZSTD_nextInputType(dctx_);
    return type == ZSTDnit_block || type == ZSTDnit_lastBlock;
  }

  // The decoding side's state, set by Step only.
  void Fail(absl::Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    if (error_.ok()) error_ = std::move(status);
    ready_.notify_one();
  }
  absl::Status Corrupt(const char* what) const {
    return absl::DataLossError(
        absl::StrCat(in_->path(), ": corrupt zstd stream: ", what));
  }
  absl::Status Truncated() const {
    return absl::DataLossError(
        absl::StrCat(in_->path(), ": truncated zstd stream (unexpected end)"));
  }

  // Makes `n` compressed bytes readable at input_[in_pos_] if the file has
  // them; false (fewer there) at its end. A read error is kept in *error.
  bool Need(size_t n, absl::Status* error) {
    if (in_size_ - in_pos_ >= n) return true;
    if (in_eof_) return false;
    std::memmove(input_.data(), input_.data() + in_pos_, in_size_ - in_pos_);
    in_size_ -= in_pos_;
    in_pos_ = 0;
    if (input_.size() < n) input_.resize(n);
    while (in_size_ < n) {
      absl::StatusOr<size_t> got =
          in_->Read(input_.data() + in_size_, input_.size() - in_size_);
      if (!got.ok()) {
        *error = got.status();
        return false;
      }
      if (*got == 0) {
        in_eof_ = true;
        return false;
      }
      in_size_ += *got;
    }
    return true;
  }

  // One step of decoding, when CanStep(): a frame's header, its ring, or
  // one call of the buffer-less decoder. Called without mu_, by one thread
  // at a time: the decoding thread; or Lend's caller; or, pumped, whoever
  // set stepping_ (Lend's caller or Pump's).
  void Step() {
    switch (next_) {
      case Next::kHeader:
        Header();
        return;
      case Next::kNewRing: {
        std::lock_guard<std::mutex> lock(mu_);
        ring_.reset(new char[pending_capacity_]);  // touched as written
        capacity_ = pending_capacity_;
        read_ = released_ = written_ = 0;
        skips_.clear();
        window_ = pending_window_;
        next_ = Next::kBlocks;
        return;
      }
      case Next::kBlocks:
        Block();
        return;
    }
  }

  void Header() {
    absl::Status error;
    size_t want = ZSTD_FRAMEHEADERSIZE_PREFIX(ZSTD_f_zstd1);
    ZSTD_frameHeader header;
    while (true) {
      const bool have = Need(want, &error);
      if (!error.ok()) return Fail(std::move(error));
      const size_t avail = in_size_ - in_pos_;
      if (avail == 0) {
        std::lock_guard<std::mutex> lock(mu_);
        ended_ = true;  // between frames: the end of the stream
        ready_.notify_one();
        return;
      }
      const size_t rc = ZSTD_getFrameHeader(&header, input_.data() + in_pos_,
                                            std::min(avail, want));
      if (ZSTD_isError(rc)) return Fail(Corrupt(ZSTD_getErrorName(rc)));
      if (rc == 0) break;
      if (!have && rc > avail) return Fail(Truncated());
      want = rc;
    }
    if (header.frameType != ZSTD_frame) {
      // A skippable frame: its bytes are passed over here, a read at a
      // time (it may claim up to 4 GB).
      uint64_t left = ZSTD_SKIPPABLEHEADERSIZE + header.frameContentSize;
      while (left > 0) {
        if (in_pos_ == in_size_ && !Need(1, &error)) {
          return Fail(error.ok() ? Truncated() : std::move(error));
        }
        const size_t k =
            static_cast<size_t>(std::min<uint64_t>(left, in_size_ - in_pos_));
        in_pos_ += k;
        left -= k;
      }
      return;  // the next frame's header is next
    }
    const size_t rc = ZSTD_decompressBegin(dctx_);
    if (ZSTD_isError(rc)) return Fail(Corrupt(ZSTD_getErrorName(rc)));
    if (header.windowSize > (uint64_t{1} << ZSTD_WINDOWLOG_LIMIT_DEFAULT)) {
      return Fail(Corrupt(
          ZSTD_getErrorString(ZSTD_error_frameParameter_windowTooLarge)));
    }
    const bool sized = header.frameContentSize != ZSTD_CONTENTSIZE_UNKNOWN;
    const uint64_t window =
        sized ? std::min<uint64_t>(header.windowSize, header.frameContentSize)
              : header.windowSize;
    const size_t buffer =
        ZSTD_decodingBufferSize_min(header.windowSize, header.frameContentSize);
    if (ZSTD_isError(buffer)) return Fail(Corrupt(ZSTD_getErrorName(buffer)));
    const uint64_t ahead =
        sized ? std::min<uint64_t>(kRingAhead, header.frameContentSize)
              : kRingAhead;
    const uint64_t capacity =
        buffer + 2 * (header.blockSizeMax + kMargin) + ahead;
    std::lock_guard<std::mutex> lock(mu_);
    block_max_ = header.blockSizeMax;
    if (capacity > capacity_) {
      // Bytes of the old ring may still be lent: the new one is made once
      // they are all given back.
      pending_capacity_ = capacity;
      pending_window_ = window;
      next_ = Next::kNewRing;
    } else {
      window_ = window;
      next_ = Next::kBlocks;
    }
  }

  void Block() {
    const size_t n = ZSTD_nextSrcSizeToDecompress(dctx_);
    if (n == 0) {  // the frame's end (and its checksum) is behind
      next_ = Next::kHeader;
      return;
    }
    absl::Status error;
    if (!Need(n, &error)) return Fail(error.ok() ? Truncated() : error);
    // Headers and checksums write nothing: no room is given (zstd then
    // takes the call as contiguous with the block before).
    char* dst = nullptr;
    size_t room = 0;
    if (NextWrites()) {
      std::lock_guard<std::mutex> lock(mu_);
      if (Room() < block_max_ + kMargin) {
        // CanStep() said the ring's start is free: its end is skipped.
        skips_.emplace_back(written_, RingEnd());
        written_ = RingEnd();
      }
      dst = ring_.get() + written_ % capacity_;
      room = static_cast<size_t>(Room());
    }
    const size_t got =
        ZSTD_decompressContinue(dctx_, dst, room, input_.data() + in_pos_, n);
    in_pos_ += n;
    if (ZSTD_isError(got)) return Fail(Corrupt(ZSTD_getErrorName(got)));
    if (got == 0) return;
    std::lock_guard<std::mutex> lock(mu_);
    written_ += got;
    ready_.notify_one();
  }

  // The decoding thread: steps while it can, until the end, an error or
  // the reader going away.
  void Produce() {
    while (true) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        space_.wait(lock, [this] { return Over() || CanStep(); });
        if (Over()) return;
      }
      Step();
    }
  }

  std::unique_ptr<FdReader> in_;
  const bool fill_;
  const bool pumped_;
  ZSTD_DCtx* dctx_;
  // The decoding side's own: compressed input ([in_pos_, in_size_) unread)
  // and its next step.
  std::vector<char> input_;
  size_t in_pos_ = 0;
  size_t in_size_ = 0;
  bool in_eof_ = false;
  uint64_t pending_capacity_ = 0;  // kNewRing's
  uint64_t pending_window_ = 0;

  std::mutex mu_;
  std::condition_variable ready_;  // bytes decoded, the end, or an error
  std::condition_variable space_;  // bytes given back, or stop_
  // Under mu_: the ring and the positions in it. (next_ and block_max_ are
  // the decoding side's alone: the thread stepping, which CanStep runs on;
  // pumped, they pass between threads with stepping_, under mu_.)
  Next next_ = Next::kHeader;
  bool stepping_ = false;  // pumped: a thread is decoding
  std::unique_ptr<char[]> ring_;
  uint64_t capacity_ = 0;
  uint64_t window_ = 0;     // bytes kept behind the write position
  uint64_t block_max_ = 0;  // the frame's largest block
  uint64_t written_ = 0;    // virtual positions: decoded up to here,
  uint64_t read_ = 0;       // lent up to here,
  uint64_t released_ = 0;   // given back up to here
  // Ring ends skipped (from, to), in order, not yet passed by read_.
  std::deque<std::pair<uint64_t, uint64_t>> skips_;
  bool ended_ = false;
  bool stop_ = false;
  absl::Status error_;
  std::string_view unread_;  // Read's part of the last lent block
  std::thread thread_;       // last: starts once the rest is built
};

// Reads another source ahead on a thread of its own: chunks of up to
// kAheadChunk bytes (smaller at first), at most two of them waiting. Read
// copies out of the oldest; Lend hands it out in place.
class ReadAheadSource : public ByteSource {
 public:
  explicit ReadAheadSource(std::unique_ptr<ByteSource> source)
      : source_(std::move(source)), thread_([this] { Produce(); }) {}

  ~ReadAheadSource() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    space_.notify_all();
    thread_.join();
  }

  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    if (pos_ == current_.size) {
      absl::StatusOr<bool> more = Advance();
      if (!more.ok()) return more.status();
      if (!*more) return 0;
    }
    const size_t k = std::min(n, current_.size - pos_);
    std::memcpy(buf, current_.bytes.data() + pos_, k);
    pos_ += k;
    return k;
  }

  bool lends() const override { return true; }

  absl::StatusOr<std::string_view> Lend() override {
    if (pos_ == current_.size) {
      absl::StatusOr<bool> more = Advance();
      if (!more.ok()) return more.status();
      if (!*more) return std::string_view();
    }
    const std::string_view rest(current_.bytes.data() + pos_,
                                current_.size - pos_);
    pos_ = current_.size;
    return rest;
  }

 private:
  struct Chunk {
    std::string bytes;  // of at least `size` bytes
    size_t size = 0;    // 0: the end (or an error, in status)
    absl::Status status;
  };

  // Makes the next queued chunk current (the one before goes back to the
  // decoding thread): false at the end. An empty chunk is the end (or an
  // error) and stays current.
  absl::StatusOr<bool> Advance() {
    if (current_.size == 0 && taken_any_) {
      if (!current_.status.ok()) return current_.status;
      return false;
    }
    std::unique_lock<std::mutex> lock(mu_);
    ready_.wait(lock, [this] { return !chunks_.empty(); });
    if (!current_.bytes.empty()) spare_ = std::move(current_.bytes);
    current_ = std::move(chunks_.front());
    chunks_.pop_front();
    lock.unlock();
    space_.notify_one();
    taken_any_ = true;
    pos_ = 0;
    if (current_.size > 0) return true;
    if (!current_.status.ok()) return current_.status;
    return false;
  }

  void Produce() {
    size_t size = kChunk;  // of the next chunk
    while (true) {
      Chunk chunk;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (!spare_.empty()) chunk.bytes = std::move(spare_);
      }
      chunk.bytes.resize(size);
      // The sources fill what they are asked for; a short read only comes
      // at the end of the stream, or before an error.
      while (chunk.size < size) {
        absl::StatusOr<size_t> got =
            source_->Read(chunk.bytes.data() + chunk.size, size - chunk.size);
        if (!got.ok()) {
          chunk.status = got.status();
          break;
        }
        if (*got == 0) break;
        chunk.size += *got;
      }
      const bool last = chunk.size == 0 || !chunk.status.ok();
      if (chunk.size > 0 && !chunk.status.ok()) {
        // The bytes before the error first, then the error on its own.
        Chunk error;
        error.status = std::move(chunk.status);
        chunk.status = absl::OkStatus();
        if (!Push(std::move(chunk))) return;
        Push(std::move(error));
        return;
      }
      if (!Push(std::move(chunk)) || last) return;
      size = std::min(2 * size, kAheadChunk);
    }
  }

  // Queues a chunk once there is room; false when the reader is going away.
  bool Push(Chunk chunk) {
    std::unique_lock<std::mutex> lock(mu_);
    space_.wait(lock, [this] { return chunks_.size() < 2 || stop_; });
    if (stop_) return false;
    chunks_.push_back(std::move(chunk));
    lock.unlock();
    ready_.notify_one();
    return true;
  }

  std::unique_ptr<ByteSource> source_;
  std::mutex mu_;
  std::condition_variable ready_;  // a chunk is queued
  std::condition_variable space_;  // room in the queue, or stop
  std::deque<Chunk> chunks_;
  std::string spare_;  // a used chunk's buffer, for the next one
  bool stop_ = false;
  // The caller's side.
  Chunk current_;
  size_t pos_ = 0;
  bool taken_any_ = false;
  std::thread thread_;  // last: starts once the rest is built
};

}  // namespace

Compression DetectCompression(std::string_view head) {
  const auto byte = [head](size_t i) {
    return i < head.size() ? static_cast<unsigned char>(head[i]) : 0;
  };
  if (byte(0) == 0x1F && byte(1) == 0x8B) return Compression::kGzip;
  // A zstd frame, or a skippable one (50-5F 2A 4D 18; pzstd starts its
  // files with one).
  if (head.size() >= 4 && ((byte(0) == 0x28 && byte(1) == 0xB5 &&
                            byte(2) == 0x2F && byte(3) == 0xFD) ||
                           ((byte(0) & 0xF0) == 0x50 && byte(1) == 0x2A &&
                            byte(2) == 0x4D && byte(3) == 0x18))) {
    return Compression::kZstd;
  }
  return Compression::kNone;
}

absl::StatusOr<std::unique_ptr<ByteSource>> ByteSource::Open(
    const std::string& path, ReadAhead read_ahead) {
  std::unique_ptr<FdReader> in;
  if (path == "-") {
    in = std::make_unique<FdReader>(STDIN_FILENO, false, "-");
  } else {
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return absl::NotFoundError(
          absl::StrCat(path, ": cannot open: ", std::strerror(errno)));
    }
    in = std::make_unique<FdReader>(fd, true, path);
  }
  // A regular file never makes a read wait: decoders fill their reads and
  // may run ahead. A pipe or a terminal may (stdin from a slow producer).
  struct stat st;
  const bool regular = fstat(in->fd(), &st) == 0 && S_ISREG(st.st_mode);
  if (!regular) read_ahead = ReadAhead::kNone;
  auto head = in->Peek();
  if (!head.ok()) return head.status();
  switch (DetectCompression(*head)) {
    case Compression::kGzip: {
      std::unique_ptr<ByteSource> gzip(new GzipSource(std::move(in), regular));
      if (read_ahead != ReadAhead::kNone) {
        return std::make_unique<ReadAheadSource>(std::move(gzip));
      }
      return gzip;
    }
    case Compression::kZstd:
      return std::unique_ptr<ByteSource>(
          new ZstdRingSource(std::move(in), regular, read_ahead));
    case Compression::kNone:
      break;
  }
  return std::unique_ptr<ByteSource>(new PlainSource(std::move(in)));
}

absl::StatusOr<std::string_view> ByteSource::Lend() {
  return absl::UnimplementedError("this byte source does not lend its memory");
}

LineReader::LineReader(std::unique_ptr<ByteSource> source,
                       uint64_t max_line_bytes)
    : source_(std::move(source)),
      lends_(source_->lends()),
      max_line_bytes_(max_line_bytes),
      fill_(kChunk) {}

absl::Status LineReader::NextBlock() {
  pos_ = size_ = 0;
  if (lends_) {
    absl::StatusOr<std::string_view> got = source_->Lend();
    if (!got.ok()) return got.status();
    block_ = got->data();
    size_ = got->size();
  } else {
    if (buffer_.size() < fill_ + kLinePadding) {
      buffer_.resize(fill_ + kLinePadding);
    }
    absl::StatusOr<size_t> got = source_->Read(buffer_.data(), fill_);
    if (!got.ok()) return got.status();
    block_ = buffer_.data();
    size_ = *got;
    // A source that fills what it is asked for is asked for more next time,
    // up to kMaxFill; a small file never grows the buffer.
    if (size_ == fill_ && fill_ < kMaxFill) fill_ *= 2;
  }
  if (size_ == 0) eof_ = true;
  bytes_ += size_;
  return absl::OkStatus();
}

absl::StatusOr<bool> LineReader::Next(std::string_view* line, bool* too_long) {
  *too_long = false;
  carry_.clear();
  bool carried = false;  // the line began in an earlier block
  // Appends n bytes at p to carry_, up to max_line_bytes_.
  const auto carry = [&](const char* p, size_t n) {
    carried = true;
    if (*too_long) return;
    if (carry_.size() + n > max_line_bytes_) {
      *too_long = true;
      n = max_line_bytes_ - carry_.size();
    }
    carry_.append(p, n);
  };
  const auto carried_line = [&]() {
    carry_.reserve(carry_.size() + kLinePadding);
    *line = carry_;
    ++line_number_;
    return true;
  };
  while (true) {
    if (pos_ < size_) {
      const char* start = block_ + pos_;
      const void* nl = std::memchr(start, '\n', size_ - pos_);
      if (nl != nullptr) {
        size_t n = static_cast<const char*>(nl) - start;
        pos_ += n + 1;
        // A lent block's bytes after its end may be another thread's to
        // write: a line too close to the end for its padding is copied.
        if (carried || (lends_ && pos_ - 1 + kLinePadding > size_)) {
          carry(start, n);
          return carried_line();
        }
        if (n > max_line_bytes_) {
          *too_long = true;
          n = max_line_bytes_;
        }
        *line = std::string_view(start, n);
        ++line_number_;
        return true;
      }
      carry(start, size_ - pos_);
      pos_ = size_;
    }
    if (eof_) {
      // A last line without a newline.
      if (carried) return carried_line();
      return false;
    }
    absl::Status status = NextBlock();
    if (!status.ok()) return status;
  }
}

}  // namespace newsdedup::internal
