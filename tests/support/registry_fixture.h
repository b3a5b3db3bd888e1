// A real CNCF Distribution registry (/usr/bin/docker-registry, Debian package docker-registry
// 2.8) run as a child process on 127.0.0.1 for e2e tests, with optional Basic (htpasswd, bcrypt)
// or Bearer token auth (an in-process token service signing ES256 JWTs with an x5c chain the
// registry trusts through its rootcertbundle). Plain HTTP, or with `tls` HTTPS only: a test CA
// and a server certificate for IP:127.0.0.1 and DNS:localhost signed by it are made at start;
// clients trust ca_file(). Over TLS the registry offers HTTP/2 (ALPN h2) and answers plain HTTP
// with a bare 400 that it does not log. Its access log (access_log()) names each request's
// protocol, "HTTP/2.0" or "HTTP/1.1".
//
// Seeding writes straight into the registry's filesystem storage, so tests of our client never
// depend on our own push code to set up their data. The registry runs without a blob descriptor
// cache, so seeded content is visible at once, also while it runs.
//
// The registry is started with PR_SET_PDEATHSIG: it dies with the thread that started it, so a
// crashed test leaks no registry; start it from the test's own (main) thread.
// Not thread-safe, except log(), token_requests() and token_log().
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

#include "support/test_image.h"

namespace stack::test {

class TokenService;

enum class RegistryAuth { kNone, kBasic, kToken };

struct RegistryUser {
  std::string name, password;
  bool can_push = true;  // kToken: push granted too (kBasic: every user may do anything)
};

struct LocalRegistryOptions {
  RegistryAuth auth = RegistryAuth::kNone;
  std::vector<RegistryUser> users = {{"alice", "wonderland", true}};
  bool anonymous_pull = false;   // kToken: grant pull to requests without credentials
  int token_expires_in_s = 300;  // kToken: lifetime of issued tokens ("expires_in")
  bool tls = false;              // serve HTTPS only (with any auth mode)
};

// One line of the registry's access log (Apache combined format):
//   127.0.0.1 - - [date] "GET /v2/app/blobs/sha256:… HTTP/2.0" 200 1024 "" "stack/…"
// Requests Go refuses before its handler (plain HTTP on the TLS port) are not logged.
struct AccessLogEntry {
  std::string method;    // "GET"
  std::string target;    // "/v2/app/blobs/sha256:…" (path and query as sent)
  std::string protocol;  // "HTTP/2.0", "HTTP/1.1"
  int status = 0;
};

// One request the token service answered (or refused).
struct TokenRequestRecord {
  std::string user;                 // "" = anonymous
  std::vector<std::string> scopes;  // as requested: "repository:app:pull,push"
  int status = 0;                   // HTTP status sent: 200, 400, 401
};

// Fixed names of the token setup (what the registry's config says).
inline constexpr const char* kTokenService = "stack-test-registry";
inline constexpr const char* kTokenIssuer = "stack-test-issuer";
inline constexpr const char* kBasicRealm = "basic-realm";

class LocalRegistry {
 public:
  // Starts the registry on a free port and waits (up to 10 s) until GET /v2/ answers 200 or 401.
  // Throws std::runtime_error with the registry's log on failure.
  static std::unique_ptr<LocalRegistry> start(const LocalRegistryOptions& options = {});
  ~LocalRegistry();  // stops the registry and token service, removes the temp dir
  LocalRegistry(const LocalRegistry&) = delete;
  LocalRegistry& operator=(const LocalRegistry&) = delete;

  std::string host() const;      // "127.0.0.1:PORT"
  std::string base_url() const;  // "http://127.0.0.1:PORT", with tls "https://127.0.0.1:PORT"
  // tls: the PEM file of the test CA that signed the server certificate ("" without tls).
  std::string ca_file() const;
  int port() const { return port_; }
  const std::string& storage_dir() const { return storage_dir_; }  // filesystem rootdirectory
  const LocalRegistryOptions& options() const { return options_; }
  std::string log() const;  // the registry's stderr/stdout (access log included)
  // The access log lines of log(), in order (the readiness probe's GET /v2/ included).
  std::vector<AccessLogEntry> access_log() const;

  // kToken only ("" otherwise).
  std::string token_realm() const;  // "http://127.0.0.1:P2/token"
  int token_requests() const;       // requests the token service answered, refusals included
  std::vector<TokenRequestRecord> token_log() const;
  // A token signed by the service's key as the token service would issue it: `access` entries
  // are "repository:<name>:<action,action>" (granted as given, no policy). For tests of
  // expiry and of tokens with too little access.
  std::string issue_token(const std::string& subject, const std::vector<std::string>& access,
                          int expires_in_s = 300) const;

  // Kills the registry now (SIGKILL) and reaps it; the token service keeps running. For tests
  // of "registry unreachable": host() then refuses connections.
  void stop();
  bool running() const { return pid_ > 0; }

  // --- seeding (filesystem storage layout docker/registry/v2/...; links hold the digest) ---
  // Writes blob `data` and links it into `repo` (_layers). Returns "sha256:<hex>".
  std::string put_blob(const std::string& repo, const std::string& data);
  // Writes a manifest or index body, links it as a revision of `repo`, and points `tag` at it
  // unless tag_or_empty is "". Returns its digest.
  std::string put_manifest(const std::string& repo, const std::string& tag_or_empty,
                           const std::string& body);
  // Seeds every blob and manifest of `image` (children of an index by digest, untagged) and
  // points `tag` at its top document (index or manifest).
  void seed(const std::string& repo, const std::string& tag, const TestImage& image);

  // --- inspection of the storage (independent of the code under test) ---
  // The digest `tag` points at, "" if the tag does not exist.
  std::string tag_digest(const std::string& repo, const std::string& tag) const;
  // The bytes of a stored blob (layers, configs, manifests), nullopt if absent.
  std::optional<std::string> blob(const std::string& digest) const;
  // Whether `repo` links blob `digest` (_layers) — what a push or mount creates.
  bool has_layer_link(const std::string& repo, const std::string& digest) const;

 private:
  LocalRegistry() = default;
  void write_config();
  bool try_spawn(std::string* why);
  void kill_registry();

  LocalRegistryOptions options_;
  std::string dir_;  // temp dir: config.yml, registry.log, htpasswd, token.pem, ca.pem, tls/
  std::string storage_dir_;  // dir_/storage
  std::string log_path_;
  int port_ = 0;
  pid_t pid_ = -1;
  std::unique_ptr<TokenService> token_;
};

}  // namespace stack::test
