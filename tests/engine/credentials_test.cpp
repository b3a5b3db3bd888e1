// CredentialStore: Docker's config.json read and rewritten with unknown keys kept.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "stack/common/atomic_file.h"
#include "stack/engine/image/registry.h"

namespace fs = std::filesystem;
using stack::engine::image::CredentialStore;
using stack::engine::image::Credentials;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/credentials_test.XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::string slurp(const std::string& path) { return stack::read_file(path).value(); }

}  // namespace

TEST_CASE("a missing file is an empty store, set creates it 0600 in a 0700 directory") {
  TempDir dir;
  std::string path = dir.path + "/docker/config.json";
  auto store = CredentialStore::load(path);
  REQUIRE(store.ok());
  CHECK_FALSE(store->get("127.0.0.1:5000"));
  REQUIRE(store->set("127.0.0.1:5000", Credentials{"alice", "wonder:land", ""}).ok());
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  REQUIRE(::stat((dir.path + "/docker").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
  auto doc = nlohmann::json::parse(slurp(path));
  // base64("alice:wonder:land"): the password may contain ':'.
  CHECK(doc["auths"]["127.0.0.1:5000"]["auth"] == "YWxpY2U6d29uZGVyOmxhbmQ=");
  auto again = CredentialStore::load(path);
  REQUIRE(again.ok());
  auto c = again->get("127.0.0.1:5000");
  REQUIRE(c);
  CHECK(c->username == "alice");
  CHECK(c->password == "wonder:land");
}

TEST_CASE("unknown keys survive set and erase") {
  TempDir dir;
  std::string path = dir.path + "/config.json";
  REQUIRE(stack::write_file_atomic(path, R"({
  "psFormat": "table {{.ID}}",
  "auths": {"other.example": {"auth": "Ym9iOnNlY3JldA==", "email": "bob@x"}},
  "credHelpers": {"gcr.example": "helper"},
  "proxies": {"default": {"httpProxy": "http://p:3128"}}
})").ok());
  auto store = CredentialStore::load(path);
  REQUIRE(store.ok());
  REQUIRE(store->set("127.0.0.1:5000", Credentials{"alice", "pw", "idtok"}).ok());
  auto doc = nlohmann::json::parse(slurp(path));
  CHECK(doc["psFormat"] == "table {{.ID}}");
  CHECK(doc["credHelpers"]["gcr.example"] == "helper");
  CHECK(doc["proxies"]["default"]["httpProxy"] == "http://p:3128");
  CHECK(doc["auths"]["other.example"]["email"] == "bob@x");
  CHECK(doc["auths"]["127.0.0.1:5000"]["identitytoken"] == "idtok");
  auto other = store->get("other.example");
  REQUIRE(other);
  CHECK(other->username == "bob");
  CHECK(other->password == "secret");
  CHECK(store->get("127.0.0.1:5000")->identity_token == "idtok");

  REQUIRE(store->erase("127.0.0.1:5000").ok());
  doc = nlohmann::json::parse(slurp(path));
  CHECK_FALSE(doc["auths"].contains("127.0.0.1:5000"));
  CHECK(doc["auths"].contains("other.example"));
  CHECK(doc["proxies"]["default"]["httpProxy"] == "http://p:3128");
  auto missing = store->erase("127.0.0.1:5000");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == ENOENT);
  CHECK(missing.error().message == "not logged in to 127.0.0.1:5000");
}

TEST_CASE("Docker Hub is found under its legacy key and written as docker login does") {
  TempDir dir;
  std::string path = dir.path + "/config.json";
  REQUIRE(stack::write_file_atomic(
              path, R"({"auths":{"https://index.docker.io/v1/":{"auth":"dTpw"}}})")
              .ok());
  auto store = CredentialStore::load(path);
  REQUIRE(store.ok());
  for (const char* host : {"docker.io", "index.docker.io", "registry-1.docker.io"}) {
    auto c = store->get(host);
    REQUIRE(c);
    CHECK(c->username == "u");
    CHECK(c->password == "p");
  }
  REQUIRE(store->set("docker.io", Credentials{"v", "q", ""}).ok());
  auto doc = nlohmann::json::parse(slurp(path));
  CHECK(doc["auths"].size() == 1);
  CHECK(doc["auths"]["https://index.docker.io/v1/"]["auth"] == "djpx");
  // URL-shaped keys of other registries match their host.
  REQUIRE(store->set("https://reg.example/v2/", Credentials{"w", "r", ""}).ok());
  CHECK(store->get("reg.example")->username == "w");
}

TEST_CASE("username/password fields, and entries that say nothing") {
  TempDir dir;
  std::string path = dir.path + "/config.json";
  REQUIRE(stack::write_file_atomic(path, R"({"auths":{"a.example":{"username":"x","password":"y"},
    "b.example":{},"c.example":{"auth":"!!notbase64"}}})")
              .ok());
  auto store = CredentialStore::load(path);
  REQUIRE(store.ok());
  CHECK(store->get("a.example")->password == "y");
  CHECK_FALSE(store->get("b.example"));
  CHECK_FALSE(store->get("c.example"));
}

TEST_CASE("a malformed file is an error naming it, and is never overwritten") {
  TempDir dir;
  std::string path = dir.path + "/config.json";
  REQUIRE(stack::write_file_atomic(path, "{\"auths\": [").ok());
  auto store = CredentialStore::load(path);
  REQUIRE_FALSE(store.ok());
  CHECK(store.error().code == EINVAL);
  CHECK(store.error().message == path + ": not valid JSON");
  REQUIRE(stack::write_file_atomic(path, R"({"auths": []})").ok());
  auto wrong = CredentialStore::load(path);
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.error().message == path + ": \"auths\" must be an object");
}

TEST_CASE("default path follows DOCKER_CONFIG, then HOME") {
  const char* old_dc = std::getenv("DOCKER_CONFIG");
  const char* old_home = std::getenv("HOME");
  std::string saved_dc = old_dc ? old_dc : "", saved_home = old_home ? old_home : "";
  ::setenv("DOCKER_CONFIG", "/etc/dc", 1);
  CHECK(CredentialStore::default_path() == "/etc/dc/config.json");
  ::unsetenv("DOCKER_CONFIG");
  ::setenv("HOME", "/home/x", 1);
  CHECK(CredentialStore::default_path() == "/home/x/.docker/config.json");
  if (old_dc) ::setenv("DOCKER_CONFIG", saved_dc.c_str(), 1);
  if (old_home) ::setenv("HOME", saved_home.c_str(), 1);
}
