// The registry client's core: the handle pool, transport choice (https, then http for insecure
// hosts; http, then https for loopback ones), retries, and authentication (Basic, and Bearer tokens from a token server), with the
// caches that make later requests skip the 401 round trip.
#include <algorithm>
#include <random>
#include <thread>

#include "image/registry_internal.h"

namespace stack::engine::image::registry_detail {
namespace {

// Tokens are renewed this long before they expire, so that one never dies in flight.
constexpr auto kTokenMargin = std::chrono::seconds(5);
constexpr size_t kMaxPooledHandles = 8;

std::string token_key(const Target& t) {
  std::vector<std::string> scopes = t.scopes;
  std::sort(scopes.begin(), scopes.end());
  std::string key = t.host;
  for (const auto& s : scopes) key += "\n" + s;
  return key;
}

bool is_absolute(std::string_view url) { return url.find("://") != std::string_view::npos; }

// "host:port" of an absolute URL.
std::string_view authority(std::string_view url) {
  size_t start = url.find("://");
  if (start == std::string_view::npos) return {};
  start += 3;
  return url.substr(start, url.find_first_of("/?#", start) - start);
}

// "type:name:a,b" → ("type:name", {a, b}); the name may itself contain ':' (host:port/x).
std::pair<std::string_view, std::vector<std::string_view>> split_scope(std::string_view scope) {
  size_t colon = scope.rfind(':');
  if (colon == std::string_view::npos) return {scope, {}};
  std::vector<std::string_view> actions;
  std::string_view list = scope.substr(colon + 1);
  for (size_t pos = 0; pos <= list.size();) {
    size_t end = std::min(list.find(',', pos), list.size());
    actions.push_back(list.substr(pos, end - pos));
    pos = end + 1;
  }
  return {scope.substr(0, colon), actions};
}

// Whether `scope` asks for nothing that one of `have` does not already ask for.
bool scope_covered(const std::vector<std::string>& have, std::string_view scope) {
  auto [resource, actions] = split_scope(scope);
  for (const auto& h : have) {
    auto [h_resource, h_actions] = split_scope(h);
    if (h_resource != resource) continue;
    bool all = std::all_of(actions.begin(), actions.end(), [&](std::string_view a) {
      return std::find(h_actions.begin(), h_actions.end(), a) != h_actions.end();
    });
    if (all) return true;
  }
  return false;
}

}  // namespace

ClientCore::ClientCore(RegistryOptions options) : options_(std::move(options)) {
  global_init();
  if (options_.max_attempts < 1) options_.max_attempts = 1;
}

ClientCore::~ClientCore() {
  for (CURL* e : pool_) curl_easy_cleanup(e);
}

CURL* ClientCore::acquire() {
  {
    std::lock_guard lock(mu_);
    if (!pool_.empty()) {
      CURL* e = pool_.back();
      pool_.pop_back();
      return e;
    }
  }
  return curl_easy_init();
}

void ClientCore::release(CURL* easy) {
  if (easy == nullptr) return;
  std::lock_guard lock(mu_);
  // Pooled handles keep their connections alive for the next request to the same registry.
  if (pool_.size() < kMaxPooledHandles) {
    pool_.push_back(easy);
  } else {
    curl_easy_cleanup(easy);
  }
}

RetryDecision ClientCore::retry_decision(int attempt, CURLcode code, long status,
                                         std::string_view retry_after) {
  thread_local std::minstd_rand rng{std::random_device{}()};
  double jitter = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  return decide_retry(attempt, options_.max_attempts, code, status, retry_after,
                      options_.backoff_initial_ms, jitter);
}

bool ClientCore::insecure(const std::string& domain) {
  Reference r;
  r.domain = domain;
  if (is_insecure_default(r)) return true;
  const auto& list = options_.insecure_registries;
  return std::find(list.begin(), list.end(), domain) != list.end();
}

bool ClientCore::loopback(const std::string& domain) {
  Reference r;
  r.domain = domain;
  return is_insecure_default(r);
}

std::string ClientCore::known_scheme(const std::string& host) {
  std::lock_guard lock(mu_);
  auto it = schemes_.find(host);
  return it == schemes_.end() ? std::string() : it->second;
}

std::string ClientCore::cached_auth(const Target& target) {
  if (target.login != nullptr) return {};
  std::lock_guard lock(mu_);
  if (auto it = tokens_.find(token_key(target)); it != tokens_.end()) {
    if (std::chrono::steady_clock::now() + kTokenMargin < it->second.expires) {
      return "Bearer " + it->second.value;
    }
    tokens_.erase(it);
  }
  if (auto it = basic_.find(target.host); it != basic_.end()) return it->second;
  return {};
}

void ClientCore::forget_auth(const Target& target) {
  std::lock_guard lock(mu_);
  tokens_.erase(token_key(target));
  basic_.erase(target.host);
}

std::optional<Credentials> ClientCore::credentials_for(const Target& target) {
  if (target.login != nullptr) return *target.login;
  if (!options_.credentials) return std::nullopt;
  auto creds = options_.credentials(target.domain);
  if (creds && creds->empty()) return std::nullopt;
  return creds;
}

Result<Token> ClientCore::fetch_token(const Target& target, const Challenge& bearer,
                                      const std::optional<Credentials>& creds) {
  std::string realm = bearer.param("realm");
  if (!is_absolute(realm)) {
    return Error(EPROTO, target.what + ": registry sent a Bearer challenge without a realm URL");
  }
  std::string service = bearer.param("service");
  std::vector<std::string> scopes = target.scopes;
  // The registry may name scopes we did not think of (DELETE of an upload needs "delete"):
  // ask for those too. The parameter holds several, separated by spaces.
  const std::string wanted = bearer.param("scope");
  for (size_t pos = 0; pos < wanted.size();) {
    size_t end = std::min(wanted.find(' ', pos), wanted.size());
    std::string extra(wanted.substr(pos, end - pos));
    pos = end + 1;
    if (!extra.empty() && !scope_covered(scopes, extra)) scopes.push_back(extra);
  }
  HttpRequest req;
  req.follow_redirects = true;
  req.url = realm;
  std::string form;  // outlives req, which only points at it
  if (creds && !creds->identity_token.empty()) {
    // OAuth2 refresh-token grant, as Docker does with an identity token.
    form = "grant_type=refresh_token&client_id=stack&refresh_token=" +
           url_escape(creds->identity_token);
    if (!service.empty()) form += "&service=" + url_escape(service);
    for (const auto& s : scopes) form += "&scope=" + url_escape(s);
    req.method = "POST";
    req.headers.push_back("Content-Type: application/x-www-form-urlencoded");
    req.body = form;
  } else {
    if (!service.empty()) req.url = append_query(req.url, "service", service);
    for (const auto& s : scopes) req.url = append_query(req.url, "scope", s);
    if (creds && !creds->username.empty()) {
      req.url = append_query(req.url, "account", creds->username);
      req.headers.push_back("Authorization: Basic " +
                            base64_encode(creds->username + ":" + creds->password));
    }
  }
  for (int attempt = 1;; ++attempt) {
    TransportFailure failure;
    CURL* easy = acquire();
    auto resp = perform(easy, options_, req, &failure);
    release(easy);
    if (!resp.ok()) return std::move(resp).error();
    auto decision = retry_decision(attempt, failure.code, resp->status,
                                   failure.code == CURLE_OK ? resp->header("retry-after") : "");
    if (decision.retry) {
      std::this_thread::sleep_for(std::chrono::milliseconds(decision.delay_ms));
      continue;
    }
    if (failure.code != CURLE_OK) return transport_error(target.what + ": token server", failure);
    if (resp->status != 200) return status_error(target.what, *resp);
    auto token = parse_token_response(resp->body, std::chrono::steady_clock::now());
    if (!token.ok()) return std::move(token).error().wrap(target.what + ": token server");
    return token;
  }
}

Result<std::string> ClientCore::authenticate(const Target& target, const HttpResponse& reply) {
  auto challenges = parse_www_authenticate(reply.all("www-authenticate"));
  auto creds = credentials_for(target);
  const Challenge* bearer = nullptr;
  const Challenge* basic = nullptr;
  for (const auto& c : challenges) {
    if (c.scheme == "bearer" && bearer == nullptr) bearer = &c;
    if (c.scheme == "basic" && basic == nullptr) basic = &c;
  }
  if (bearer != nullptr) {
    STACK_TRY(Token token, fetch_token(target, *bearer, creds));
    std::string header = "Bearer " + token.value;
    if (target.login == nullptr) {
      std::lock_guard lock(mu_);
      tokens_[token_key(target)] = std::move(token);
    }
    return header;
  }
  if (basic != nullptr && creds && !creds->username.empty()) {
    std::string header = "Basic " + base64_encode(creds->username + ":" + creds->password);
    if (target.login == nullptr) {
      std::lock_guard lock(mu_);
      basic_[target.host] = header;
    }
    return header;
  }
  return status_error(target.what, reply);
}

Result<HttpResponse> ClientCore::request(const Target& target, HttpRequest req, bool retry) {
  const std::string rest = req.url;
  std::string auth = cached_auth(target);
  bool authenticated = false;
  for (int attempt = 1;; ++attempt) {
    std::string scheme = known_scheme(target.host);
    bool probing = scheme.empty();
    // Loopback registries are tried in plain HTTP first (containerd does so for localhost):
    // the traffic never leaves the host, and a TLS attempt would cost every short-lived
    // `stack` process the loading of the system's CA bundle (~20 ms). Others: HTTPS first.
    const bool loopback_first = probing && !is_absolute(rest) && loopback(target.domain);
    if (probing) scheme = loopback_first ? "http" : "https";
    TransportFailure failure;
    Result<HttpResponse> resp = HttpResponse{};
    for (;;) {
      HttpRequest r = req;
      r.url = is_absolute(rest) ? rest : api_url(scheme, target.host, rest);
      // Credentials go only to the registry itself, not to a Location on another host.
      std::string_view to = authority(rest);
      bool same_host = !is_absolute(rest) || to == target.host || to == target.host + ":443" ||
                       to == target.host + ":80";
      if (!auth.empty() && same_host) r.headers.push_back("Authorization: " + auth);
      CURL* easy = acquire();
      resp = perform(easy, options_, r, &failure);
      release(easy);
      if (!resp.ok()) return std::move(resp).error();
      // Docker's fallback: an insecure registry that refuses TLS is spoken to in plain HTTP.
      if (failure.code != CURLE_OK && probing && scheme == "https" && !is_absolute(rest) &&
          !loopback_first && is_https_fallback(failure.code) && insecure(target.domain)) {
        scheme = "http";
        continue;
      }
      // A loopback registry that speaks only TLS: the plain request failed, or a TLS server
      // answered it with 400 ("client sent an HTTP request to an HTTPS server").
      if (loopback_first && scheme == "http" &&
          (failure.code != CURLE_OK || (resp->status == 400))) {
        scheme = "https";
        failure = TransportFailure{};
        continue;
      }
      break;
    }
    if (failure.code == CURLE_OK && probing && !is_absolute(rest)) {
      std::lock_guard lock(mu_);
      schemes_.emplace(target.host, scheme);
    }
    if (failure.code == CURLE_OK && resp->status == 401 && !authenticated) {
      authenticated = true;
      if (target.login == nullptr && !auth.empty()) forget_auth(target);
      STACK_TRY(auth, authenticate(target, *resp));
      if (req.body_reader) return resp;  // the body is gone; the caller restarts the upload
      --attempt;  // the challenge round trip is not a failure
      continue;
    }
    auto decision = retry && !req.body_reader
                        ? retry_decision(attempt, failure.code, resp->status,
                                         failure.code == CURLE_OK ? resp->header("retry-after")
                                                                  : "")
                        : RetryDecision{};
    if (decision.retry) {
      std::this_thread::sleep_for(std::chrono::milliseconds(decision.delay_ms));
      continue;
    }
    if (failure.code != CURLE_OK) return transport_error(target.what, failure);
    return resp;
  }
}

Status ClientCore::prepare(const Target& target) {
  if (!known_scheme(target.host).empty() && !cached_auth(target).empty()) return {};
  HttpRequest req;
  req.url = "";
  STACK_TRY(HttpResponse resp, request(target, req));
  if (resp.status == 200) return {};
  return status_error(target.what, resp);
}

}  // namespace stack::engine::image::registry_detail
