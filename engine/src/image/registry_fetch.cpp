// RegistryClient::fetch_blobs: parallel blob downloads on one curl multi handle, with pausing
// sinks (woken from other threads), resume by Range after a broken transfer, and retries.
#include <atomic>
#include <chrono>
#include <deque>
#include <thread>

#include "image/registry_internal.h"

namespace stack::engine::image {

using registry_detail::ClientCore;
using registry_detail::HttpResponse;
using registry_detail::Target;
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kMaxErrorBody = 64u << 10;
constexpr int kIdlePollMs = 1000;

struct Transfer {
  BlobTransfer* blob = nullptr;
  std::string what;
  uint64_t delivered = 0;      // bytes the sink holds
  uint64_t attempt_start = 0;  // delivered when the current attempt began
  int failures = 0;            // consecutive failed attempts without progress
  bool auth_retried = false;
  bool finished = false;
  bool paused = false;
  Clock::time_point not_before{};
  // Per attempt.
  CURL* easy = nullptr;
  struct curl_slist* headers = nullptr;
  bool body_started = false;
  long status = 0;
  uint64_t skip = 0;  // leading bytes of a 200 reply the sink already has
  std::vector<std::pair<std::string, std::string>> reply_headers;
  std::string error_body;
  std::optional<Error> abort;  // a failure that must not be retried (sink error, too long)
  char errbuf[CURL_ERROR_SIZE] = {0};

  HttpResponse response() const {
    HttpResponse r;
    r.status = status;
    r.headers = reply_headers;
    r.body = error_body;
    return r;
  }
};

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  if (auto parsed = registry_detail::parse_header_line(std::string_view(data, size * n))) {
    if (parsed->first.empty()) {
      t->reply_headers.clear();  // the next response of a redirect chain
    } else {
      t->reply_headers.push_back(std::move(*parsed));
    }
  }
  return size * n;
}

std::string header_of(const Transfer& t, std::string_view name) {
  for (const auto& [k, v] : t.reply_headers) {
    if (k == name) return v;
  }
  return {};
}

size_t on_write(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t len = size * n;
  if (!t->body_started) {
    t->body_started = true;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &t->status);
    if (t->status == 200 || t->status == 206) {
      auto skip = registry_detail::resume_skip(t->status, t->delivered,
                                               header_of(*t, "content-range"));
      if (!skip.ok()) {
        t->abort = Error(EPROTO, t->what + ": " + skip.error().message);
        return 0;
      }
      t->skip = *skip;
    }
  }
  if (t->status != 200 && t->status != 206) {
    size_t room = kMaxErrorBody - std::min(kMaxErrorBody, t->error_body.size());
    t->error_body.append(data, std::min(room, len));
    return len;
  }
  // libcurl offers the very same bytes again after a pause: change no state before the sink
  // has taken them.
  size_t skip_now = static_cast<size_t>(std::min<uint64_t>(t->skip, len));
  size_t rest = len - skip_now;
  if (rest > 0) {
    int64_t expected = t->blob->descriptor.size;
    if (expected >= 0 && t->delivered + rest > static_cast<uint64_t>(expected)) {
      t->abort = Error(EILSEQ, t->what + ": registry sent more than the expected " +
                                   std::to_string(expected) + " bytes");
      return 0;
    }
    auto action = t->blob->sink->data(data + skip_now, rest);
    if (!action.ok()) {
      t->abort = std::move(action).error();
      return 0;
    }
    if (*action == BlobSink::Action::kPause) {
      t->paused = true;
      return CURL_WRITEFUNC_PAUSE;
    }
    t->delivered += rest;
  }
  t->skip -= skip_now;
  return len;
}

class Fetcher final : public BlobFetch {
 public:
  Fetcher(ClientCore& core, const Reference& repo, Target target,
          std::vector<BlobTransfer>& blobs, size_t max_parallel)
      : core_(core),
        repo_(repo),
        target_(std::move(target)),
        transfers_(blobs.size()),
        wake_(new std::atomic<bool>[blobs.size()]),
        max_parallel_(std::max<size_t>(max_parallel, 1)) {
    multi_ = curl_multi_init();
    curl_multi_setopt(multi_, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
    for (size_t i = 0; i < blobs.size(); ++i) {
      transfers_[i].blob = &blobs[i];
      transfers_[i].what = repo.name() + "@" + blobs[i].descriptor.digest;
      transfers_[i].delivered = blobs[i].offset;
      wake_[i].store(false);
    }
  }
  ~Fetcher() override {
    for (auto& t : transfers_) stop(t);
    curl_multi_cleanup(multi_);
  }

  void wake(size_t index) override {
    if (index >= transfers_.size()) return;
    wake_[index].store(true);
    curl_multi_wakeup(multi_);
  }
  void cancel() override {
    cancelled_.store(true);
    curl_multi_wakeup(multi_);
  }

  Status run();

 private:
  void finish(Transfer& t, Status status);
  // Until the next pending transfer may start (0 if one may now), at most kIdlePollMs.
  int poll_timeout_ms() const;
  void stop(Transfer& t);
  Status start(Transfer& t);
  void completed(Transfer& t, CURLcode rc);
  void schedule_retry(Transfer& t, CURLcode rc, long status, const std::string& retry_after,
                      Error error);

  ClientCore& core_;
  const Reference& repo_;
  Target target_;
  std::string scheme_;
  std::vector<Transfer> transfers_;
  std::unique_ptr<std::atomic<bool>[]> wake_;
  std::deque<size_t> pending_;
  size_t max_parallel_;
  size_t running_ = 0;
  size_t unfinished_ = 0;
  CURLM* multi_ = nullptr;
  std::atomic<bool> cancelled_{false};
  Status first_error_;
};

void Fetcher::stop(Transfer& t) {
  if (t.easy != nullptr) {
    curl_multi_remove_handle(multi_, t.easy);
    curl_easy_cleanup(t.easy);
    t.easy = nullptr;
    --running_;
  }
  curl_slist_free_all(t.headers);
  t.headers = nullptr;
  t.paused = false;
}

void Fetcher::finish(Transfer& t, Status status) {
  stop(t);
  if (t.finished) return;
  t.finished = true;
  --unfinished_;
  if (!status.ok() && first_error_.ok()) first_error_ = status;
  t.blob->sink->done(status);
}

Status Fetcher::start(Transfer& t) {
  t.easy = curl_easy_init();
  if (t.easy == nullptr) return Error(ENOMEM, t.what + ": cannot create a curl handle");
  ++running_;
  t.body_started = false;
  t.status = 0;
  t.skip = 0;
  t.reply_headers.clear();
  t.error_body.clear();
  t.abort.reset();
  t.errbuf[0] = 0;
  t.attempt_start = t.delivered;
  CURL* e = t.easy;
  registry_detail::apply_common_options(e, core_.options(), target_.host);
  std::string url = registry_detail::api_url(scheme_, target_.host,
                                             repo_.path + "/blobs/" + t.blob->descriptor.digest);
  curl_easy_setopt(e, CURLOPT_URL, url.c_str());
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
  // Wait for an HTTP/2 connection to multiplex on rather than opening one per blob.
  curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t.errbuf);
  curl_easy_setopt(e, CURLOPT_PRIVATE, &t);
  if (t.delivered > 0) {
    std::string range = std::to_string(t.delivered) + "-";
    curl_easy_setopt(e, CURLOPT_RANGE, range.c_str());  // copied by libcurl
  }
  if (std::string auth = core_.cached_auth(target_); !auth.empty()) {
    t.headers = curl_slist_append(t.headers, ("Authorization: " + auth).c_str());
  }
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, t.headers);
  if (curl_multi_add_handle(multi_, e) != CURLM_OK) {
    return Error(ENOMEM, t.what + ": cannot start the transfer");
  }
  return {};
}

void Fetcher::schedule_retry(Transfer& t, CURLcode rc, long status,
                             const std::string& retry_after, Error error) {
  stop(t);
  if (t.delivered > t.attempt_start) t.failures = 0;  // progress: a fresh budget of attempts
  ++t.failures;
  auto decision = core_.retry_decision(t.failures, rc, status, retry_after);
  if (!decision.retry) {
    finish(t, std::move(error));
    return;
  }
  t.not_before = Clock::now() + std::chrono::milliseconds(decision.delay_ms);
  pending_.push_back(static_cast<size_t>(&t - transfers_.data()));
}

void Fetcher::completed(Transfer& t, CURLcode rc) {
  if (t.abort) {
    finish(t, std::move(*t.abort));
    return;
  }
  if (rc != CURLE_OK) {
    long os_errno = 0;
    curl_easy_getinfo(t.easy, CURLINFO_OS_ERRNO, &os_errno);
    registry_detail::TransportFailure f{rc, static_cast<int>(os_errno),
                                        t.errbuf[0] ? t.errbuf : curl_easy_strerror(rc)};
    schedule_retry(t, rc, 0, "", registry_detail::transport_error(t.what, f));
    return;
  }
  if (t.status == 0) curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &t.status);
  int64_t size = t.blob->descriptor.size;
  if (t.status == 200 || t.status == 206) {
    if (size >= 0 && t.delivered < static_cast<uint64_t>(size)) {
      // The server ended the body early without an error: resume like after a reset.
      schedule_retry(t, CURLE_PARTIAL_FILE, 0, "",
                     Error(ECONNRESET, t.what + ": transfer ended after " +
                                           std::to_string(t.delivered) + " of " +
                                           std::to_string(size) + " bytes"));
      return;
    }
    finish(t, {});
    return;
  }
  HttpResponse reply = t.response();
  if (t.status == 401 && !t.auth_retried) {
    t.auth_retried = true;
    stop(t);
    core_.forget_auth(target_);
    auto auth = core_.authenticate(target_, reply);
    if (!auth.ok()) {
      finish(t, std::move(auth).error());
      return;
    }
    pending_.push_front(static_cast<size_t>(&t - transfers_.data()));
    return;
  }
  if (registry_detail::is_transient_status(t.status)) {
    schedule_retry(t, CURLE_OK, t.status, reply.header("retry-after"),
                   registry_detail::status_error(t.what, reply));
    return;
  }
  finish(t, registry_detail::status_error(t.what, reply));
}

int Fetcher::poll_timeout_ms() const {
  if (running_ >= max_parallel_) return kIdlePollMs;
  auto now = Clock::now();
  long best = kIdlePollMs;
  for (size_t i : pending_) {
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(
        transfers_[i].not_before - now);
    best = std::min<long>(best, std::max<long>(0, static_cast<long>(wait.count()) + 1));
  }
  return static_cast<int>(best);
}

Status Fetcher::run() {
  unfinished_ = transfers_.size();
  if (multi_ == nullptr) {
    for (auto& t : transfers_) finish(t, Error(ENOMEM, t.what + ": cannot create a multi handle"));
    return first_error_;
  }
  for (size_t i = 0; i < transfers_.size(); ++i) {
    Transfer& t = transfers_[i];
    int64_t size = t.blob->descriptor.size;
    if (size >= 0 && t.delivered > static_cast<uint64_t>(size)) {
      finish(t, Error(EILSEQ, t.what + ": " + std::to_string(t.delivered) +
                                  " bytes already held, more than the blob's size"));
    } else if (size >= 0 && t.delivered == static_cast<uint64_t>(size)) {
      finish(t, {});  // nothing left to fetch; the sink verifies what it holds
    } else {
      pending_.push_back(i);
    }
  }
  if (!pending_.empty()) {
    // Learn the scheme and get a token once, rather than a 401 per blob.
    if (auto ready = core_.prepare(target_); !ready.ok()) {
      for (auto& t : transfers_) finish(t, ready);
      return first_error_;
    }
    scheme_ = core_.known_scheme(target_.host);
  }
  while (unfinished_ > 0) {
    if (cancelled_.load()) {
      for (auto& t : transfers_) finish(t, Error(ECANCELED, t.what + ": download cancelled"));
      break;
    }
    auto now = Clock::now();
    for (size_t k = pending_.size(); k > 0 && running_ < max_parallel_; --k) {
      size_t i = pending_.front();
      pending_.pop_front();
      Transfer& t = transfers_[i];
      if (t.not_before > now) {
        pending_.push_back(i);  // still backing off
        continue;
      }
      if (auto s = start(t); !s.ok()) finish(t, std::move(s));
    }
    int still = 0;
    curl_multi_perform(multi_, &still);
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      Transfer* t = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&t));
      CURLcode rc = msg->data.result;
      if (t != nullptr) completed(*t, rc);
    }
    for (size_t i = 0; i < transfers_.size(); ++i) {
      if (!wake_[i].exchange(false)) continue;
      Transfer& t = transfers_[i];
      if (!t.paused || t.easy == nullptr) continue;  // stale: the sink was not paused
      t.paused = false;
      // May call on_write at once with the held-back bytes (which may pause again).
      curl_easy_pause(t.easy, CURLPAUSE_CONT);
    }
    if (unfinished_ == 0) break;
    curl_multi_poll(multi_, nullptr, 0, poll_timeout_ms(), nullptr);
  }
  return first_error_;
}

}  // namespace

Status RegistryClient::fetch_blobs(const Reference& repo, std::vector<BlobTransfer>& transfers,
                                   size_t max_parallel,
                                   const std::function<void(BlobFetch&)>& started) {
  for (const auto& t : transfers) {
    if (t.sink == nullptr) {
      Error e(EINVAL, repo.name() + "@" + t.descriptor.digest + ": no sink for the blob");
      for (auto& other : transfers) {
        if (other.sink != nullptr) other.sink->done(e);
      }
      return e;
    }
  }
  Fetcher fetch(impl_->core, repo, Impl::target(repo, false, repo.name()), transfers,
                max_parallel);
  if (started) started(fetch);
  return fetch.run();
}

}  // namespace stack::engine::image
