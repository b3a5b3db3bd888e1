// RegistryClient's push half: blob existence, cross-repository mounts, monolithic and chunked
// uploads (restarted from the beginning after a transient failure), and manifests.
#include <thread>

#include "image/registry_internal.h"
#include "stack/common/sha256.h"

namespace stack::engine::image {

using registry_detail::HttpRequest;
using registry_detail::HttpResponse;
using registry_detail::Target;

namespace {

constexpr std::string_view kOctetStream = "Content-Type: application/octet-stream";

bool transient_code(int code) {
  return code == ECONNRESET || code == ETIMEDOUT || code == ECONNREFUSED ||
         code == EHOSTUNREACH;
}

// One upload attempt; `transient` says whether starting over may help.
struct Upload {
  registry_detail::ClientCore& core;
  const Reference& repo;
  const Descriptor& blob;
  const std::function<Result<size_t>(char*, size_t)>& read;
  size_t chunk_size;
  Target target;
  std::string what;
  bool transient = false;

  Error fail(const HttpResponse& resp) {
    transient = registry_detail::is_transient_status(resp.status) || resp.status == 401;
    return registry_detail::status_error(what, resp);
  }
  Error fail(Error e) {
    transient = transient_code(e.code);
    return e;
  }

  // The next upload URL from a reply's Location, relative to the request that got it.
  Result<std::string> next_location(const HttpResponse& resp, const std::string& request_url) {
    std::string loc = resp.header("location");
    if (loc.empty()) {
      return Error(EPROTO, what + ": registry sent no upload Location (HTTP " +
                               std::to_string(resp.status) + ")");
    }
    std::string base = resp.effective_url.empty() ? request_url : resp.effective_url;
    return registry_detail::resolve_location(base, loc);
  }

  // Reads up to `n` bytes, looping over short reads; fewer only at the end.
  Result<size_t> fill(char* buf, size_t n) {
    size_t got = 0;
    while (got < n) {
      STACK_TRY(size_t k, read(buf + got, n - got));
      if (k == 0) break;
      got += k;
    }
    return got;
  }

  Status run() {
    HttpRequest start;
    start.method = "POST";
    start.url = repo.path + "/blobs/uploads/";
    auto started = core.request(target, start);
    if (!started.ok()) return fail(std::move(started).error());
    if (started->status != 202) return fail(*started);
    STACK_TRY(std::string loc, next_location(*started, started->effective_url));

    uint64_t sent = 0;
    std::string body;
    HttpRequest put;
    put.method = "PUT";
    put.headers.push_back(std::string(kOctetStream));
    if (chunk_size == 0 && blob.size >= 0) {
      put.body_reader = read;  // streamed: layers can be large
      put.body_size = blob.size;
      sent = static_cast<uint64_t>(blob.size);
    } else if (chunk_size == 0) {
      std::vector<char> buf(1u << 20);
      for (;;) {
        STACK_TRY(size_t n, fill(buf.data(), buf.size()));
        if (n == 0) break;
        body.append(buf.data(), n);
      }
      sent = body.size();
    } else {
      std::vector<char> buf(chunk_size);
      for (;;) {
        STACK_TRY(size_t n, fill(buf.data(), buf.size()));
        if (n == 0) break;
        HttpRequest patch;
        patch.method = "PATCH";
        patch.url = loc;
        patch.body = std::string_view(buf.data(), n);
        patch.headers = {std::string(kOctetStream),
                         "Content-Range: " + registry_detail::upload_content_range(sent, n)};
        // Not retried alone: the server may hold part of a broken chunk; start over instead.
        auto r = core.request(target, patch, /*retry=*/false);
        if (!r.ok()) return fail(std::move(r).error());
        if (r->status != 202) return fail(*r);
        STACK_TRY(loc, next_location(*r, loc));
        sent += n;
      }
    }
    if (blob.size >= 0 && sent != static_cast<uint64_t>(blob.size)) {
      return Error(EILSEQ, what + ": source gave " + std::to_string(sent) + " bytes, expected " +
                               std::to_string(blob.size));
    }
    put.url = registry_detail::append_query(loc, "digest", blob.digest);
    put.body = body;
    auto done = core.request(target, put, /*retry=*/false);
    if (!done.ok()) return fail(std::move(done).error());
    if (done->status != 201 && done->status != 204) return fail(*done);
    if (put.body_reader) {
      char extra;
      STACK_TRY(size_t n, read(&extra, 1));
      if (n != 0) {
        return Error(EILSEQ, what + ": source is longer than " + std::to_string(blob.size) +
                                 " bytes");
      }
    }
    return {};
  }
};

}  // namespace

Result<bool> RegistryClient::blob_exists(const Reference& repo, std::string_view digest) {
  std::string what = repo.name() + "@" + std::string(digest);
  HttpRequest req;
  req.method = "HEAD";
  req.url = repo.path + "/blobs/" + std::string(digest);
  req.follow_redirects = true;
  STACK_TRY(HttpResponse resp, impl_->core.request(Impl::target(repo, true, what), req));
  if (resp.status == 200) return true;
  if (resp.status == 404) return false;
  return registry_detail::status_error(what, resp);
}

Result<bool> RegistryClient::mount_blob(const Reference& repo, std::string_view digest,
                                        std::string_view from_repo_path) {
  std::string what = repo.name() + "@" + std::string(digest);
  Target target = Impl::target(repo, true, what);
  target.scopes.push_back(registry_detail::repository_scope(from_repo_path, false));
  HttpRequest req;
  req.method = "POST";
  req.url = registry_detail::append_query(repo.path + "/blobs/uploads/", "mount", digest);
  req.url = registry_detail::append_query(req.url, "from", from_repo_path);
  STACK_TRY(HttpResponse resp, impl_->core.request(target, req));
  if (resp.status == 201) return true;
  if (resp.status != 202) return registry_detail::status_error(what, resp);
  // Not mounted: the registry opened an upload session instead, which we do not want.
  if (std::string loc = resp.header("location"); !loc.empty()) {
    HttpRequest del;
    del.method = "DELETE";
    del.url = registry_detail::resolve_location(resp.effective_url, loc);
    (void)impl_->core.request(target, del, /*retry=*/false);  // best effort: sessions expire
  }
  return false;
}

Status RegistryClient::upload_blob(const Reference& repo, const Descriptor& blob,
                                   const std::function<Result<size_t>(char*, size_t)>& read,
                                   const std::function<Status()>& rewind, size_t chunk_size) {
  std::string what = repo.name() + "@" + blob.digest;
  auto& core = impl_->core;
  for (int attempt = 1;; ++attempt) {
    if (attempt > 1) STACK_TRY_VOID(rewind());
    Upload up{core, repo, blob, read, chunk_size, Impl::target(repo, true, what), what};
    Status s = up.run();
    if (s.ok()) return s;
    if (!up.transient || !rewind) return s;
    auto decision = core.retry_decision(attempt, CURLE_COULDNT_CONNECT, 0, "");
    if (!decision.retry) return s;
    std::this_thread::sleep_for(std::chrono::milliseconds(decision.delay_ms));
  }
}

Result<std::string> RegistryClient::put_manifest(const Reference& ref, std::string_view media_type,
                                                 std::string_view body) {
  std::string what = ref.string();
  std::string digest = "sha256:" + sha256_hex(body);
  if (!ref.digest.empty() && ref.digest != digest) {
    return Error(EILSEQ, what + ": digest mismatch: the manifest's digest is " + digest);
  }
  HttpRequest req;
  req.method = "PUT";
  req.url = ref.path + "/manifests/" + (ref.digest.empty() ? ref.tag : ref.digest);
  req.body = body;
  req.headers.push_back("Content-Type: " + std::string(media_type));
  STACK_TRY(HttpResponse resp, impl_->core.request(Impl::target(ref, true, what), req));
  if (resp.status != 201 && resp.status != 200) return registry_detail::status_error(what, resp);
  std::string reported = resp.header("docker-content-digest");
  if (reported.starts_with("sha256:") && reported != digest) {
    return Error(EILSEQ, what + ": registry reports digest " + reported + ", expected " + digest);
  }
  return digest;
}

}  // namespace stack::engine::image
