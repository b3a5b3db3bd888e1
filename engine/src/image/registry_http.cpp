// libcurl plumbing of the registry client: one synchronous exchange on an easy handle, and the
// mapping of transport failures and HTTP statuses to the client's errors.
#include <unistd.h>
#include <cstring>
#include <mutex>

#include "image/registry_internal.h"

#ifndef STACK_VERSION
#define STACK_VERSION "dev"
#endif

namespace stack::engine::image::registry_detail {
namespace {

constexpr long kBufferSize = 512L * 1024;  // large reads: fewer callbacks on fast links
constexpr long kMaxRedirects = 5;

struct Exchange {
  const HttpRequest* req;
  HttpResponse* resp;
  size_t max_response;
  Error error;
  bool failed = false;
  int64_t sent = 0;
};

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* ex = static_cast<Exchange*>(user);
  auto parsed = parse_header_line(std::string_view(data, size * n));
  if (parsed) {
    if (parsed->first.empty()) {
      ex->resp->headers.clear();  // a new response (redirect target, or after 100 Continue)
    } else {
      ex->resp->headers.push_back(std::move(*parsed));
    }
  }
  return size * n;
}

size_t on_write(char* data, size_t size, size_t n, void* user) {
  auto* ex = static_cast<Exchange*>(user);
  size_t len = size * n;
  if (ex->resp->body.size() + len > ex->max_response) {
    ex->failed = true;
    ex->error = Error(EFBIG, "reply larger than " + std::to_string(ex->max_response) + " bytes");
    return 0;
  }
  ex->resp->body.append(data, len);
  return len;
}

size_t on_read(char* buffer, size_t size, size_t n, void* user) {
  auto* ex = static_cast<Exchange*>(user);
  size_t want = size * n;
  int64_t left = ex->req->body_size - ex->sent;
  if (left <= 0) return 0;
  if (static_cast<int64_t>(want) > left) want = static_cast<size_t>(left);
  auto got = ex->req->body_reader(buffer, want);
  if (!got.ok()) {
    ex->failed = true;
    ex->error = std::move(got).error();
    return CURL_READFUNC_ABORT;
  }
  if (*got == 0 || *got > want) {
    // A short source would leave the server waiting for the promised Content-Length.
    ex->failed = true;
    ex->error = Error(EILSEQ, "blob source ended after " + std::to_string(ex->sent) + " of " +
                                  std::to_string(ex->req->body_size) + " bytes");
    return CURL_READFUNC_ABORT;
  }
  ex->sent += static_cast<int64_t>(*got);
  return *got;
}

}  // namespace

std::string HttpResponse::header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return value;
  }
  return {};
}

std::vector<std::string> HttpResponse::all(std::string_view lower_name) const {
  std::vector<std::string> out;
  for (const auto& [name, value] : headers) {
    if (name == lower_name) out.push_back(value);
  }
  return out;
}

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

namespace {

// "host:port" of "scheme://host:port/path".
std::string_view url_host(std::string_view url) {
  size_t start = url.find("://");
  start = start == std::string_view::npos ? 0 : start + 3;
  size_t end = url.find_first_of("/?#", start);
  return url.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
}

}  // namespace

void apply_common_options(CURL* easy, const RegistryOptions& options, std::string_view host) {
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, options.connect_timeout_ms);
  curl_easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(easy, CURLOPT_LOW_SPEED_TIME, options.low_speed_timeout_s);
  curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
  curl_easy_setopt(easy, CURLOPT_BUFFERSIZE, kBufferSize);
  // Only http(s), also for redirects: a registry must not send us to file:// or elsewhere.
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_MAXREDIRS, kMaxRedirects);
  // Never CURLOPT_UNRESTRICTED_AUTH: since 7.58 libcurl drops a custom Authorization header
  // when a redirect leaves the original host (and port and scheme, since 7.83), which is
  // what keeps registry credentials away from blob storage hosts.
  std::string agent = options.user_agent.empty() ? "stack/" STACK_VERSION : options.user_agent;
  curl_easy_setopt(easy, CURLOPT_USERAGENT, agent.c_str());  // copied by libcurl
  if (!options.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, options.ca_file.c_str());
  // A registry's own CA (Docker's certs.d layout), added to the system's: CAINFO names the
  // registry's file and CAPATH keeps the system directory of hashed certificates.
  if (!options.certs_dir.empty() && !host.empty() && host.find('/') == std::string_view::npos &&
      host != "." && host != "..") {
    std::string ca = options.certs_dir + "/" + std::string(host) + "/ca.crt";
    if (::access(ca.c_str(), R_OK) == 0) {
      curl_easy_setopt(easy, CURLOPT_CAINFO, ca.c_str());
      curl_easy_setopt(easy, CURLOPT_CAPATH, "/etc/ssl/certs");
    }
  }
}

Result<HttpResponse> perform(CURL* easy, const RegistryOptions& options, const HttpRequest& req,
                             TransportFailure* failure) {
  curl_easy_reset(easy);
  apply_common_options(easy, options, url_host(req.url));
  HttpResponse resp;
  Exchange ex{&req, &resp, req.max_response, {}, false, 0};
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(easy, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, &ex);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &ex);
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, req.follow_redirects ? 1L : 0L);

  struct curl_slist* headers = nullptr;
  for (const auto& h : req.headers) headers = curl_slist_append(headers, h.c_str());
  bool has_body = req.method == "PUT" || req.method == "POST" || req.method == "PATCH";
  if (has_body) headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
  if (req.method == "HEAD") {
    curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
  } else if (has_body && req.body_reader) {
    curl_easy_setopt(easy, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(easy, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(easy, CURLOPT_READDATA, &ex);
    curl_easy_setopt(easy, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(req.body_size));
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  } else if (has_body) {
    curl_easy_setopt(easy, CURLOPT_POST, 1L);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, req.body.empty() ? "" : req.body.data());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    if (req.method != "POST") curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    if (req.body.empty()) headers = curl_slist_append(headers, "Content-Type:");
  } else if (req.method != "GET") {
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);

  CURLcode rc = curl_easy_perform(easy);
  curl_slist_free_all(headers);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, nullptr);
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, nullptr);
  if (ex.failed) return std::move(ex.error);
  if (rc != CURLE_OK) {
    long os_errno = 0;
    curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &os_errno);
    *failure = TransportFailure{rc, static_cast<int>(os_errno),
                                errbuf[0] ? errbuf : curl_easy_strerror(rc)};
    return HttpResponse{};
  }
  *failure = TransportFailure{};
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &resp.status);
  char* effective = nullptr;
  curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_URL, &effective);
  resp.effective_url = effective ? effective : req.url;
  return resp;
}

Error transport_error(std::string_view what, const TransportFailure& f) {
  std::string prefix(what);
  auto os = [&](int fallback) { return f.os_errno != 0 ? f.os_errno : fallback; };
  switch (f.code) {
    case CURLE_COULDNT_CONNECT: {
      int code = os(ECONNREFUSED);
      return Error(code, prefix + ": cannot connect: " + std::strerror(code));
    }
    case CURLE_COULDNT_RESOLVE_HOST:
      return Error(EHOSTUNREACH, prefix + ": cannot resolve host: " + f.detail);
    case CURLE_OPERATION_TIMEDOUT:
      return Error(ETIMEDOUT, prefix + ": timed out: " + f.detail);
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
      return Error(EPROTO, prefix + ": TLS failed: " + f.detail);
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return Error(ECONNRESET, prefix + ": connection broken: " + f.detail);
    case CURLE_TOO_MANY_REDIRECTS:
      return Error(ELOOP, prefix + ": too many redirects");
    default:
      return Error(EPROTO, prefix + ": " + f.detail);
  }
}

Error status_error(std::string_view what, const HttpResponse& r) {
  std::string prefix(what);
  std::string detail = describe_error_body(r.body);
  std::string http = " (HTTP " + std::to_string(r.status) + ")";
  auto with_detail = [&](int code, const std::string& text) {
    return Error(code, prefix + ": " + text + http + (detail.empty() ? "" : ": " + detail));
  };
  if (r.status == 401) return with_detail(EACCES, "authentication required");
  if (r.status == 403) return with_detail(EACCES, "access denied");
  if (r.status == 404) {
    auto errors = parse_error_body(r.body);
    std::string code = errors.empty() ? "" : errors.front().code;
    std::string what_unknown = code == "MANIFEST_UNKNOWN" ? "manifest unknown"
                               : code == "BLOB_UNKNOWN"   ? "blob unknown"
                               : code == "NAME_UNKNOWN"   ? "repository unknown"
                                                          : "not found";
    return Error(ENOENT, prefix + ": " + what_unknown + http);
  }
  return with_detail(EPROTO, "unexpected HTTP status " + std::to_string(r.status));
}

}  // namespace stack::engine::image::registry_detail
