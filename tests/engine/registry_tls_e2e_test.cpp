// The registry client, pull and push over HTTPS and HTTP/2 against the real registry serving TLS
// (LocalRegistryOptions::tls): the test CA given as RegistryOptions::ca_file, the loopback
// plain-HTTP-first probe falling back to HTTPS, multiplexed parallel blob downloads, Basic auth
// and uploads. The registry's access log shows which protocol each request used.
#include <curl/curl.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "engine/layer_test_util.h"
#include "stack/engine/image/pull.h"
#include "stack/engine/image/push.h"
#include "stack/engine/image/unpack.h"
#include "support/registry_fixture.h"
#include "support/test_data.h"
#include "support/require_ok.h"
#include "support/test_image.h"

using namespace stack::engine::image;
using stack::test::AccessLogEntry;
using stack::test::LocalRegistry;
using stack::test::LocalRegistryOptions;
using stack::test::RegistryAuth;
using stack::test::TestImage;
using stack::test::read_file;
using stack::test::random_bytes;
namespace fs = std::filesystem;

namespace {

LocalRegistryOptions tls_options(RegistryAuth auth = RegistryAuth::kNone) {
  LocalRegistryOptions o;
  o.tls = true;
  o.auth = auth;
  return o;
}

RegistryOptions client_options(const std::string& ca_file,
                               std::optional<Credentials> creds = std::nullopt) {
  RegistryOptions ro;
  ro.ca_file = ca_file;
  ro.backoff_initial_ms = 10;
  ro.max_attempts = 2;
  if (creds) ro.credentials = [c = *creds](const std::string&) { return std::optional(c); };
  return ro;
}

struct Env {
  std::unique_ptr<LocalRegistry> registry;
  layer_test::TempDir dir;
  ContentStore store;
  std::unique_ptr<RegistryClient> client;

  explicit Env(LocalRegistryOptions o = tls_options(), bool trust_ca = true,
               std::optional<Credentials> creds = std::nullopt)
      : registry(LocalRegistry::start(o)), store(*ContentStore::open(dir / "store")) {
    client = std::make_unique<RegistryClient>(
        client_options(trust_ca ? registry->ca_file() : "", std::move(creds)));
  }
  Reference ref(const std::string& repo_tag) const {
    return *parse_reference(registry->host() + "/" + repo_tag);
  }
  stack::Result<PullResult> pull(const std::string& repo_tag, PullOptions o = {}) {
    return pull_image(store, *client, ref(repo_tag), o);
  }
  // What a failed pull must not add to: layers/ and ingest/.
  std::string contents() const {
    return layer_test::list_dir(store.root() + "/layers") + "|" +
           layer_test::list_dir(store.root() + "/ingest");
  }
};

// Access log entries from index `from` on (entries before it belong to earlier steps).
std::vector<AccessLogEntry> log_since(const LocalRegistry& r, size_t from) {
  auto all = r.access_log();
  return from >= all.size() ? std::vector<AccessLogEntry>{}
                            : std::vector<AccessLogEntry>(all.begin() + from, all.end());
}

std::string describe(const std::vector<AccessLogEntry>& entries) {
  std::string out;
  for (const auto& e : entries)
    out += e.method + " " + e.target + " " + e.protocol + " " + std::to_string(e.status) + "\n";
  return out;
}

// The successful GETs of blob `digest` in `entries`.
std::vector<AccessLogEntry> blob_gets(const std::vector<AccessLogEntry>& entries,
                                      const std::string& repo, const std::string& digest) {
  std::vector<AccessLogEntry> out;
  for (const auto& e : entries)
    if (e.method == "GET" && e.target == "/v2/" + repo + "/blobs/" + digest) out.push_back(e);
  return out;
}

// Connections to 127.0.0.1:`port` that the server closed first: they sit in TIME_WAIT with the
// registry's port as their local port. Go closes a connection at once only after answering
// plain HTTP on its TLS port with 400 (HTTP/2 connections are kept open), so this counts the
// client's plain-HTTP probes, which the access log does not show. A client that closes with
// part of the 400 unread sends RST and leaves no TIME_WAIT: count only after GETs.
int server_closed_connections(int port) {
  char local[32];
  std::snprintf(local, sizeof local, "0100007F:%04X", port);
  std::ifstream in("/proc/net/tcp");
  std::string line;
  std::getline(in, line);  // header
  int n = 0;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string slot, local_addr, remote_addr, state;
    fields >> slot >> local_addr >> remote_addr >> state;
    if (local_addr == local && state == "06") ++n;  // TCP_TIME_WAIT
  }
  return n;
}

struct CurlReply {
  CURLcode code = CURLE_OK;
  long status = 0;
  long http_version = 0;
};

// GET url with plain libcurl (not the client under test), trusting ca_file if not empty.
CurlReply curl_get(const std::string& url, const std::string& ca_file) {
  CurlReply reply;
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  if (!ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, ca_file.c_str());
  curl_easy_setopt(
      curl, CURLOPT_WRITEFUNCTION,
      +[](char*, size_t size, size_t n, void*) -> size_t { return size * n; });
  reply.code = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
  curl_easy_getinfo(curl, CURLINFO_HTTP_VERSION, &reply.http_version);
  curl_easy_cleanup(curl);
  return reply;
}

}  // namespace

TEST_CASE("tls fixture: HTTPS with HTTP/2 for clients trusting its CA, 400 to plain HTTP") {
  auto r = LocalRegistry::start(tls_options());
  REQUIRE(r->base_url() == "https://" + r->host());
  REQUIRE(fs::exists(r->ca_file()));
  CHECK(LocalRegistry::start()->ca_file().empty());

  CurlReply ok = curl_get(r->base_url() + "/v2/", r->ca_file());
  CHECK(ok.code == CURLE_OK);
  CHECK(ok.status == 200);
  CHECK(ok.http_version == CURL_HTTP_VERSION_2_0);
  // The certificate names localhost too.
  CurlReply by_name = curl_get("https://localhost:" + std::to_string(r->port()) + "/v2/",
                               r->ca_file());
  CHECK(by_name.code == CURLE_OK);
  CHECK(by_name.status == 200);
  // Without the CA the chain does not verify.
  CurlReply untrusted = curl_get(r->base_url() + "/v2/", "");
  CHECK(untrusted.code != CURLE_OK);
  // Plain HTTP on the TLS port: Go's bare 400, closed by the server, not logged.
  const size_t logged = r->access_log().size();
  const int closed = server_closed_connections(r->port());
  CurlReply plain = curl_get("http://" + r->host() + "/v2/", "");
  CHECK(plain.code == CURLE_OK);
  CHECK(plain.status == 400);
  CHECK(r->access_log().size() == logged);
  CHECK(server_closed_connections(r->port()) == closed + 1);
  auto entries = r->access_log();
  REQUIRE_FALSE(entries.empty());
  CHECK(entries.back().method == "GET");
  CHECK(entries.back().target == "/v2/");
  CHECK(entries.back().protocol == "HTTP/2.0");
  CHECK(entries.back().status == 200);
}

TEST_CASE("tls pull: busybox over HTTPS with the test CA, blobs over HTTP/2, HTTP tried once") {
  Env env;
  TestImage image = stack::test::busybox_image();
  env.registry->seed("tools/busybox", "1", image);
  env.registry->seed("tools/busybox", "2", stack::test::whiteout_image());
  const int port = env.registry->port();
  const size_t before = env.registry->access_log().size();
  const int closed_before = server_closed_connections(port);

  auto r = env.pull("tools/busybox:1");
  REQUIRE_OK(r);
  CHECK(r->image.manifest_digest == image.manifest_digest);
  auto dirs = image_lower_dirs(env.store, r->image);
  REQUIRE_OK(dirs);
  REQUIRE(dirs->size() == 1);
  CHECK(read_file((*dirs)[0] + "/bin/busybox") == read_file("/bin/busybox"));

  auto entries = log_since(*env.registry, before);
  INFO(describe(entries));
  auto gets = blob_gets(entries, "tools/busybox", image.layers[0].digest);
  REQUIRE(gets.size() == 1);
  CHECK(gets[0].protocol == "HTTP/2.0");
  CHECK(gets[0].status == 200);
  for (const auto& e : entries) CHECK(e.protocol == "HTTP/2.0");
  // Loopback: plain HTTP was tried first and refused with 400, then HTTPS.
  const int closed_first = server_closed_connections(port);
  CHECK(closed_first > closed_before);

  // The same client remembers HTTPS for the host: no further plain-HTTP attempt.
  const size_t mid = env.registry->access_log().size();
  auto second = env.pull("tools/busybox:2");
  REQUIRE_OK(second);
  CHECK(server_closed_connections(port) == closed_first);
  auto later = log_since(*env.registry, mid);
  CHECK(later.size() >= 4);  // manifest, config, three layers
  for (const auto& e : later) CHECK(e.protocol == "HTTP/2.0");

  // A new client probes again: the count above does see plain-HTTP attempts. (A GET: after a
  // HEAD curl may close with the 400's body unread, which resets the connection instead.)
  RegistryClient fresh(client_options(env.registry->ca_file()));
  REQUIRE_OK(fresh.get_manifest(env.ref("tools/busybox:1")));
  CHECK(server_closed_connections(port) > closed_first);
}

TEST_CASE("tls pull: four uncompressed multi-MiB layers in parallel over HTTP/2, exact") {
  Env env;
  constexpr size_t kSize = 3u << 20;
  std::vector<stack::test::TestLayer> layers;
  for (unsigned i = 0; i < 4; ++i)
    layers.push_back(stack::test::make_layer(
        {layer_test::file("blob" + std::to_string(i), random_bytes(kSize, 100 + i))},
        layer_test::Compression::kNone));
  TestImage image = stack::test::make_image(layers);
  env.registry->seed("big/img", "1", image);
  const size_t before = env.registry->access_log().size();

  PullOptions po;
  po.max_parallel = 4;
  auto r = env.pull("big/img:1", po);
  REQUIRE_OK(r);
  auto dirs = image_lower_dirs(env.store, r->image);
  REQUIRE_OK(dirs);
  REQUIRE(dirs->size() == 4);
  for (unsigned i = 0; i < 4; ++i) {
    // lowerdir order: top layer first.
    CHECK(read_file((*dirs)[3 - i] + "/blob" + std::to_string(i)) ==
          random_bytes(kSize, 100 + i));
    CHECK(read_file(env.store.blob_path(layers[i].digest)) == layers[i].blob);
  }
  auto entries = log_since(*env.registry, before);
  INFO(describe(entries));
  for (const auto& layer : layers) {
    auto gets = blob_gets(entries, "big/img", layer.digest);
    REQUIRE_FALSE(gets.empty());
    for (const auto& g : gets) CHECK(g.protocol == "HTTP/2.0");
    CHECK(gets.back().status == 200);
  }
}

TEST_CASE("tls pull: without the CA it fails naming the image and the certificate") {
  Env env(tls_options(), /*trust_ca=*/false);
  env.registry->seed("tools/busybox", "1", stack::test::busybox_image());
  const std::string before = env.contents();
  auto r = env.pull("tools/busybox:1");
  REQUIRE_FALSE(r.ok());
  const std::string text = r.error().to_string();
  INFO(text);
  CHECK_THAT(text, Catch::Contains("image " + env.registry->host() + "/tools/busybox:1"));
  CHECK_THAT(text, Catch::Contains("certificate", Catch::CaseSensitive::No));
  CHECK(env.contents() == before);
  CHECK(env.store.list().empty());
  // No request got past the TLS handshake.
  CHECK(blob_gets(env.registry->access_log(), "tools/busybox",
                  stack::test::busybox_image().layers[0].digest)
            .empty());
}

TEST_CASE("tls pull: Basic auth over HTTPS") {
  TestImage image = stack::test::busybox_image();
  SECTION("with credentials") {
    Env env(tls_options(RegistryAuth::kBasic), true, Credentials{"alice", "wonderland", ""});
    env.registry->seed("priv/img", "1", image);
    const size_t before = env.registry->access_log().size();
    auto r = env.pull("priv/img:1");
    REQUIRE_OK(r);
    CHECK(r->image.manifest_digest == image.manifest_digest);
    auto entries = log_since(*env.registry, before);
    INFO(describe(entries));
    auto gets = blob_gets(entries, "priv/img", image.layers[0].digest);
    REQUIRE_FALSE(gets.empty());
    CHECK(gets.back().status == 200);
    CHECK(gets.back().protocol == "HTTP/2.0");
    // The registry did challenge: anonymous access is refused with 401 first.
    CHECK(std::any_of(entries.begin(), entries.end(),
                      [](const AccessLogEntry& e) { return e.status == 401; }));
  }
  SECTION("without credentials: refused") {
    Env env(tls_options(RegistryAuth::kBasic));
    env.registry->seed("priv/img", "1", image);
    auto r = env.pull("priv/img:1");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == EACCES);
    CHECK_THAT(r.error().to_string(), Catch::Contains("priv/img:1"));
  }
}

TEST_CASE("tls push: an image pulled from a plain registry is pushed over HTTPS") {
  auto plain = LocalRegistry::start();
  TestImage image = stack::test::busybox_image();
  plain->seed("src/bb", "1", image);
  Env env;  // the TLS registry, and a client trusting its CA (plain HTTP needs none)
  auto pulled = pull_image(env.store, *env.client, *parse_reference(plain->host() + "/src/bb:1"));
  REQUIRE_OK(pulled);

  auto entry = pulled->image;
  entry.reference = env.registry->host() + "/copy/bb:2";
  REQUIRE_OK(env.store.tag(entry.reference, entry));
  const size_t before = env.registry->access_log().size();
  auto pushed = push_image(env.store, *env.client, entry.reference, env.ref("copy/bb:2"));
  REQUIRE_OK(pushed);
  CHECK(pushed->manifest_digest == image.manifest_digest);
  CHECK(pushed->blobs_uploaded == 2);
  CHECK(env.registry->tag_digest("copy/bb", "2") == image.manifest_digest);
  CHECK(env.registry->blob(image.layers[0].digest) == image.layers[0].blob);
  CHECK(env.registry->blob(image.config_digest) == image.config);
  CHECK(env.registry->has_layer_link("copy/bb", image.layers[0].digest));

  auto entries = log_since(*env.registry, before);
  INFO(describe(entries));
  auto manifest_put = std::find_if(entries.begin(), entries.end(), [](const AccessLogEntry& e) {
    return e.method == "PUT" && e.target == "/v2/copy/bb/manifests/2";
  });
  REQUIRE(manifest_put != entries.end());
  CHECK(manifest_put->status == 201);
  CHECK(manifest_put->protocol == "HTTP/2.0");
}

TEST_CASE("tls: a registry's own CA in a certs.d directory (Docker's layout) is trusted") {
  auto registry = LocalRegistry::start(tls_options());
  registry->seed("tools/busybox", "1", stack::test::busybox_image());
  layer_test::TempDir dir;
  auto store = ContentStore::open(dir / "store");
  REQUIRE_OK(store);
  RegistryOptions ro;
  ro.certs_dir = dir / "certs.d";
  // Another registry's directory: not ours, so not trusted for this one.
  fs::create_directories(ro.certs_dir + "/127.0.0.1:1");
  fs::copy_file(registry->ca_file(), ro.certs_dir + "/127.0.0.1:1/ca.crt");
  {
    RegistryClient client(ro);
    auto r = pull_image(*store, client, *parse_reference(registry->host() + "/tools/busybox:1"));
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().to_string(), Catch::Contains("certificate"));
  }
  fs::create_directories(ro.certs_dir + "/" + registry->host());
  fs::copy_file(registry->ca_file(), ro.certs_dir + "/" + registry->host() + "/ca.crt");
  RegistryClient client(ro);
  auto r = pull_image(*store, client, *parse_reference(registry->host() + "/tools/busybox:1"));
  REQUIRE_OK(r);
  CHECK(image_lower_dirs(*store, r->image).ok());
}
