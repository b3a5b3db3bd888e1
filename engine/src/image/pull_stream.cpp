#include "image/pull_stream.h"

#include <cstring>

namespace stack::engine::image::pull_detail {

void LayerStream::attach(BlobFetch* fetch, size_t index) {
  std::lock_guard lock(mu_);
  fetch_ = fetch;
  index_ = index;
}

Result<BlobSink::Action> LayerStream::data(const char* bytes, size_t size) {
  {
    std::lock_guard lock(mu_);
    if (aborted_) return *aborted_;
    // Take the chunk whole or not at all (the sink contract). An oversized chunk is taken when
    // the queue is empty, so a chunk larger than the bound cannot stall the stream.
    if (queued_ > 0 && queued_ + size > kMaxQueuedBytes) {
      paused_ = true;
      return Action::kPause;
    }
  }
  // Hash and write outside the lock: the reader keeps consuming meanwhile.
  STACK_TRY_VOID(writer_.write(bytes, size));
  received_ += size;
  {
    std::lock_guard lock(mu_);
    queue_.emplace_back(bytes, size);
    queued_ += size;
  }
  cv_.notify_one();
  if (on_bytes_) on_bytes_(received_);
  return Action::kContinue;
}

void LayerStream::done(const Status& status) {
  Status outcome = status;
  bool aborted;
  {
    std::lock_guard lock(mu_);
    aborted = aborted_.has_value();
  }
  if (outcome.ok() && !aborted) {
    auto committed = writer_.commit();  // verifies size and digest; fsyncs; publishes
    if (!committed.ok()) outcome = std::move(committed).error();
  } else if (aborted || outcome.error().code == EILSEQ) {
    writer_.abort();  // rejected content: nothing to resume
  } else {
    // Transport failure: the partial file stays in ingest/ for the next pull to resume; the
    // writer is released here so that its lock goes now.
    BlobWriter released = std::move(writer_);
  }
  if (outcome.ok() && aborted) outcome = Error(ECANCELED, "cancelled");
  {
    std::lock_guard lock(mu_);
    finished_ = std::move(outcome);
  }
  cv_.notify_all();
}

Result<size_t> LayerStream::read(void* buffer, size_t size) {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return queued_ > 0 || finished_ || aborted_; });
  if (aborted_) return *aborted_;
  if (queued_ == 0) {
    if (!finished_->ok()) return finished_->error();
    return size_t{0};
  }
  std::string& front = queue_.front();
  size_t n = std::min(size, front.size() - front_used_);
  std::memcpy(buffer, front.data() + front_used_, n);
  front_used_ += n;
  queued_ -= n;
  if (front_used_ == front.size()) {
    queue_.pop_front();
    front_used_ = 0;
  }
  // Resume a paused download once half the queue is free, not at every byte.
  if (paused_ && queued_ <= kMaxQueuedBytes / 2) wake_locked_out(lock);
  return n;
}

void LayerStream::wake_locked_out(std::unique_lock<std::mutex>& lock) {
  paused_ = false;
  BlobFetch* fetch = fetch_;
  size_t index = index_;
  lock.unlock();
  if (fetch) fetch->wake(index);
}

Status LayerStream::drain() {
  char buf[64 * 1024];
  for (;;) {
    STACK_TRY(size_t n, read(buf, sizeof buf));
    if (n == 0) return {};
  }
}

void LayerStream::abort(const Error& why) {
  std::unique_lock lock(mu_);
  if (!aborted_) aborted_ = why;
  queue_.clear();
  queued_ = 0;
  front_used_ = 0;
  cv_.notify_all();
  // A paused transfer must run once more to hear about it.
  if (paused_) wake_locked_out(lock);
}

std::optional<Status> LayerStream::outcome() const {
  std::lock_guard lock(mu_);
  return finished_;
}

}  // namespace stack::engine::image::pull_detail
