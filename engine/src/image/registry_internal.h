// Internals of the registry client (registry_*.cpp): the pure protocol helpers (challenge,
// error-body, Range and Location parsing, the retry table), which the unit tests call directly,
// and the libcurl plumbing shared by the request path and the multi-handle blob fetcher.
#pragma once

#include <curl/curl.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "stack/common/result.h"
#include "stack/engine/image/registry.h"

namespace stack::engine::image::registry_detail {

// ---- WWW-Authenticate (RFC 7235) ----

// One challenge: the scheme in lower case ("bearer", "basic") and its parameters, names in
// lower case, values unquoted ("\x" escapes resolved).
struct Challenge {
  std::string scheme;
  std::map<std::string, std::string> params;
  std::string param(const std::string& name) const {
    auto it = params.find(name);
    return it == params.end() ? std::string() : it->second;
  }
};

// Parses one or more header values; a value may hold several challenges separated by commas
// ("Basic realm=\"a,b\", Bearer realm=\"x\",service=\"y\""). Malformed tails are dropped.
std::vector<Challenge> parse_www_authenticate(const std::vector<std::string>& header_values);

// ---- registry error bodies ----

// {"errors":[{"code":"MANIFEST_UNKNOWN","message":"…","detail":…}]}; empty when the body is
// not such a document.
struct RegistryError {
  std::string code;
  std::string message;
};
std::vector<RegistryError> parse_error_body(std::string_view body);
// "manifest unknown: manifest unknown; …" (code lower-cased with spaces, then the message), or
// a short, printable excerpt of a non-JSON body; empty when the body says nothing.
std::string describe_error_body(std::string_view body);

// ---- HTTP exchange ----

struct HttpResponse {
  long status = 0;
  // Headers of the final response (after redirects and 1xx), names in lower case.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string effective_url;

  std::string header(std::string_view lower_name) const;
  std::vector<std::string> all(std::string_view lower_name) const;
};

// What libcurl reported when a transfer failed below HTTP.
struct TransportFailure {
  CURLcode code = CURLE_OK;
  int os_errno = 0;
  std::string detail;  // libcurl's error buffer
};

// Turns a transport failure into the client's error: "<what>: cannot connect: Connection
// refused" (ECONNREFUSED), timeouts ETIMEDOUT, name resolution EHOSTUNREACH, resets
// ECONNRESET, TLS EPROTO.
Error transport_error(std::string_view what, const TransportFailure& failure);

// Turns an unexpected HTTP status into the client's error, e.g. "<what>: manifest unknown (HTTP
// 404)" ENOENT, "<what>: authentication required (HTTP 401): …" EACCES, "access denied (HTTP
// 403)" EACCES, anything else EPROTO "unexpected HTTP status 418: …".
Error status_error(std::string_view what, const HttpResponse& response);

// ---- retries ----

// Failures worth another attempt: connect errors, resets, timeouts, an empty reply.
bool is_transient(CURLcode code);
bool is_transient_status(long status);
// HTTPS failures after which an insecure host is tried over plain HTTP (Docker's fallback):
// refused connections and failed handshakes.
bool is_https_fallback(CURLcode code);

// Retry-After as delay-seconds ("120"); HTTP dates are not honoured (nullopt).
std::optional<int> parse_retry_after(std::string_view value);

struct RetryDecision {
  bool retry = false;
  int delay_ms = 0;
};
// Whether attempt `attempt` (1 = the first) that failed with `code` (or with HTTP `status` when
// code is CURLE_OK) is retried, and after how long: backoff_initial_ms doubled per retry plus
// up to 25 % jitter (jitter01 in [0,1)), capped at 5 s; a Retry-After of at most 10 s is used
// instead when the server sent one; a longer one is not waited for (no retry).
RetryDecision decide_retry(int attempt, int max_attempts, CURLcode code, long status,
                           std::string_view retry_after, int backoff_initial_ms,
                           double jitter01);

// ---- URLs, Location, Range ----

// "https://host/v2/<path>/<rest>".
std::string api_url(std::string_view scheme, std::string_view host, std::string_view rest);
// Resolves a Location header against the URL of the request that returned it: absolute URLs as
// they are, "/v2/…" against the scheme and host, anything else against the base's directory.
std::string resolve_location(std::string_view base_url, std::string_view location);
// Appends "key=<escaped value>" with '?' or '&'.
std::string append_query(std::string_view url, std::string_view key, std::string_view value);
std::string url_escape(std::string_view text);

// Content-Range of a 206 reply: "bytes <first>-<last>/<total or *>".
struct ContentRange {
  uint64_t first = 0;
  uint64_t last = 0;
  std::optional<uint64_t> total;
};
std::optional<ContentRange> parse_content_range(std::string_view value);

// How many leading bytes of a reply to a request for "Range: bytes=<offset>-" to drop: 0 for a
// 206 starting at offset, `offset` for a 200 (the server sent everything again). A 206 starting
// elsewhere, or a malformed Content-Range, is EPROTO.
Result<uint64_t> resume_skip(long status, uint64_t offset, std::string_view content_range);

// Content-Range of an upload chunk (the distribution spec's form, no unit): "<first>-<last>".
std::string upload_content_range(uint64_t first, uint64_t length);

// ---- auth ----

// "repository:<path>:pull" or ":pull,push".
std::string repository_scope(std::string_view path, bool push);

struct Token {
  std::string value;
  std::chrono::steady_clock::time_point expires;
};
// A token server's JSON reply: "token" or "access_token", "expires_in" seconds (default 60, as
// the distribution token spec says). EILSEQ when neither token is present.
Result<Token> parse_token_response(std::string_view body,
                                   std::chrono::steady_clock::time_point now);

std::string base64_encode(std::string_view data);
// Strict base64 (with padding); nullopt on bad input.
std::optional<std::string> base64_decode(std::string_view text);

// The registry API host of a registry domain: "docker.io" → Docker Hub's API host (the mapping
// lives in reference.cpp), otherwise the domain.
std::string api_host(std::string_view domain);

// Content-Type without parameters, lower case.
std::string bare_media_type(std::string_view content_type);

// ---- libcurl plumbing (registry_http.cpp) ----

void global_init();

// Options common to every easy handle: timeouts, user agent, CA file, HTTP/2 over TLS, no
// signals. Leaves the URL, method and callbacks to the caller.
// `host` ("registry:5000") picks a per-registry CA from options.certs_dir.
void apply_common_options(CURL* easy, const RegistryOptions& options, std::string_view host);

struct HttpRequest {
  std::string method = "GET";  // GET, HEAD, PUT, POST, PATCH, DELETE
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string_view body;             // sent for PUT/POST/PATCH unless body_reader is set
  // Streams the body instead (size bytes exactly); an error aborts the request.
  std::function<Result<size_t>(char*, size_t)> body_reader;
  int64_t body_size = 0;
  bool follow_redirects = false;
  size_t max_response = 1u << 20;  // larger bodies abort the transfer (EFBIG)
};

// One exchange on `easy` (reset first). On a transport failure returns the TransportFailure in
// `failure` and an empty response; a body_reader error or an over-long response is returned as
// an Error instead.
Result<HttpResponse> perform(CURL* easy, const RegistryOptions& options, const HttpRequest& req,
                             TransportFailure* failure);

// Parses one raw header line into (lower-case name, trimmed value); a status line ("HTTP/…")
// returns {"", ""} and means a new response begins (after a redirect or a 1xx).
std::optional<std::pair<std::string, std::string>> parse_header_line(std::string_view line);

// ---- the client's shared state (registry_client.cpp, registry_auth.cpp) ----

// What a request is for: where it goes, which credentials and token scopes apply, and the name
// errors start with.
struct Target {
  std::string domain;               // registry domain, the credentials key ("docker.io")
  std::string host;                 // API host[:port]
  std::vector<std::string> scopes;  // token scopes ("repository:a/b:pull")
  std::string what;                 // "127.0.0.1:5000/app:1"
  // check_login: these credentials, no cached tokens, nothing cached afterwards.
  const Credentials* login = nullptr;
};

// Everything RegistryClient does, outside the class so that the fetcher's helpers can use it.
// Thread-safe: caches and the handle pool are guarded by one mutex, never held during I/O.
class ClientCore {
 public:
  explicit ClientCore(RegistryOptions options);
  ~ClientCore();
  const RegistryOptions& options() const { return options_; }

  // Sends `req` (url relative to "<scheme>://<host>/v2/", or absolute) with retries, the
  // https → http fallback, and one round of authentication on 401. A body_reader request is
  // sent once (it cannot be replayed). Any HTTP status is returned as a response.
  Result<HttpResponse> request(const Target& target, HttpRequest req, bool retry = true);

  // The Authorization header value cached for the target ("" when none).
  std::string cached_auth(const Target& target);
  // Answers the challenges of a 401 `reply` (Basic or the Bearer token flow), caches the result
  // unless target.login is set, and returns the Authorization value.
  Result<std::string> authenticate(const Target& target, const HttpResponse& reply);
  // Forgets a cached token or Basic header after the registry refused it.
  void forget_auth(const Target& target);
  // "https" or "http" once a request succeeded; empty before.
  std::string known_scheme(const std::string& host);
  // Makes sure the scheme is known and a token is cached (GET /v2/, as Docker's ping).
  Status prepare(const Target& target);

  CURL* acquire();
  void release(CURL* easy);
  // decide_retry with the configured attempts and back-off and a random jitter.
  RetryDecision retry_decision(int attempt, CURLcode code, long status,
                               std::string_view retry_after);

 private:
  bool insecure(const std::string& domain);
  static bool loopback(const std::string& domain);  // localhost, 127.0.0.0/8, ::1
  std::optional<Credentials> credentials_for(const Target& target);
  Result<Token> fetch_token(const Target& target, const Challenge& bearer,
                            const std::optional<Credentials>& creds);

  RegistryOptions options_;
  std::mutex mu_;
  std::vector<CURL*> pool_;
  std::map<std::string, std::string> schemes_;  // API host → scheme
  std::map<std::string, std::string> basic_;    // API host → "Basic …"
  std::map<std::string, Token> tokens_;         // API host + scopes → token
};

}  // namespace stack::engine::image::registry_detail

namespace stack::engine::image {

struct RegistryClient::Impl {
  explicit Impl(RegistryOptions options) : core(std::move(options)) {}
  registry_detail::ClientCore core;

  // The target of requests about `ref`'s repository (pull, or pull and push, scope).
  static registry_detail::Target target(const Reference& ref, bool push, std::string what) {
    return registry_detail::Target{ref.domain, ref.registry_host(),
                                   {registry_detail::repository_scope(ref.path, push)},
                                   std::move(what), nullptr};
  }
};

}  // namespace stack::engine::image
