// A client of the OCI distribution API (registries such as Docker Hub, GHCR, the CNCF
// Distribution registry) over libcurl: manifests, blobs, uploads, and the auth flows (anonymous,
// Basic, Bearer tokens from WWW-Authenticate challenges). See docs/images.md "Registries".
//
// Transport: HTTPS; plain HTTP only for loopback hosts (localhost, 127.0.0.0/8, ::1: tried in
// plain HTTP first, then HTTPS, as containerd does for localhost) and for hosts listed in
// RegistryOptions::insecure_registries (only after HTTPS failed to connect or handshake,
// Docker's fallback). HTTP/2 is used where the
// server offers it over TLS. Transient failures (connect errors, resets, timeouts, HTTP 408,
// 429, 5xx) are retried with exponential back-off; a blob download that broke part-way resumes
// with a Range request from the last byte delivered.
//
// Errors start with what was asked for and name the cause, e.g.
//   "127.0.0.1:5000/app:1: manifest unknown (HTTP 404)"
//   "registry.example:443: authentication required (HTTP 401): unauthorized: …"
//   "127.0.0.1:1: cannot connect: Connection refused"
// with codes ENOENT (unknown manifest, blob or repository), EACCES (401/403), ECONNREFUSED /
// EHOSTUNREACH / ETIMEDOUT (transport), EILSEQ (digest or size mismatch, malformed reply),
// EPROTO (other unexpected HTTP statuses).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stack/common/result.h"
#include "stack/engine/image/image_config.h"
#include "stack/engine/image/reference.h"

namespace stack::engine::image {

struct Credentials {
  std::string username;
  std::string password;
  std::string identity_token;  // OAuth2 refresh token ("identitytoken" in config.json)
  bool empty() const { return username.empty() && password.empty() && identity_token.empty(); }
};

// Docker's client configuration file: $DOCKER_CONFIG/config.json, else ~/.docker/config.json.
// Only "auths" is interpreted (base64 "user:password" in "auth", or "username"/"password",
// "identitytoken"); every other key is kept untouched when the file is rewritten.
// Docker Hub's entry is looked up as "https://index.docker.io/v1/" as well as "docker.io".
class CredentialStore {
 public:
  // The default path from the environment ($DOCKER_CONFIG, $HOME).
  static std::string default_path();
  // A missing file is an empty store; a malformed one is an error naming the file.
  static Result<CredentialStore> load(const std::string& path);

  std::optional<Credentials> get(std::string_view registry_host) const;
  // Rewrite the file atomically (mode 0600, directory created 0700 if missing).
  Status set(std::string_view registry_host, const Credentials& creds);
  // ENOENT "not logged in to <host>" when there is no entry.
  Status erase(std::string_view registry_host);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::string json_;  // the whole document, so unknown keys survive a rewrite
};

struct RegistryOptions {
  std::vector<std::string> insecure_registries;  // "host[:port]" allowed over plain HTTP
  // Credentials for a registry host ("docker.io", "127.0.0.1:5000"); empty = anonymous.
  std::function<std::optional<Credentials>(const std::string& registry_host)> credentials;
  int max_attempts = 5;           // per request, the first one included
  int backoff_initial_ms = 200;   // doubled per retry, with jitter, capped at 5 s
  long connect_timeout_ms = 15'000;
  long low_speed_timeout_s = 30;  // abort (and retry) a transfer slower than 1 KiB/s this long
  std::string ca_file;            // a CA bundle used instead of the system's (tests)
  // Per-registry CAs in Docker's layout: <certs_dir>/<host[:port]>/ca.crt is trusted for that
  // registry on top of the system's CAs (/etc/docker/certs.d for Docker). Empty = none.
  std::string certs_dir;
  std::string user_agent;         // empty = "stack/<version>"
};

// A manifest (or index) as fetched: the exact bytes, the media type and their digest.
struct FetchedManifest {
  std::string body;
  std::string media_type;  // from Content-Type, or the document's own mediaType
  std::string digest;      // "sha256:…" computed over body; checked against the reference's
                           // digest and the Docker-Content-Digest header when present
};

// Where the bytes of a blob download go. Called on the thread running fetch_blobs().
class BlobSink {
 public:
  enum class Action { kContinue, kPause };
  virtual ~BlobSink() = default;
  // The next bytes of the blob, in order. Return kContinue when all `size` bytes were taken, or
  // kPause having taken none: the fetcher stops delivering to this sink and offers the same
  // bytes again after BlobFetch::wake(). An error aborts this blob without retry.
  virtual Result<Action> data(const char* bytes, size_t size) = 0;
  // The blob ended: ok after exactly `size` bytes were delivered, else the transfer's final
  // error (retries exhausted, HTTP error, sink error, cancel). Called once.
  virtual void done(const Status& status) = 0;
};

// One blob to download.
struct BlobTransfer {
  Descriptor descriptor;  // digest and size (size < 0: unknown)
  uint64_t offset = 0;    // bytes the sink already holds (a resumed ingest): Range from here
  BlobSink* sink = nullptr;
};

class RegistryClient;

// The client's errors start with what was asked for ("127.0.0.1:5000/app:1: …"). A caller that
// already names it in its own context removes it with this: a leading "<x>: " is dropped from
// the message when <x> starts with `subject` (a repository name covers its tags and digests).
Error without_subject(Error e, std::string_view subject);

// A running set of blob downloads (see RegistryClient::fetch_blobs).
class BlobFetch {
 public:
  virtual ~BlobFetch() = default;
  // Resumes delivery to transfer `index` after its sink paused. Thread-safe.
  virtual void wake(size_t index) = 0;
  // Stops all transfers; each unfinished sink gets done(ECANCELED). Thread-safe.
  virtual void cancel() = 0;
};

class RegistryClient {
 public:
  explicit RegistryClient(RegistryOptions options = {});
  ~RegistryClient();
  RegistryClient(const RegistryClient&) = delete;
  RegistryClient& operator=(const RegistryClient&) = delete;

  // GET /v2/<name>/manifests/<tag or digest> accepting OCI index/manifest and Docker schema 2
  // list/manifest (and schema 1, so that it can be refused by name). Bodies over 4 MiB are
  // refused. The digest is verified when the reference carries one.
  Result<FetchedManifest> get_manifest(const Reference& ref);
  // HEAD of the same: the descriptor (media type, digest, size) without the body; ENOENT if
  // unknown. Used to check whether a tag still points at what the store has.
  Result<Descriptor> head_manifest(const Reference& ref);
  // A small blob (an image config) read whole and verified against the descriptor.
  Result<std::string> get_blob(const Reference& repo, const Descriptor& blob,
                               size_t max_size = 16u << 20);

  // Downloads blobs of `repo` in parallel (at most `max_parallel` at once) on one curl multi
  // handle, on the calling thread; returns when every sink got done(). `started` (if set) is
  // called once the fetch exists, before any transfer, so that other threads can wake/cancel.
  // Redirects are followed (credentials are not sent to another host). The returned status is
  // the first failure, if any; every sink hears about its own blob.
  Status fetch_blobs(const Reference& repo, std::vector<BlobTransfer>& transfers,
                     size_t max_parallel = 4,
                     const std::function<void(BlobFetch&)>& started = nullptr);

  // --- push ---
  // HEAD /v2/<name>/blobs/<digest>.
  Result<bool> blob_exists(const Reference& repo, std::string_view digest);
  // POST /v2/<name>/blobs/uploads/?mount=<digest>&from=<from_repo>: true when the registry
  // mounted it (201), false when it did not (the upload session it opened is cancelled).
  Result<bool> mount_blob(const Reference& repo, std::string_view digest,
                          std::string_view from_repo_path);
  // Uploads a blob: one PUT when chunk_size is 0 (monolithic), else PATCH chunks of chunk_size
  // bytes with Content-Range and a closing PUT. `read` fills a buffer and returns the byte
  // count (0 at the end); it is called again from the start after a retried upload restarts
  // (`rewind` is called first).
  Status upload_blob(const Reference& repo, const Descriptor& blob,
                     const std::function<Result<size_t>(char*, size_t)>& read,
                     const std::function<Status()>& rewind, size_t chunk_size = 0);
  // PUT /v2/<name>/manifests/<tag or digest>; returns the digest the registry reports.
  Result<std::string> put_manifest(const Reference& ref, std::string_view media_type,
                                   std::string_view body);

  // GET /v2/ with `creds` for `registry_host` (the login check): ok, or EACCES naming the
  // registry's message.
  Status check_login(const std::string& registry_host, const Credentials& creds);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stack::engine::image
