// Tests of the test fixtures themselves (support/registry_fixture.h, support/test_image.h)
// against the real docker-registry, with plain libcurl rather than our registry client: they
// prove the fixture serves what it was seeded with and enforces its auth modes, so that tests of
// the client can trust it.
#include <curl/curl.h>

#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "stack/common/sha256.h"
#include "stack/engine/image/image_config.h"
#include "support/registry_fixture.h"
#include "support/test_image.h"

namespace {

using stack::test::LocalRegistry;
using stack::test::LocalRegistryOptions;
using stack::test::RegistryAuth;
using stack::test::TestImage;

constexpr const char* kAcceptAll =
    "Accept: application/vnd.oci.image.index.v1+json, "
    "application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json";

struct Reply {
  long status = 0;
  std::string curl_error;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

size_t collect_body(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

size_t collect_header(char* data, size_t size, size_t n, void* out) {
  std::string line(data, size * n);
  size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.pop_back();
    (*static_cast<std::map<std::string, std::string>*>(out))[name] = value;
  }
  return size * n;
}

Reply http(const std::string& method, const std::string& url, std::vector<std::string> headers = {},
           const std::string& body = "", const std::string& userpwd = "") {
  Reply reply;
  CURL* curl = curl_easy_init();
  curl_slist* list = nullptr;
  for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method == "HEAD") curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  if (method == "PUT" || method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  if (!userpwd.empty()) curl_easy_setopt(curl, CURLOPT_USERPWD, userpwd.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, collect_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &reply.headers);
  CURLcode rc = curl_easy_perform(curl);
  if (rc == CURLE_OK)
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
  else
    reply.curl_error = curl_easy_strerror(rc);
  curl_slist_free_all(list);
  curl_easy_cleanup(curl);
  return reply;
}

std::string base64url_decode(std::string in) {
  for (char& c : in) c = c == '-' ? '+' : c == '_' ? '/' : c;
  while (in.size() % 4) in += '=';
  std::string out;
  int val = 0, bits = -8;
  for (char c : in) {
    const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t pos = alphabet.find(c);
    if (pos == std::string::npos) break;
    val = (val << 6) + static_cast<int>(pos);
    bits += 6;
    if (bits >= 0) {
      out += static_cast<char>((val >> bits) & 0xff);
      bits -= 8;
    }
  }
  return out;
}

nlohmann::json jwt_part(const std::string& token, int index) {
  size_t first = token.find('.'), second = token.find('.', first + 1);
  std::string part =
      index == 0 ? token.substr(0, first) : token.substr(first + 1, second - first - 1);
  return nlohmann::json::parse(base64url_decode(part));
}

TestImage small_image(const std::string& content, bool oci = true) {
  auto layer = stack::test::make_layer({layer_test::file("hello.txt", content)},
                                       stack::test::Compression::kGzip, oci);
  stack::test::ImageConfigSpec spec;
  spec.cmd = {"cat", "/hello.txt"};
  return stack::test::make_image({layer}, spec, oci);
}

// Asks the token service for `scope` as `userpwd` ("" = anonymous); returns the token or "".
std::string fetch_token(const LocalRegistry& reg, const std::string& scope,
                        const std::string& userpwd, long* status = nullptr) {
  Reply r = http("GET", reg.token_realm() + "?service=stack-test-registry&scope=" + scope, {}, "",
                 userpwd);
  if (status) *status = r.status;
  if (r.status != 200) return "";
  return nlohmann::json::parse(r.body).at("token").get<std::string>();
}

}  // namespace

TEST_CASE("anonymous registry serves a seeded manifest by tag and its blobs") {
  auto reg = LocalRegistry::start();
  TestImage image = small_image("hello\n");
  reg->seed("team/app", "v1", image);

  Reply m = http("GET", reg->base_url() + "/v2/team/app/manifests/v1", {kAcceptAll});
  INFO(reg->log());
  REQUIRE(m.status == 200);
  CHECK(m.body == image.manifest);
  CHECK(m.headers["docker-content-digest"] == image.manifest_digest);
  CHECK(m.headers["content-type"] == "application/vnd.oci.image.manifest.v1+json");

  Reply by_digest = http(
      "HEAD", reg->base_url() + "/v2/team/app/manifests/" + image.manifest_digest, {kAcceptAll});
  CHECK(by_digest.status == 200);
  CHECK(by_digest.headers["content-length"] == std::to_string(image.manifest.size()));

  Reply layer = http("GET", reg->base_url() + "/v2/team/app/blobs/" + image.layers[0].digest);
  CHECK(layer.status == 200);
  CHECK(layer.body == image.layers[0].blob);
  Reply config = http("GET", reg->base_url() + "/v2/team/app/blobs/" + image.config_digest);
  CHECK(config.body == image.config);

  // Not seeded: unknown tag, and a blob that exists globally but is not linked into this repo.
  CHECK(http("GET", reg->base_url() + "/v2/team/app/manifests/v2", {kAcceptAll}).status == 404);
  reg->put_blob("other", "unlinked");
  std::string other = "sha256:" + stack::sha256_hex("unlinked");
  CHECK(http("GET", reg->base_url() + "/v2/team/app/blobs/" + other).status == 404);
  CHECK(http("GET", reg->base_url() + "/v2/other/blobs/" + other).body == "unlinked");

  CHECK(reg->tag_digest("team/app", "v1") == image.manifest_digest);
  CHECK(reg->has_layer_link("team/app", image.layers[0].digest));
  CHECK_FALSE(reg->has_layer_link("team/app", other));
}

TEST_CASE("re-seeding a tag while the registry runs is seen at once") {
  auto reg = LocalRegistry::start();
  TestImage one = small_image("one"), two = small_image("two", false);
  reg->seed("app", "latest", one);
  CHECK(http("GET", reg->base_url() + "/v2/app/manifests/latest", {kAcceptAll})
            .headers["docker-content-digest"] == one.manifest_digest);
  reg->seed("app", "latest", two);
  Reply r = http("GET", reg->base_url() + "/v2/app/manifests/latest", {kAcceptAll});
  CHECK(r.headers["docker-content-digest"] == two.manifest_digest);
  CHECK(r.headers["content-type"] == "application/vnd.docker.distribution.manifest.v2+json");
}

TEST_CASE("the real registry accepts a TestImage pushed through its API") {
  // Proves the manifests we build are valid to Distribution (it checks every referenced blob).
  auto reg = LocalRegistry::start();
  for (bool oci : {true, false}) {
    TestImage image = small_image(oci ? "oci" : "docker", oci);
    for (const auto& [digest, data] : image.all_blobs()) {
      Reply start = http("POST", reg->base_url() + "/v2/pushed/blobs/uploads/");
      REQUIRE(start.status == 202);
      std::string location = start.headers["location"];
      if (location.rfind("http", 0) != 0) location = reg->base_url() + location;
      location +=
          (location.find('?') == std::string::npos ? "?" : "&") + std::string("digest=") + digest;
      Reply put = http("PUT", location, {"Content-Type: application/octet-stream"}, data);
      INFO(put.body);
      REQUIRE(put.status == 201);
    }
    std::string tag = oci ? "oci" : "docker";
    Reply put = http("PUT", reg->base_url() + "/v2/pushed/manifests/" + tag,
                     {"Content-Type: " + image.manifest_media_type}, image.manifest);
    INFO(put.body << reg->log());
    REQUIRE(put.status == 201);
    CHECK(put.headers["docker-content-digest"] == image.manifest_digest);
    CHECK(reg->tag_digest("pushed", tag) == image.manifest_digest);
    CHECK(reg->has_layer_link("pushed", image.layers[0].digest));
    CHECK(reg->blob(image.config_digest).value_or("") == image.config);
  }
}

TEST_CASE("basic auth: 401 without credentials, 200 with alice's") {
  LocalRegistryOptions options;
  options.auth = RegistryAuth::kBasic;
  auto reg = LocalRegistry::start(options);
  TestImage image = small_image("secret");
  reg->seed("private", "1", image);

  Reply anon = http("GET", reg->base_url() + "/v2/");
  CHECK(anon.status == 401);
  CHECK(anon.headers["www-authenticate"] == "Basic realm=\"basic-realm\"");
  CHECK(http("GET", reg->base_url() + "/v2/", {}, "", "alice:wrong").status == 401);
  CHECK(http("GET", reg->base_url() + "/v2/", {}, "", "alice:wonderland").status == 200);
  CHECK(http("GET", reg->base_url() + "/v2/private/manifests/1", {kAcceptAll}).status == 401);
  Reply m = http("GET", reg->base_url() + "/v2/private/manifests/1", {kAcceptAll}, "",
                 "alice:wonderland");
  CHECK(m.status == 200);
  CHECK(m.body == image.manifest);
}

TEST_CASE("token auth: challenge, token for alice, Bearer pull, forged tokens refused") {
  LocalRegistryOptions options;
  options.auth = RegistryAuth::kToken;
  options.users = {{"alice", "wonderland", true}, {"bob", "builder", false}};
  auto reg = LocalRegistry::start(options);
  TestImage image = small_image("tokens");
  reg->seed("team/app", "v1", image);
  const std::string manifest_url = reg->base_url() + "/v2/team/app/manifests/v1";
  INFO(reg->log());

  Reply base = http("GET", reg->base_url() + "/v2/");
  CHECK(base.status == 401);
  CHECK(base.headers["www-authenticate"] ==
        "Bearer realm=\"" + reg->token_realm() + "\",service=\"stack-test-registry\"");
  Reply anon = http("GET", manifest_url, {kAcceptAll});
  CHECK(anon.status == 401);
  CHECK(anon.headers["www-authenticate"].find("scope=\"repository:team/app:pull\"") !=
        std::string::npos);

  std::string token = fetch_token(*reg, "repository:team/app:pull,push", "alice:wonderland");
  REQUIRE_FALSE(token.empty());
  nlohmann::json header = jwt_part(token, 0), claims = jwt_part(token, 1);
  CHECK(header["alg"] == "ES256");
  CHECK(header["x5c"].size() == 1);
  CHECK(claims["iss"] == "stack-test-issuer");
  CHECK(claims["aud"] == "stack-test-registry");
  CHECK(claims["sub"] == "alice");
  CHECK(claims["access"] ==
        nlohmann::json::parse(
            R"([{"type":"repository","name":"team/app","actions":["pull","push"]}])"));

  Reply m = http("GET", manifest_url, {kAcceptAll, "Authorization: Bearer " + token});
  CHECK(m.status == 200);
  CHECK(m.headers["docker-content-digest"] == image.manifest_digest);
  // The token is for team/app only.
  CHECK(http("GET", reg->base_url() + "/v2/other/manifests/v1",
             {kAcceptAll, "Authorization: Bearer " + token})
            .status == 401);

  SECTION("bob may pull but not push; wrong passwords and anonymous requests get 401") {
    std::string bobs = fetch_token(*reg, "repository:team/app:pull,push", "bob:builder");
    CHECK(jwt_part(bobs, 1)["access"][0]["actions"] == nlohmann::json::parse(R"(["pull"])"));
    CHECK(http("POST", reg->base_url() + "/v2/team/app/blobs/uploads/",
               {"Authorization: Bearer " + bobs})
              .status == 401);
    long status = 0;
    CHECK(fetch_token(*reg, "repository:team/app:pull", "bob:wrong", &status).empty());
    CHECK(status == 401);
    CHECK(fetch_token(*reg, "repository:team/app:pull", "", &status).empty());
    CHECK(status == 401);
    auto log = reg->token_log();
    REQUIRE(log.size() == 4);
    CHECK(log[1].user == "bob");
    CHECK(log[1].scopes == std::vector<std::string>{"repository:team/app:pull,push"});
    CHECK(log[3].status == 401);
    CHECK(reg->token_requests() == 4);
  }
  SECTION("alice's push token opens an upload session") {
    CHECK(http("POST", reg->base_url() + "/v2/team/app/blobs/uploads/",
               {"Authorization: Bearer " + token})
              .status == 202);
  }
  SECTION("unsigned, foreign-signed and expired tokens are refused") {
    std::string unsigned_token = token.substr(0, token.rfind('.') + 1);
    CHECK(
        http("GET", manifest_url, {kAcceptAll, "Authorization: Bearer " + unsigned_token}).status ==
        401);
    // Same claims, signature bytes altered.
    std::string tampered = token;
    tampered[tampered.size() - 5] = tampered[tampered.size() - 5] == 'A' ? 'B' : 'A';
    CHECK(http("GET", manifest_url, {kAcceptAll, "Authorization: Bearer " + tampered}).status ==
          401);
    // A well-formed token from another service's key is not trusted by this registry.
    LocalRegistryOptions other_options;
    other_options.auth = RegistryAuth::kToken;
    auto other = LocalRegistry::start(other_options);
    std::string foreign = other->issue_token("alice", {"repository:team/app:pull"});
    CHECK(http("GET", manifest_url, {kAcceptAll, "Authorization: Bearer " + foreign}).status ==
          401);
    // Distribution allows 60 s of clock skew on exp.
    std::string expired = reg->issue_token("alice", {"repository:team/app:pull"}, -120);
    CHECK(http("GET", manifest_url, {kAcceptAll, "Authorization: Bearer " + expired}).status ==
          401);
    std::string good = reg->issue_token("alice", {"repository:team/app:pull"});
    CHECK(http("GET", manifest_url, {kAcceptAll, "Authorization: Bearer " + good}).status == 200);
  }
}

TEST_CASE("token auth with anonymous pull grants pull only") {
  LocalRegistryOptions options;
  options.auth = RegistryAuth::kToken;
  options.anonymous_pull = true;
  auto reg = LocalRegistry::start(options);
  reg->seed("pub", "1", small_image("public"));
  std::string token = fetch_token(*reg, "repository:pub:pull,push", "");
  REQUIRE_FALSE(token.empty());
  CHECK(jwt_part(token, 1)["access"][0]["actions"] == nlohmann::json::parse(R"(["pull"])"));
  CHECK(http("GET", reg->base_url() + "/v2/pub/manifests/1",
             {kAcceptAll, "Authorization: Bearer " + token})
            .status == 200);
  long status = 0;
  CHECK(fetch_token(*reg, "repository:pub:pull", "alice:wrong", &status).empty());
  CHECK(status == 401);
}

TEST_CASE("a multi-platform index and its children are served") {
  auto reg = LocalRegistry::start();
  using stack::engine::image::Platform;
  for (bool oci : {true, false}) {
    TestImage amd = small_image("amd64", oci), arm = small_image("arm64", oci);
    TestImage index = stack::test::make_index(
        {{Platform{"linux", "amd64", "", ""}, amd}, {Platform{"linux", "arm64", "v8", ""}, arm}},
        oci);
    std::string tag = oci ? "oci" : "docker";
    reg->seed("multi", tag, index);

    Reply r = http("GET", reg->base_url() + "/v2/multi/manifests/" + tag, {kAcceptAll});
    INFO(reg->log());
    REQUIRE(r.status == 200);
    CHECK(r.body == index.index);
    CHECK(r.headers["docker-content-digest"] == index.index_digest);
    CHECK(r.headers["content-type"] == index.index_media_type);
    auto entries = stack::engine::image::parse_index(r.body);
    REQUIRE(entries.ok());
    REQUIRE(entries->size() == 2);
    CHECK(entries->at(1).platform->variant == "v8");
    CHECK(entries->at(1).digest == arm.manifest_digest);
    Reply child =
        http("GET", reg->base_url() + "/v2/multi/manifests/" + arm.manifest_digest, {kAcceptAll});
    CHECK(child.status == 200);
    CHECK(child.body == arm.manifest);
    CHECK(http("GET", reg->base_url() + "/v2/multi/blobs/" + arm.layers[0].digest).body ==
          arm.layers[0].blob);
  }
}

TEST_CASE("stop() makes the registry unreachable") {
  auto reg = LocalRegistry::start();
  REQUIRE(http("GET", reg->base_url() + "/v2/").status == 200);
  reg->stop();
  CHECK_FALSE(reg->running());
  Reply r = http("GET", reg->base_url() + "/v2/");
  CHECK(r.status == 0);
  CHECK_FALSE(r.curl_error.empty());
}

TEST_CASE("test images are deterministic and self-consistent") {
  using stack::engine::image::parse_image_config;
  using stack::engine::image::parse_manifest;
  TestImage a = stack::test::busybox_image(), b = stack::test::busybox_image();
  CHECK(a.manifest_digest == b.manifest_digest);
  CHECK(stack::test::make_layer({layer_test::file("x", "y")}).digest ==
        stack::test::make_layer({layer_test::file("x", "y")}).digest);

  auto config = parse_image_config(a.config);
  REQUIRE(config.ok());
  CHECK(config->cmd == std::vector<std::string>{"sh"});
  CHECK(config->diff_ids == std::vector<std::string>{a.layers[0].diff_id});
  auto manifest = parse_manifest(a.manifest, a.manifest_media_type);
  REQUIRE(manifest.ok());
  CHECK(manifest->config.digest == a.config_digest);
  CHECK(manifest->layers.at(0).size == static_cast<int64_t>(a.layers[0].blob.size()));

  // The diff id is the digest of the uncompressed tar, as the unpacker computes it.
  for (const auto& layer : stack::test::whiteout_image().layers) {
    layer_test::TempDir tmp;
    auto stats = layer_test::unpack(layer.blob, tmp / "l");
    REQUIRE(stats.ok());
    CHECK(stats->diff_id == layer.diff_id);
  }
  stack::test::ImageConfigSpec spec;
  spec.exposed_ports = {"80/tcp"};
  spec.healthcheck = stack::engine::image::Healthcheck{{"CMD", "true"}, 1'000'000'000, 0, 0, 0, 3};
  auto parsed = parse_image_config(stack::test::make_config_json({}, spec));
  REQUIRE(parsed.ok());
  CHECK(parsed->exposed_ports.count("80/tcp") == 1);
  CHECK(parsed->healthcheck->retries == 3);
}
