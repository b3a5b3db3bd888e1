// A layer being downloaded and unpacked at once: the BlobSink the registry client feeds (on the
// download thread) and the ByteSource the unpacker reads (on the layer's own thread), joined by
// a bounded queue of chunks. The sink pauses its transfer when the queue is full and the reader
// wakes it when there is room again, so memory stays bounded whatever the speeds.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "stack/engine/image/layer.h"
#include "stack/engine/image/registry.h"
#include "stack/engine/image/store.h"

namespace stack::engine::image::pull_detail {

class LayerStream final : public BlobSink, public ByteSource {
 public:
  static constexpr size_t kMaxQueuedBytes = 8u << 20;

  // `on_bytes` is told the running total of bytes received (for progress), on the download
  // thread. `writer` receives every byte and verifies the digest at the end.
  LayerStream(BlobWriter writer, std::function<void(uint64_t)> on_bytes)
      : writer_(std::move(writer)), on_bytes_(std::move(on_bytes)) {}

  // Set once the fetch has started; the reader uses it to resume a paused transfer.
  void attach(BlobFetch* fetch, size_t index);

  // BlobSink (download thread).
  Result<Action> data(const char* bytes, size_t size) override;
  void done(const Status& status) override;

  // ByteSource (unpack thread): 0 only after the blob was committed (digest verified); the
  // download's or the digest's error otherwise.
  Result<size_t> read(void* buffer, size_t size) override;
  // Reads to the end of the stream (what the tar reader left: padding, a gzip trailer), so that
  // the verdict on the blob's digest is known.
  Status drain();
  // The unpacker failed: stop the download (its next delivery fails) and drop the ingest file.
  void abort(const Error& why);

  // After done(): the download's outcome (ok = the blob is committed to the store).
  std::optional<Status> outcome() const;

 private:
  void wake_locked_out(std::unique_lock<std::mutex>& lock);

  BlobWriter writer_;
  std::function<void(uint64_t)> on_bytes_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  size_t queued_ = 0;
  size_t front_used_ = 0;  // bytes of queue_.front() already read
  bool paused_ = false;
  std::optional<Status> finished_;  // set by done()
  std::optional<Error> aborted_;    // set by abort()
  BlobFetch* fetch_ = nullptr;
  size_t index_ = 0;
  uint64_t received_ = 0;
};

}  // namespace stack::engine::image::pull_detail
