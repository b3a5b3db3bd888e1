// Registry client: the pure protocol helpers (challenges, error bodies, retry table, Location,
// Range), and the client against a tiny HTTP server on 127.0.0.1 that misbehaves on purpose
// (broken transfers, Range ignored, redirects to another port, Retry-After, token flow).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "image/registry_internal.h"
#include "stack/common/sha256.h"
#include "stack/engine/image/registry.h"

using namespace stack::engine::image;
using namespace stack::engine::image::registry_detail;
using stack::Result;
using stack::Status;

// ---------------------------------------------------------------------------------------------
// Pure helpers

TEST_CASE("WWW-Authenticate: several challenges, quoted commas and escaped quotes") {
  auto c = parse_www_authenticate(
      {R"(Basic realm="reg, with comma", Bearer realm="https://auth.example/token",)"
       R"(service="registry.example",scope="repository:a/b:pull,push",error="in\"valid")"});
  REQUIRE(c.size() == 2);
  CHECK(c[0].scheme == "basic");
  CHECK(c[0].param("realm") == "reg, with comma");
  CHECK(c[1].scheme == "bearer");
  CHECK(c[1].param("realm") == "https://auth.example/token");
  CHECK(c[1].param("service") == "registry.example");
  CHECK(c[1].param("scope") == "repository:a/b:pull,push");
  CHECK(c[1].param("error") == "in\"valid");
}

TEST_CASE("WWW-Authenticate: separate header values, case, tokens and spaces") {
  auto c = parse_www_authenticate({"BEARER Realm = \"http://x/t\" , Service=reg", "basic realm=r"});
  REQUIRE(c.size() == 2);
  CHECK(c[0].scheme == "bearer");
  CHECK(c[0].param("realm") == "http://x/t");
  CHECK(c[0].param("service") == "reg");
  CHECK(c[1].scheme == "basic");
  CHECK(c[1].param("realm") == "r");
  // An unterminated quote drops only what follows.
  auto broken = parse_www_authenticate({"Bearer realm=\"http://x/t\",service=\"oops"});
  REQUIRE(broken.size() == 1);
  CHECK(broken[0].param("realm") == "http://x/t");
  CHECK(broken[0].params.count("service") == 0);
}

TEST_CASE("registry error bodies") {
  std::string body =
      R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{}},)"
      R"({"code":"DENIED","message":"requested access to the resource is denied"}]})";
  auto errors = parse_error_body(body);
  REQUIRE(errors.size() == 2);
  CHECK(errors[0].code == "MANIFEST_UNKNOWN");
  CHECK(errors[1].message == "requested access to the resource is denied");
  CHECK(describe_error_body(body) ==
        "manifest unknown; denied: requested access to the resource is denied");
  CHECK(parse_error_body("<html>bad gateway</html>").empty());
  CHECK(describe_error_body("<html>\x01 bad gateway</html>\n") == "<html>  bad gateway</html>");
  CHECK(describe_error_body("").empty());
}

TEST_CASE("HTTP statuses become errors naming the thing asked for") {
  HttpResponse r;
  r.status = 404;
  r.body = R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]})";
  auto e = status_error("127.0.0.1:5000/app:1", r);
  CHECK(e.code == ENOENT);
  CHECK(e.message == "127.0.0.1:5000/app:1: manifest unknown (HTTP 404)");
  r.body = R"({"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry"}]})";
  CHECK(status_error("x@sha256:1", r).message == "x@sha256:1: blob unknown (HTTP 404)");
  r.status = 401;
  r.body = R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})";
  e = status_error("reg:443", r);
  CHECK(e.code == EACCES);
  CHECK(e.message == "reg:443: authentication required (HTTP 401): unauthorized: "
                     "authentication required");
  r.status = 403;
  CHECK(status_error("x", r).code == EACCES);
  CHECK(status_error("x", r).message.find("access denied (HTTP 403)") != std::string::npos);
  r.status = 418;
  r.body = "teapot";
  CHECK(status_error("x", r).code == EPROTO);
  CHECK(status_error("x", r).message == "x: unexpected HTTP status 418 (HTTP 418): teapot");
}

TEST_CASE("transport failures map to errno codes") {
  auto e = transport_error("127.0.0.1:1", {CURLE_COULDNT_CONNECT, ECONNREFUSED, "Failed"});
  CHECK(e.code == ECONNREFUSED);
  CHECK(e.message == "127.0.0.1:1: cannot connect: Connection refused");
  CHECK(transport_error("h", {CURLE_COULDNT_CONNECT, EHOSTUNREACH, ""}).code == EHOSTUNREACH);
  CHECK(transport_error("h", {CURLE_OPERATION_TIMEDOUT, 0, "t"}).code == ETIMEDOUT);
  CHECK(transport_error("h", {CURLE_COULDNT_RESOLVE_HOST, 0, "r"}).code == EHOSTUNREACH);
  CHECK(transport_error("h", {CURLE_RECV_ERROR, 0, "reset"}).code == ECONNRESET);
  CHECK(transport_error("h", {CURLE_SSL_CONNECT_ERROR, 0, "tls"}).code == EPROTO);
}

TEST_CASE("retry decision table") {
  // Transient transport failures and statuses are retried while attempts remain.
  for (CURLcode c : {CURLE_COULDNT_CONNECT, CURLE_OPERATION_TIMEDOUT, CURLE_RECV_ERROR,
                     CURLE_SEND_ERROR, CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE}) {
    CHECK(decide_retry(1, 5, c, 0, "", 100, 0).retry);
    CHECK_FALSE(decide_retry(5, 5, c, 0, "", 100, 0).retry);
  }
  for (long s : {408L, 429L, 500L, 502L, 503L, 504L}) {
    CHECK(decide_retry(1, 5, CURLE_OK, s, "", 100, 0).retry);
  }
  for (long s : {200L, 400L, 401L, 403L, 404L, 416L}) {
    CHECK_FALSE(decide_retry(1, 5, CURLE_OK, s, "", 100, 0).retry);
  }
  CHECK_FALSE(decide_retry(1, 5, CURLE_PEER_FAILED_VERIFICATION, 0, "", 100, 0).retry);
  CHECK_FALSE(decide_retry(1, 5, CURLE_WRITE_ERROR, 0, "", 100, 0).retry);
  // Exponential back-off, jitter up to 25 %, capped at 5 s.
  CHECK(decide_retry(1, 9, CURLE_RECV_ERROR, 0, "", 200, 0).delay_ms == 200);
  CHECK(decide_retry(2, 9, CURLE_RECV_ERROR, 0, "", 200, 0).delay_ms == 400);
  CHECK(decide_retry(3, 9, CURLE_RECV_ERROR, 0, "", 200, 0).delay_ms == 800);
  CHECK(decide_retry(3, 9, CURLE_RECV_ERROR, 0, "", 200, 0.999).delay_ms == 999);
  CHECK(decide_retry(8, 9, CURLE_RECV_ERROR, 0, "", 200, 0.5).delay_ms == 5000);
  // Retry-After: honoured when short, a long one is not waited for, dates are ignored.
  CHECK(decide_retry(1, 5, CURLE_OK, 429, "2", 100, 0).delay_ms == 2000);
  CHECK_FALSE(decide_retry(1, 5, CURLE_OK, 503, "3600", 100, 0).retry);
  CHECK(decide_retry(1, 5, CURLE_OK, 503, "Wed, 21 Oct 2015 07:28:00 GMT", 100, 0).delay_ms ==
        100);
  CHECK(parse_retry_after(" 7 ") == 7);
  CHECK_FALSE(parse_retry_after("-1"));
}

TEST_CASE("https fallback only after connect or handshake failures") {
  CHECK(is_https_fallback(CURLE_COULDNT_CONNECT));
  CHECK(is_https_fallback(CURLE_SSL_CONNECT_ERROR));
  CHECK_FALSE(is_https_fallback(CURLE_OPERATION_TIMEDOUT));
  CHECK_FALSE(is_https_fallback(CURLE_COULDNT_RESOLVE_HOST));
}

TEST_CASE("Location resolution") {
  std::string base = "http://127.0.0.1:5000/v2/app/blobs/uploads/?mount=x";
  CHECK(resolve_location(base, "/v2/app/blobs/uploads/abc?_state=s") ==
        "http://127.0.0.1:5000/v2/app/blobs/uploads/abc?_state=s");
  CHECK(resolve_location(base, "https://other:1/up/1") == "https://other:1/up/1");
  CHECK(resolve_location(base, "abc?x=1") == "http://127.0.0.1:5000/v2/app/blobs/uploads/abc?x=1");
  CHECK(resolve_location("https://h/v2/a", "//cdn.example/x") == "https://cdn.example/x");
  CHECK(resolve_location("https://h", "/v2/x") == "https://h/v2/x");
}

TEST_CASE("query building escapes values") {
  CHECK(append_query("http://h/t", "scope", "repository:a/b:pull,push") ==
        "http://h/t?scope=repository%3Aa%2Fb%3Apull%2Cpush");
  CHECK(append_query("http://h/t?service=s", "a", "b c") == "http://h/t?service=s&a=b%20c");
  CHECK(api_url("https", "h:1", "a/manifests/x") == "https://h:1/v2/a/manifests/x");
  CHECK(repository_scope("library/busybox", false) == "repository:library/busybox:pull");
  CHECK(repository_scope("a", true) == "repository:a:pull,push");
  CHECK(api_host("docker.io") == "registry-1.docker.io");
  CHECK(api_host("127.0.0.1:5000") == "127.0.0.1:5000");
  CHECK(bare_media_type("Application/JSON; charset=utf-8") == "application/json");
}

TEST_CASE("Content-Range and resume offsets") {
  auto r = parse_content_range("bytes 100-199/200");
  REQUIRE(r);
  CHECK(r->first == 100);
  CHECK(r->last == 199);
  CHECK(r->total == 200u);
  CHECK(parse_content_range("bytes 5-9/*")->total == std::nullopt);
  CHECK_FALSE(parse_content_range("bytes 9-5/10"));
  CHECK_FALSE(parse_content_range("bytes 0-9/9"));
  CHECK_FALSE(parse_content_range("items 0-9/10"));
  CHECK_FALSE(parse_content_range("bytes */10"));

  CHECK(resume_skip(206, 100, "bytes 100-199/200").value() == 0);
  CHECK(resume_skip(200, 100, "").value() == 100);  // full body again: drop what we have
  CHECK(resume_skip(200, 0, "").value() == 0);
  auto wrong = resume_skip(206, 100, "bytes 0-199/200");
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.error().code == EPROTO);
  CHECK_FALSE(resume_skip(206, 100, "garbage").ok());
  CHECK(upload_content_range(0, 10) == "0-9");
  CHECK(upload_content_range(10, 5) == "10-14");
}

TEST_CASE("token replies") {
  auto now = std::chrono::steady_clock::now();
  auto t = parse_token_response(R"({"token":"abc","expires_in":300})", now);
  REQUIRE(t.ok());
  CHECK(t->value == "abc");
  CHECK(t->expires == now + std::chrono::seconds(300));
  auto a = parse_token_response(R"({"access_token":"xyz"})", now);
  REQUIRE(a.ok());
  CHECK(a->value == "xyz");
  CHECK(a->expires == now + std::chrono::seconds(60));  // the spec's default
  CHECK(parse_token_response(R"({"nothing":1})", now).error().code == EILSEQ);
  CHECK(parse_token_response("not json", now).error().code == EILSEQ);
}

TEST_CASE("base64") {
  CHECK(base64_encode("alice:wonderland") == "YWxpY2U6d29uZGVybGFuZA==");
  CHECK(base64_encode("ab") == "YWI=");
  CHECK(base64_encode("abc") == "YWJj");
  CHECK(base64_decode("YWxpY2U6d29uZGVybGFuZA==") == std::string("alice:wonderland"));
  CHECK(base64_decode("YWI=") == std::string("ab"));
  CHECK_FALSE(base64_decode("YW=I"));
  CHECK_FALSE(base64_decode("abc"));
  CHECK_FALSE(base64_decode("a!bc"));
}

// ---------------------------------------------------------------------------------------------
// A tiny HTTP/1.1 server on 127.0.0.1: one thread per connection, one request per connection.

namespace {

struct Request {
  std::string method, target;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

void send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    data.remove_prefix(static_cast<size_t>(n));
  }
}

std::string reply(int status, const std::string& body,
                  const std::vector<std::string>& headers = {}) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " X\r\nConnection: close\r\n";
  for (const auto& h : headers) out += h + "\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  return out;
}

class MiniServer {
 public:
  using Handler = std::function<void(const Request&, int fd)>;
  explicit MiniServer(Handler handler) : handler_(std::move(handler)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(listen_fd_, 64) == 0);
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~MiniServer() {
    stop_ = true;
    acceptor_.join();
    ::close(listen_fd_);
    std::lock_guard lock(mu_);
    for (auto& t : workers_) t.join();
  }
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  std::vector<Request> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  void accept_loop() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      std::lock_guard lock(mu_);
      workers_.emplace_back([this, fd] { serve(fd); });
    }
  }
  void serve(int fd) {
    std::string buf;
    char chunk[4096];
    size_t end;
    while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
      ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) break;
      buf.append(chunk, static_cast<size_t>(n));
      // Not HTTP (a TLS ClientHello from the https attempt): hang up as a plain server would.
      if (!std::isupper(static_cast<unsigned char>(buf[0]))) break;
    }
    if (end == std::string::npos) {
      ::close(fd);
      return;
    }
    Request req;
    std::string head = buf.substr(0, end);
    size_t line_end = head.find("\r\n");
    std::string first = head.substr(0, line_end);
    req.method = first.substr(0, first.find(' '));
    req.target = first.substr(req.method.size() + 1, first.rfind(' ') - req.method.size() - 1);
    size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
      size_t e = head.find("\r\n", pos);
      if (e == std::string::npos) e = head.size();
      std::string line = head.substr(pos, e - pos);
      size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        size_t v = line.find_first_not_of(' ', colon + 1);
        req.headers[name] = v == std::string::npos ? "" : line.substr(v);
      }
      pos = e + 2;
    }
    req.body = buf.substr(end + 4);
    size_t want =
        req.headers.count("content-length") ? std::stoul(req.headers["content-length"]) : 0;
    while (req.body.size() < want) {
      ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) break;
      req.body.append(chunk, static_cast<size_t>(n));
    }
    {
      std::lock_guard lock(mu_);
      requests_.push_back(req);
    }
    handler_(req, fd);
    ::shutdown(fd, SHUT_RDWR);
    ::close(fd);
  }

  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<std::thread> workers_;
  std::vector<Request> requests_;
};

std::string pattern(size_t n, unsigned seed) {
  std::string s(n, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (auto& c : s) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

std::string digest_of(const std::string& data) { return "sha256:" + stack::sha256_hex(data); }

Reference ref_at(const std::string& host, const std::string& path, const std::string& tag = "1") {
  return Reference{host, path, tag, ""};
}

RegistryOptions fast_options() {
  RegistryOptions o;
  o.backoff_initial_ms = 10;
  o.max_attempts = 3;
  o.connect_timeout_ms = 2000;
  return o;
}

// Collects bytes; optionally pauses every other offer and asks `waker` to wake it.
class CollectSink : public BlobSink {
 public:
  std::string got;
  std::optional<Status> status;
  int done_calls = 0;
  bool pause_every_other = false;
  std::function<void()> on_pause;
  std::string last_refused;
  bool redelivery_mismatch = false;
  int pauses = 0;

  Result<Action> data(const char* bytes, size_t size) override {
    std::string_view offer(bytes, size);
    if (!last_refused.empty()) {
      size_t n = std::min(offer.size(), last_refused.size());
      if (offer.substr(0, n) != std::string_view(last_refused).substr(0, n)) {
        redelivery_mismatch = true;
      }
      last_refused.clear();
    } else if (pause_every_other && (++offers_ % 2) == 1) {
      last_refused.assign(offer);
      ++pauses;
      if (on_pause) on_pause();
      return Action::kPause;
    }
    got.append(offer);
    return Action::kContinue;
  }
  void done(const Status& s) override {
    status = s;
    ++done_calls;
  }

 private:
  int offers_ = 0;
};

// Serves blobs by digest under /v2/<any>/blobs/<digest>; `broken_once` blobs are cut after half
// of their bytes on the first request; `ignore_range` answers Range requests with a full 200.
struct BlobServer {
  std::map<std::string, std::string> blobs;
  std::atomic<bool> ignore_range{false};
  std::mutex mu;
  std::map<std::string, int> served;
  std::set<std::string> broken_once;

  void handle(const Request& req, int fd) {
    if (req.target == "/v2/") return send_all(fd, reply(200, "{}"));
    size_t at = req.target.find("/blobs/");
    std::string digest = at == std::string::npos ? "" : req.target.substr(at + 7);
    auto it = blobs.find(digest);
    if (it == blobs.end()) {
      return send_all(fd, reply(404, R"({"errors":[{"code":"BLOB_UNKNOWN","message":"x"}]})"));
    }
    const std::string& data = it->second;
    int count;
    {
      std::lock_guard lock(mu);
      count = served[digest]++;
    }
    std::string range = req.header("range");
    if (!range.empty() && !ignore_range) {
      size_t from = std::stoul(range.substr(6));
      std::string body = data.substr(from);
      return send_all(fd, reply(206, body, {"Content-Range: bytes " + std::to_string(from) + "-" +
                                                std::to_string(data.size() - 1) + "/" +
                                                std::to_string(data.size())}));
    }
    std::string full = reply(200, data);
    if (count == 0 && broken_once.count(digest)) {
      send_all(fd, std::string_view(full).substr(0, full.size() - data.size() / 2));
      return;  // the connection closes mid-body
    }
    send_all(fd, full);
  }
};

}  // namespace

TEST_CASE("a broken blob download resumes with Range and delivers every byte once") {
  BlobServer blobs;
  std::string data = pattern(300'000, 1);
  std::string digest = digest_of(data);
  blobs.blobs[digest] = data;
  blobs.broken_once.insert(digest);
  MiniServer server([&](const Request& r, int fd) { blobs.handle(r, fd); });
  RegistryClient client(fast_options());
  CollectSink sink;
  std::vector<BlobTransfer> transfers{{Descriptor{"", digest, (int64_t)data.size()}, 0, &sink}};
  auto st = client.fetch_blobs(ref_at(server.host(), "app"), transfers);
  REQUIRE(st.ok());
  REQUIRE(sink.status);
  CHECK(sink.status->ok());
  CHECK(sink.done_calls == 1);
  CHECK(sink.got.size() == data.size());
  CHECK(sink.got == data);
  bool ranged = false;
  for (const auto& r : server.requests()) {
    if (r.target.find("/blobs/") != std::string::npos && !r.header("range").empty()) {
      ranged = true;
      CHECK(r.header("range") == "bytes=" + std::to_string(data.size() - data.size() / 2) + "-");
    }
  }
  CHECK(ranged);
}

TEST_CASE("a resumed download whose server ignores Range skips what the sink has") {
  BlobServer blobs;
  blobs.ignore_range = true;
  std::string data = pattern(200'001, 2);
  std::string digest = digest_of(data);
  blobs.blobs[digest] = data;
  MiniServer server([&](const Request& r, int fd) { blobs.handle(r, fd); });
  RegistryClient client(fast_options());
  CollectSink sink;
  // The sink already holds the first 1234 bytes (a resumed ingest file).
  std::vector<BlobTransfer> transfers{{Descriptor{"", digest, (int64_t)data.size()}, 1234, &sink}};
  REQUIRE(client.fetch_blobs(ref_at(server.host(), "app"), transfers).ok());
  CHECK(sink.got == data.substr(1234));
}

TEST_CASE("more bytes than the descriptor says is EILSEQ, not retried") {
  BlobServer blobs;
  std::string data = pattern(5000, 3);
  std::string digest = digest_of(data);
  blobs.blobs[digest] = data;
  MiniServer server([&](const Request& r, int fd) { blobs.handle(r, fd); });
  RegistryClient client(fast_options());
  CollectSink sink;
  std::vector<BlobTransfer> transfers{{Descriptor{"", digest, 4000}, 0, &sink}};
  auto st = client.fetch_blobs(ref_at(server.host(), "app"), transfers);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().code == EILSEQ);
  REQUIRE(sink.status);
  CHECK(sink.status->error().code == EILSEQ);
  CHECK(sink.got.size() <= 4000);
  CHECK(blobs.served[digest] == 1);
}

TEST_CASE("parallel downloads with pausing sinks woken from another thread") {
  BlobServer blobs;
  std::vector<std::string> datas;
  for (unsigned i = 0; i < 5; ++i) {
    datas.push_back(pattern(150'000 + i * 7919, 10 + i));
    blobs.blobs[digest_of(datas.back())] = datas.back();
  }
  blobs.broken_once.insert(digest_of(datas[2]));
  MiniServer server([&](const Request& r, int fd) { blobs.handle(r, fd); });
  RegistryClient client(fast_options());

  std::mutex mu;
  std::condition_variable cv;
  std::deque<size_t> to_wake;
  bool finished = false;
  BlobFetch* fetch = nullptr;
  std::vector<std::unique_ptr<CollectSink>> sinks;
  std::vector<BlobTransfer> transfers;
  for (size_t i = 0; i < datas.size(); ++i) {
    sinks.push_back(std::make_unique<CollectSink>());
    sinks[i]->pause_every_other = true;
    sinks[i]->on_pause = [&, i] {
      std::lock_guard lock(mu);
      to_wake.push_back(i);
      cv.notify_one();
    };
    transfers.push_back({Descriptor{"", digest_of(datas[i]), (int64_t)datas[i].size()}, 0,
                         sinks[i].get()});
  }
  std::thread waker([&] {
    std::unique_lock lock(mu);
    while (true) {
      cv.wait(lock, [&] { return finished || !to_wake.empty(); });
      if (finished) return;
      size_t i = to_wake.front();
      to_wake.pop_front();
      lock.unlock();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      fetch->wake(i);
      lock.lock();
    }
  });
  auto st = client.fetch_blobs(ref_at(server.host(), "app"), transfers, 3,
                               [&](BlobFetch& f) { fetch = &f; });
  {
    std::lock_guard lock(mu);
    finished = true;
    cv.notify_one();
  }
  waker.join();
  REQUIRE(st.ok());
  for (size_t i = 0; i < datas.size(); ++i) {
    INFO("blob " << i);
    CHECK(sinks[i]->status->ok());
    CHECK(sinks[i]->done_calls == 1);
    CHECK(sinks[i]->pauses > 0);
    CHECK_FALSE(sinks[i]->redelivery_mismatch);
    CHECK(sinks[i]->got == datas[i]);
  }
}

TEST_CASE("cancel stops the fetch and every unfinished sink hears ECANCELED") {
  BlobServer blobs;
  std::string data = pattern(100'000, 5);
  blobs.blobs[digest_of(data)] = data;
  MiniServer server([&](const Request& r, int fd) { blobs.handle(r, fd); });
  RegistryClient client(fast_options());
  CollectSink a, b;
  a.pause_every_other = true;  // never woken: only cancel ends it
  b.pause_every_other = true;
  std::vector<BlobTransfer> transfers{{Descriptor{"", digest_of(data), 100'000}, 0, &a},
                                      {Descriptor{"", digest_of(data), 100'000}, 0, &b}};
  std::thread canceller;
  auto st = client.fetch_blobs(ref_at(server.host(), "app"), transfers, 2, [&](BlobFetch& f) {
    canceller = std::thread([&f] {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      f.cancel();
    });
  });
  canceller.join();
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().code == ECANCELED);
  CHECK(a.status->error().code == ECANCELED);
  CHECK(b.status->error().code == ECANCELED);
  CHECK(a.done_calls == 1);
}

TEST_CASE("503 with a short Retry-After is retried, 404 is ENOENT naming the reference") {
  std::atomic<int> calls{0};
  std::string manifest =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"})";
  MiniServer server([&](const Request& r, int fd) {
    if (r.target.starts_with("/v2/app/manifests/sha256:")) {
      return send_all(fd, reply(200, manifest, {"Content-Type: application/json"}));
    }
    if (r.target == "/v2/app/manifests/1") {
      if (calls++ == 0) return send_all(fd, reply(503, "busy", {"Retry-After: 0"}));
      return send_all(fd, reply(200, manifest, {"Content-Type: application/json"}));
    }
    send_all(fd, reply(404, R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"x"}]})"));
  });
  RegistryClient client(fast_options());
  auto m = client.get_manifest(ref_at(server.host(), "app"));
  REQUIRE(m.ok());
  CHECK(calls == 2);
  CHECK(m->body == manifest);
  CHECK(m->media_type == "application/vnd.oci.image.manifest.v1+json");  // from the document
  CHECK(m->digest == digest_of(manifest));
  auto missing = client.get_manifest(ref_at(server.host(), "app", "nope"));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == ENOENT);
  CHECK(missing.error().message == server.host() + "/app:nope: manifest unknown (HTTP 404)");
  // The digest in the reference is checked against the body.
  Reference pinned{server.host(), "app", "1", digest_of("other")};
  auto bad = client.get_manifest(pinned);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == EILSEQ);
  CHECK(bad.error().message.find("digest mismatch") != std::string::npos);
}

TEST_CASE("connection refused is ECONNREFUSED naming the reference") {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);  // the port is now closed
  std::string host = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  RegistryOptions o = fast_options();
  o.max_attempts = 2;
  RegistryClient client(o);
  auto m = client.get_manifest(ref_at(host, "app"));
  REQUIRE_FALSE(m.ok());
  CHECK(m.error().code == ECONNREFUSED);
  CHECK(m.error().message == host + "/app:1: cannot connect: Connection refused");
}

TEST_CASE("Bearer token flow: scope and service asked for, token cached and sent") {
  MiniServer tokens([&](const Request& r, int fd) {
    if (r.header("authorization") != "Basic " + base64_encode("alice:wonderland")) {
      return send_all(fd, reply(401, R"({"errors":[{"code":"UNAUTHORIZED","message":"no"}]})"));
    }
    send_all(fd, reply(200, R"({"token":"tok123","expires_in":300})"));
  });
  MiniServer registry([&](const Request& r, int fd) {
    if (r.header("authorization") != "Bearer tok123") {
      return send_all(fd, reply(401, R"({"errors":[{"code":"UNAUTHORIZED","message":"auth"}]})",
                                {"WWW-Authenticate: Bearer realm=\"http://" + tokens.host() +
                                 "/token\",service=\"svc, one\",scope=\"repository:app:pull\""}));
    }
    send_all(fd, reply(200, "{}", {"Content-Type: application/vnd.oci.image.index.v1+json"}));
  });
  RegistryOptions o = fast_options();
  std::string asked_for;
  o.credentials = [&](const std::string& host) -> std::optional<Credentials> {
    asked_for = host;
    return Credentials{"alice", "wonderland", ""};
  };
  RegistryClient client(o);
  REQUIRE(client.get_manifest(ref_at(registry.host(), "app")).ok());
  REQUIRE(client.head_manifest(ref_at(registry.host(), "app")).ok());
  CHECK(asked_for == registry.host());
  auto treqs = tokens.requests();
  REQUIRE(treqs.size() == 1);  // the second request used the cached token
  CHECK(treqs[0].target ==
        "/token?service=svc%2C%20one&scope=repository%3Aapp%3Apull&account=alice");

  // Without credentials the token server refuses: EACCES with its message.
  RegistryClient anonymous(fast_options());
  auto denied = anonymous.get_manifest(ref_at(registry.host(), "app"));
  REQUIRE_FALSE(denied.ok());
  CHECK(denied.error().code == EACCES);
  CHECK(denied.error().message.find("authentication required (HTTP 401): unauthorized: no") !=
        std::string::npos);
}

TEST_CASE("credentials are not sent along a redirect to another host") {
  std::string data = pattern(1000, 7);
  MiniServer storage([&](const Request&, int fd) { send_all(fd, reply(200, data)); });
  MiniServer registry([&](const Request& r, int fd) {
    if (r.header("authorization").empty()) {
      return send_all(fd, reply(401, "", {"WWW-Authenticate: Basic realm=\"reg\""}));
    }
    if (r.target == "/v2/") return send_all(fd, reply(200, "{}"));
    send_all(fd, reply(307, "", {"Location: http://" + storage.host() + "/blob?sig=1"}));
  });
  RegistryOptions o = fast_options();
  o.credentials = [](const std::string&) { return Credentials{"alice", "wonderland", ""}; };
  RegistryClient client(o);
  Descriptor d{"", digest_of(data), 1000};
  auto small = client.get_blob(ref_at(registry.host(), "app"), d);
  REQUIRE(small.ok());
  CHECK(*small == data);
  CollectSink sink;
  std::vector<BlobTransfer> transfers{{d, 0, &sink}};
  REQUIRE(client.fetch_blobs(ref_at(registry.host(), "app"), transfers).ok());
  CHECK(sink.got == data);
  auto reqs = storage.requests();
  REQUIRE(reqs.size() == 2);
  for (const auto& r : reqs) CHECK(r.header("authorization").empty());
  bool registry_saw_basic = false;
  for (const auto& r : registry.requests()) {
    if (r.header("authorization") == "Basic " + base64_encode("alice:wonderland")) {
      registry_saw_basic = true;
    }
  }
  CHECK(registry_saw_basic);
}

TEST_CASE("Basic auth without credentials is EACCES with the registry's message") {
  MiniServer registry([&](const Request&, int fd) {
    send_all(fd, reply(401, R"({"errors":[{"code":"UNAUTHORIZED","message":"login first"}]})",
                       {"WWW-Authenticate: Basic realm=\"reg\""}));
  });
  RegistryClient client(fast_options());
  auto m = client.get_manifest(ref_at(registry.host(), "app"));
  REQUIRE_FALSE(m.ok());
  CHECK(m.error().code == EACCES);
  CHECK(m.error().message == registry.host() +
                                 "/app:1: authentication required (HTTP 401): unauthorized: "
                                 "login first");
  Status login = client.check_login(registry.host(), Credentials{"bob", "x", ""});
  CHECK(login.error().code == EACCES);
}

TEST_CASE("chunked upload follows each Location and sends Content-Range") {
  std::string data = pattern(2500, 9);
  std::string digest = digest_of(data);
  std::mutex mu;
  std::string received;
  MiniServer registry([&](const Request& r, int fd) {
    if (r.method == "POST") {
      return send_all(fd, reply(202, "", {"Location: /v2/app/blobs/uploads/s0?_state=a"}));
    }
    if (r.method == "PATCH") {
      std::lock_guard lock(mu);
      received += r.body;
      std::string next = "http://" + std::string(r.header("host")) + "/v2/app/blobs/uploads/s" +
                         std::to_string(received.size());
      return send_all(fd, reply(202, "", {"Location: " + next}));
    }
    if (r.method == "PUT") return send_all(fd, reply(201, ""));
    send_all(fd, reply(200, "{}"));
  });
  RegistryClient client(fast_options());
  size_t pos = 0;
  auto read = [&](char* buf, size_t n) -> Result<size_t> {
    size_t k = std::min<size_t>({n, data.size() - pos, 700});  // short reads on purpose
    std::memcpy(buf, data.data() + pos, k);
    pos += k;
    return k;
  };
  auto rewind = [&]() -> Status {
    pos = 0;
    return {};
  };
  REQUIRE(client.upload_blob(ref_at(registry.host(), "app"), Descriptor{"", digest, 2500}, read,
                             rewind, 1000)
              .ok());
  CHECK(received == data);
  std::vector<std::string> ranges, targets;
  for (const auto& r : registry.requests()) {
    if (r.method == "PATCH") ranges.push_back(r.header("content-range"));
    if (r.method == "PATCH" || r.method == "PUT") targets.push_back(r.target);
  }
  CHECK(ranges == std::vector<std::string>{"0-999", "1000-1999", "2000-2499"});
  CHECK(targets == std::vector<std::string>{"/v2/app/blobs/uploads/s0?_state=a",
                                            "/v2/app/blobs/uploads/s1000",
                                            "/v2/app/blobs/uploads/s2000",
                                            "/v2/app/blobs/uploads/s2500?digest=" +
                                                url_escape(digest)});
}
