// The in-process token service of LocalRegistry (see token_service.h). JWT signing with OpenSSL
// EVP; HTTP over a plain socket, one request per connection (Connection: close).
#include "support/token_service.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cstring>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "support/test_certs.h"

namespace stack::test {
namespace {

std::string base64(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

// JOSE base64url: URL alphabet, no padding (RFC 7515 section 2).
std::string base64url(const std::string& in) {
  std::string out = base64(in);
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return out;
}

std::string unbase64(const std::string& in) {
  if (in.size() % 4 != 0) return "";
  std::string out(in.size() / 4 * 3 + 1, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  if (n < 0) return "";
  size_t len = static_cast<size_t>(n);
  // EVP_DecodeBlock counts padding as zero bytes.
  for (size_t i = in.size(); i > 0 && in[i - 1] == '='; --i) --len;
  out.resize(len);
  return out;
}

std::string percent_decode(const std::string& in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size() && std::isxdigit(static_cast<unsigned char>(in[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(in[i + 2]))) {
      out += static_cast<char>(std::stoi(in.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += in[i] == '+' ? ' ' : in[i];
    }
  }
  return out;
}

std::multimap<std::string, std::string> parse_query(const std::string& query) {
  std::multimap<std::string, std::string> out;
  size_t pos = 0;
  while (pos <= query.size()) {
    size_t amp = query.find('&', pos);
    if (amp == std::string::npos) amp = query.size();
    std::string part = query.substr(pos, amp - pos);
    if (!part.empty()) {
      size_t eq = part.find('=');
      out.emplace(percent_decode(part.substr(0, eq)),
                  eq == std::string::npos ? "" : percent_decode(part.substr(eq + 1)));
    }
    pos = amp + 1;
  }
  return out;
}

std::string rfc3339(time_t t) {
  char buf[32];
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void fail(const std::string& what) { throw std::runtime_error("token service: " + what); }

void send_all(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

void respond(int fd, int status, const std::string& body, const std::string& extra_headers = "") {
  const char* reason = status == 200   ? "OK"
                       : status == 401 ? "Unauthorized"
                       : status == 404 ? "Not Found"
                                       : "Bad Request";
  send_all(fd, "HTTP/1.1 " + std::to_string(status) + " " + reason +
                   "\r\nContent-Type: application/json\r\nContent-Length: " +
                   std::to_string(body.size()) + "\r\nConnection: close\r\n" + extra_headers +
                   "\r\n" + body);
}

std::string error_body(const std::string& code, const std::string& message) {
  return nlohmann::json{{"errors", {{{"code", code}, {"message", message}}}}}.dump();
}

}  // namespace

struct TokenService::Key {
  TestCert cert;
};

TokenService::TokenService(std::vector<RegistryUser> users, bool anonymous_pull, int expires_in_s)
    : users_(std::move(users)),
      anonymous_pull_(anonymous_pull),
      expires_in_s_(expires_in_s),
      // Self-signed, so that it is both the x5c leaf and the registry's root.
      key_(std::make_unique<Key>(Key{TestCert::make_ca("stack test token signer")})),
      cert_pem_(key_->cert.cert_pem()),
      cert_der_b64_(base64(key_->cert.cert_der())) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 64) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    fail(std::string("cannot listen on 127.0.0.1: ") + std::strerror(errno));
  port_ = ntohs(addr.sin_port);
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC);
  if (stop_fd_ < 0) fail("eventfd failed");
  thread_ = std::thread([this] { serve(); });
}

TokenService::~TokenService() {
  uint64_t one = 1;
  if (::write(stop_fd_, &one, sizeof one) < 0) {
    // Nothing else can wake the thread; joining would hang.
    std::terminate();
  }
  thread_.join();
  ::close(listen_fd_);
  ::close(stop_fd_);
}

std::string TokenService::realm() const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/token";
}

std::vector<TokenRequestRecord> TokenService::log() const {
  std::lock_guard lock(mu_);
  return log_;
}

std::string TokenService::issue(const std::string& subject, const std::vector<std::string>& access,
                                const int expires_in_s) const {
  nlohmann::json grants = nlohmann::json::array();
  for (const auto& a : access) {
    // type:name:actions; the name may hold ':' only in theory (a port in a plugin path), so
    // split at the first and the last colon.
    size_t first = a.find(':'), last = a.rfind(':');
    if (first == std::string::npos || first == last) continue;
    nlohmann::json actions = nlohmann::json::array();
    std::string list = a.substr(last + 1);
    for (size_t pos = 0; pos <= list.size();) {
      size_t comma = list.find(',', pos);
      if (comma == std::string::npos) comma = list.size();
      if (comma > pos) actions.push_back(list.substr(pos, comma - pos));
      pos = comma + 1;
    }
    grants.push_back({{"type", a.substr(0, first)},
                      {"name", a.substr(first + 1, last - first - 1)},
                      {"actions", actions}});
  }
  time_t now = ::time(nullptr);
  unsigned char jti[16];
  RAND_bytes(jti, sizeof jti);
  nlohmann::json header = {{"alg", "ES256"}, {"typ", "JWT"}, {"x5c", {cert_der_b64_}}};
  nlohmann::json claims = {{"iss", kTokenIssuer},
                           {"sub", subject},
                           {"aud", kTokenService},
                           {"exp", now + expires_in_s},
                           {"nbf", now - 1},
                           {"iat", now},
                           {"jti", base64url(std::string(reinterpret_cast<char*>(jti), 16))},
                           {"access", grants}};
  std::string signing_input = base64url(header.dump()) + "." + base64url(claims.dump());

  EVP_MD_CTX* md = EVP_MD_CTX_new();
  size_t sig_len = 0;
  std::string der;
  if (EVP_DigestSignInit(md, nullptr, EVP_sha256(), nullptr, key_->cert.key()) == 1 &&
      EVP_DigestSign(md, nullptr, &sig_len,
                     reinterpret_cast<const unsigned char*>(signing_input.data()),
                     signing_input.size()) == 1) {
    der.resize(sig_len);
    if (EVP_DigestSign(md, reinterpret_cast<unsigned char*>(der.data()), &sig_len,
                       reinterpret_cast<const unsigned char*>(signing_input.data()),
                       signing_input.size()) != 1)
      sig_len = 0;
    der.resize(sig_len);
  }
  EVP_MD_CTX_free(md);
  // OpenSSL signs ECDSA as DER; JWS ES256 wants the raw 32-byte R and S (RFC 7518 3.4).
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  if (!sig) fail("ECDSA signing failed");
  unsigned char raw[64];
  const BIGNUM *r = nullptr, *s = nullptr;
  ECDSA_SIG_get0(sig, &r, &s);
  BN_bn2binpad(r, raw, 32);
  BN_bn2binpad(s, raw + 32, 32);
  ECDSA_SIG_free(sig);
  return signing_input + "." + base64url(std::string(reinterpret_cast<char*>(raw), 64));
}

void TokenService::serve() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents) return;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    // A client that connects and stalls must not wedge the fixture.
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    try {
      handle(fd);
    } catch (const std::exception&) {
      respond(fd, 400, error_body("UNSUPPORTED", "malformed request"));
    }
    ::close(fd);
  }
}

void TokenService::handle(int fd) {
  std::string req;
  char buf[4096];
  while (req.find("\r\n\r\n") == std::string::npos && req.size() < 65536) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return;
    req.append(buf, static_cast<size_t>(n));
  }
  size_t line_end = req.find("\r\n");
  std::string line = req.substr(0, line_end);
  size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
  if (sp1 == std::string::npos || sp1 == sp2)
    return respond(fd, 400, error_body("UNSUPPORTED", "bad request line"));
  std::string method = line.substr(0, sp1), target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  size_t q = target.find('?');
  std::string path = target.substr(0, q);
  auto params = parse_query(q == std::string::npos ? "" : target.substr(q + 1));

  std::string authorization;
  for (size_t pos = line_end + 2; pos < req.size();) {
    size_t end = req.find("\r\n", pos);
    if (end == std::string::npos || end == pos) break;
    std::string h = req.substr(pos, end - pos);
    size_t colon = h.find(':');
    std::string name = h.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (colon != std::string::npos && name == "authorization") {
      authorization = h.substr(colon + 1);
      authorization.erase(0, authorization.find_first_not_of(' '));
    }
    pos = end + 2;
  }

  TokenRequestRecord record;
  for (auto [it, end] = params.equal_range("scope"); it != end; ++it)
    record.scopes.push_back(it->second);
  auto finish = [&](int status, const std::string& body, const std::string& headers = "") {
    record.status = status;
    {
      std::lock_guard lock(mu_);
      log_.push_back(record);
    }
    requests_++;
    respond(fd, status, body, headers);
  };

  if (method != "GET" || path != "/token")
    return finish(404, error_body("NOT_FOUND", "only GET /token is served here"));
  auto service = params.find("service");
  if (service == params.end() || service->second != kTokenService)
    return finish(400, error_body("INVALID_REQUEST", "unknown or missing service"));

  const RegistryUser* user = nullptr;
  bool anonymous = authorization.empty();
  if (!anonymous) {
    std::string creds =
        authorization.rfind("Basic ", 0) == 0 ? unbase64(authorization.substr(6)) : "";
    size_t colon = creds.find(':');
    if (colon != std::string::npos) {
      record.user = creds.substr(0, colon);
      for (const auto& u : users_)
        if (u.name == record.user && u.password == creds.substr(colon + 1)) user = &u;
    }
  }
  const std::string challenge = "WWW-Authenticate: Basic realm=\"stack-test-token\"\r\n";
  if (!user && !(anonymous && anonymous_pull_))
    return finish(401,
                  error_body("UNAUTHORIZED", anonymous ? "authentication required"
                                                       : "incorrect username or password"),
                  challenge);

  std::vector<std::string> granted;
  for (const auto& scope : record.scopes) {
    size_t first = scope.find(':'), last = scope.rfind(':');
    if (first == std::string::npos || first == last) continue;
    if (scope.substr(0, first) != "repository") continue;
    std::string actions, list = scope.substr(last + 1);
    for (size_t pos = 0; pos <= list.size();) {
      size_t comma = list.find(',', pos);
      if (comma == std::string::npos) comma = list.size();
      std::string a = list.substr(pos, comma - pos);
      if (a == "pull" || (a == "push" && user && user->can_push))
        actions += (actions.empty() ? "" : ",") + a;
      pos = comma + 1;
    }
    granted.push_back(scope.substr(0, last) + ":" + actions);
  }
  std::string token = issue(user ? user->name : "", granted, expires_in_s_);
  nlohmann::json body = {{"token", token},
                         {"access_token", token},
                         {"expires_in", expires_in_s_},
                         {"issued_at", rfc3339(::time(nullptr))}};
  finish(200, body.dump());
}

}  // namespace stack::test
