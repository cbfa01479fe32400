// Progress on stderr for long runs: a bar that redraws itself on a terminal,
// a plain line every 30 seconds otherwise (logs stay readable).
#ifndef NEWSDEDUP_CLI_PROGRESS_H_
#define NEWSDEDUP_CLI_PROGRESS_H_

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace newsdedup::cli {

class Progress {
 public:
  // `enabled`: false for --quiet.
  Progress(std::string label, bool enabled)
      : label_(std::move(label)),
        enabled_(enabled),
        tty_(isatty(STDERR_FILENO) != 0),
        start_(Clock::now()),
        last_(start_) {}

  // Called often; draws at most every 0.2 s (TTY) or 30 s (not a TTY).
  void Update(uint64_t records, uint64_t bytes) {
    if (!enabled_ || (++calls_ & 255) != 0) return;
    const auto now = Clock::now();
    const double since = std::chrono::duration<double>(now - last_).count();
    if (since < (tty_ ? 0.2 : 30.0)) return;
    last_ = now;
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const double mb = bytes / 1e6;
    if (tty_) {
      static const char kSpin[] = "|/-\\";
      std::fprintf(stderr, "\r%c %s: %llu records, %.1f MB, %.1f MB/s   ",
                   kSpin[(spin_++) & 3], label_.c_str(),
                   static_cast<unsigned long long>(records), mb,
                   elapsed > 0 ? mb / elapsed : 0.0);
      drawn_ = true;
    } else {
      std::fprintf(stderr, "%s: %llu records, %.1f MB, %.0f s\n",
                   label_.c_str(), static_cast<unsigned long long>(records), mb,
                   elapsed);
    }
  }

  // Clears the bar before the summary is printed.
  void Done() {
    if (drawn_) std::fprintf(stderr, "\r\033[K");
    drawn_ = false;
  }

 private:
  using Clock = std::chrono::steady_clock;
  std::string label_;
  bool enabled_;
  bool tty_;
  Clock::time_point start_;
  Clock::time_point last_;
  uint64_t calls_ = 0;
  unsigned spin_ = 0;
  bool drawn_ = false;
};

}  // namespace newsdedup::cli

#endif  // NEWSDEDUP_CLI_PROGRESS_H_
