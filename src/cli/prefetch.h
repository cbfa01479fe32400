// Reads records ahead of the caller: on a thread of its own when asked, so that
// the record pass of the exact passages (passages.h) does not wait for
// decompression and JSON parsing. Records come out in input order either way.
#ifndef NEWSDEDUP_CLI_PREFETCH_H_
#define NEWSDEDUP_CLI_PREFETCH_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "newsdedup/document.h"
#include "newsdedup/reader.h"

namespace newsdedup::cli {

class Prefetcher {
 public:
  struct Item {
    Document doc;
    uint64_t bytes_read = 0;  // input bytes read up to this record
  };

  // `reader` must outlive the prefetcher and is used by it alone.
  Prefetcher(Reader* reader, bool threaded) : reader_(reader) {
    if (threaded) thread_ = std::thread([this] { Produce(); });
  }

  ~Prefetcher() {
    if (thread_.joinable()) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        stop_ = true;
      }
      space_.notify_all();
      thread_.join();
    }
  }

  Prefetcher(const Prefetcher&) = delete;
  Prefetcher& operator=(const Prefetcher&) = delete;

  // The next record; false at the end.
  absl::StatusOr<bool> Next(Item* out) {
    if (pos_ == batch_.size()) {
      batch_.clear();
      pos_ = 0;
      if (thread_.joinable()) {
        std::unique_lock<std::mutex> lock(mu_);
        ready_.wait(lock, [this] { return !queue_.empty() || done_; });
        if (queue_.empty()) return status_;
        batch_ = std::move(queue_.front());
        queue_.pop_front();
        lock.unlock();
        space_.notify_one();
      } else {
        absl::Status s = Fill(&batch_);
        if (!s.ok()) return s;
        if (batch_.empty()) return false;
      }
      if (batch_.empty()) return false;
    }
    *out = std::move(batch_[pos_++]);
    return true;
  }

 private:
  static constexpr size_t kBatch = 64;
  static constexpr size_t kQueued = 8;

  // Reads up to kBatch records into *batch (empty at the end).
  absl::Status Fill(std::vector<Item>* batch) {
    while (batch->size() < kBatch) {
      Item item;
      auto more = reader_->Next(&item.doc);
      if (!more.ok()) return more.status();
      if (!*more) break;
      item.bytes_read = reader_->bytes();
      batch->push_back(std::move(item));
    }
    return absl::OkStatus();
  }

  void Produce() {
    while (true) {
      std::vector<Item> batch;
      absl::Status s = Fill(&batch);
      std::unique_lock<std::mutex> lock(mu_);
      space_.wait(lock, [this] { return queue_.size() < kQueued || stop_; });
      if (stop_) return;
      if (!s.ok() || batch.empty()) {
        status_ =
            s.ok() ? absl::StatusOr<bool>(false) : absl::StatusOr<bool>(s);
        done_ = true;
        lock.unlock();
        ready_.notify_one();
        return;
      }
      queue_.push_back(std::move(batch));
      lock.unlock();
      ready_.notify_one();
    }
  }

  Reader* reader_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable ready_;  // a batch or the end is there
  std::condition_variable space_;  // the queue has room, or stop
  std::deque<std::vector<Item>> queue_;
  absl::StatusOr<bool> status_ = false;  // what Next says at the end
  bool done_ = false;
  bool stop_ = false;
  std::vector<Item> batch_;  // the caller's current batch
  size_t pos_ = 0;
};

}  // namespace newsdedup::cli

#endif  // NEWSDEDUP_CLI_PREFETCH_H_
