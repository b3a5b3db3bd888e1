// Image references against Docker's documented behaviour (distribution/reference's
// normalize_test.go and reference_test.go, go-digest v1.0.0, `docker pull` messages).
#include <catch2/catch.hpp>

#include <cerrno>
#include <string>
#include <vector>

#include "stack/engine/image/reference.h"

namespace img = stack::engine::image;

namespace {

const std::string kHex = "7cc4b5aefd1d0cadf8d97d4350462ba51c694ebca145b08d7d41b41acc8db5aa";
const std::string kDigest = "sha256:" + kHex;

struct Valid {
  std::string input;
  std::string canonical;
  std::string familiar;
};

struct Invalid {
  std::string input;
  std::string message;
};

}  // namespace

TEST_CASE("parse_reference normalizes as docker does") {
  const std::string hex512(128, 'e');
  const std::vector<Valid> cases = {
      {"busybox", "docker.io/library/busybox:latest", "busybox:latest"},
      {"library/busybox", "docker.io/library/busybox:latest", "busybox:latest"},
      {"docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest"},
      {"docker.io/library/busybox", "docker.io/library/busybox:latest", "busybox:latest"},
      {"index.docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest"},
      {"index.docker.io/library/busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"},
      {"busybox:1.36.1-musl", "docker.io/library/busybox:1.36.1-musl", "busybox:1.36.1-musl"},
      {"busybox:LATEST", "docker.io/library/busybox:LATEST", "busybox:LATEST"},
      {"busybox:_x", "docker.io/library/busybox:_x", "busybox:_x"},
      {"user/app", "docker.io/user/app:latest", "user/app:latest"},
      {"user/team/app:v2", "docker.io/user/team/app:v2", "user/team/app:v2"},
      // Only a single component after "library/" is an official image.
      {"docker.io/library/a/b", "docker.io/library/a/b:latest", "library/a/b:latest"},
      {"a__b/c-d--e_f.g:T_a.g-1", "docker.io/a__b/c-d--e_f.g:T_a.g-1", "a__b/c-d--e_f.g:T_a.g-1"},
      {"localhost/app", "localhost/app:latest", "localhost/app:latest"},
      {"localhost:5000/a/b:1", "localhost:5000/a/b:1", "localhost:5000/a/b:1"},
      {"[::1]:5000/x", "[::1]:5000/x:latest", "[::1]:5000/x:latest"},
      {"[2001:db8::1]/x:y", "[2001:db8::1]/x:y", "[2001:db8::1]/x:y"},
      {"myhost.example.com/a", "myhost.example.com/a:latest", "myhost.example.com/a:latest"},
      {"127.0.0.1:5000/app:1", "127.0.0.1:5000/app:1", "127.0.0.1:5000/app:1"},
      {"myregistry:5000/app", "myregistry:5000/app:latest", "myregistry:5000/app:latest"},
      {"ghcr.io/owner/repo:sha-abc", "ghcr.io/owner/repo:sha-abc", "ghcr.io/owner/repo:sha-abc"},
      {"a.b-c/d", "a.b-c/d:latest", "a.b-c/d:latest"},
      // An uppercase first component cannot be a namespace, so docker takes it as a host.
      {"Foo/bar", "Foo/bar:latest", "Foo/bar:latest"},
      {"busybox@" + kDigest, "docker.io/library/busybox@" + kDigest, "busybox@" + kDigest},
      {"busybox:1.36@" + kDigest, "docker.io/library/busybox:1.36@" + kDigest,
       "busybox:1.36@" + kDigest},
      {"localhost:5000/x@" + kDigest, "localhost:5000/x@" + kDigest, "localhost:5000/x@" + kDigest},
      {"busybox@sha512:" + hex512, "docker.io/library/busybox@sha512:" + hex512,
       "busybox@sha512:" + hex512},
      // Only a bare 64-hex string is refused as an image ID; with a tag it is a name.
      {kHex + ":v1", "docker.io/library/" + kHex + ":v1", kHex + ":v1"},
      {"busybox:" + std::string(128, 't'), "docker.io/library/busybox:" + std::string(128, 't'),
       "busybox:" + std::string(128, 't')},
      {"u/" + std::string(253, 'a'), "docker.io/u/" + std::string(253, 'a') + ":latest",
       "u/" + std::string(253, 'a') + ":latest"},
  };
  for (const auto& c : cases) {
    INFO("input: " << c.input);
    auto ref = img::parse_reference(c.input);
    REQUIRE(ref.ok());
    CHECK(ref->string() == c.canonical);
    CHECK(ref->familiar() == c.familiar);
  }
}

TEST_CASE("parse_reference rejects with docker's messages") {
  const std::string upper_hex = "sha256:" + std::string(64, 'A');
  const std::vector<Invalid> cases = {
      {"", "invalid reference format"},
      {"Busybox", "invalid reference format: repository name (library/Busybox) must be lowercase"},
      {"UPPER", "invalid reference format: repository name (library/UPPER) must be lowercase"},
      {"user/App:1", "invalid reference format: repository name (user/App) must be lowercase"},
      {"example.com/Foo", "invalid reference format: repository name (Foo) must be lowercase"},
      {"Foo/Bar", "invalid reference format: repository name (Bar) must be lowercase"},
      {kHex, "invalid repository name (" + kHex + "), cannot specify 64-byte hexadecimal strings"},
      {"busybox:", "invalid reference format"},
      {"busybox:" + std::string(129, 't'), "invalid reference format"},
      {"busybox:-tag", "invalid reference format"},
      {"busybox:.tag", "invalid reference format"},
      {"busybox:tag:extra", "invalid reference format"},
      {"busybox:1.0@", "invalid reference format"},
      {"busybox@sha256:abc", "invalid reference format"},
      {"busybox@sha256:" + std::string(40, 'a'), "invalid checksum digest length"},
      {"busybox@" + upper_hex, "invalid checksum digest format"},
      {"busybox@md5:" + std::string(32, 'a'), "unsupported digest algorithm"},
      {"busybox:1@MD5:" + std::string(32, 'a'), "invalid checksum digest format"},
      // Docker checks case up to the first ':', which here runs into the digest.
      {"busybox@MD5:" + std::string(32, 'a'),
       "invalid reference format: repository name (library/busybox@MD5) must be lowercase"},
      {"busybox@@" + kDigest, "invalid reference format"},
      {"-busybox", "invalid reference format"},
      {"bus..ybox", "invalid reference format"},
      {"a___b", "invalid reference format"},
      {"user/name_", "invalid reference format"},
      {"a/b/", "invalid reference format"},
      {"a//b", "invalid reference format"},
      {" busybox", "invalid reference format"},
      {"localhost:port/x", "invalid reference format"},
      {"[::1]:5000", "invalid reference format"},
      {"-host.com/x", "invalid reference format"},
      {"foo_bar.com/x", "invalid reference format"},
      {"u/" + std::string(254, 'a'), "repository name must not be more than 255 characters"},
  };
  for (const auto& c : cases) {
    INFO("input: " << c.input);
    auto ref = img::parse_reference(c.input);
    REQUIRE_FALSE(ref.ok());
    CHECK(ref.error().message == c.message);
    CHECK(ref.error().code == EINVAL);
  }
}

TEST_CASE("parse_reference fills the fields and names the input in errors") {
  auto ref = img::parse_reference("localhost:5000/team/app:1.2@" + kDigest);
  REQUIRE(ref.ok());
  CHECK(ref->domain == "localhost:5000");
  CHECK(ref->path == "team/app");
  CHECK(ref->tag == "1.2");
  CHECK(ref->digest == kDigest);
  CHECK(ref->name() == "localhost:5000/team/app");

  auto digest_only = img::parse_reference("busybox@" + kDigest);
  REQUIRE(digest_only.ok());
  CHECK(digest_only->tag.empty());  // no "latest" added next to a digest
  CHECK(digest_only->digest == kDigest);

  auto bad = img::parse_reference("Busybox");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().to_string() ==
        "image \"Busybox\": invalid reference format: repository name (library/Busybox) must be "
        "lowercase");
  auto control = img::parse_reference("a\nb");
  REQUIRE_FALSE(control.ok());
  CHECK(control.error().to_string() == "image \"a\\x0ab\": invalid reference format");
}

TEST_CASE("registry_host maps docker hub to its API host") {
  CHECK(img::parse_reference("busybox")->registry_host() == "registry-1.docker.io");
  CHECK(img::parse_reference("index.docker.io/u/a")->registry_host() == "registry-1.docker.io");
  CHECK(img::parse_reference("localhost:5000/a")->registry_host() == "localhost:5000");
  CHECK(img::parse_reference("[::1]:5000/x")->registry_host() == "[::1]:5000");
  CHECK(img::parse_reference("ghcr.io/o/r")->registry_host() == "ghcr.io");
}

TEST_CASE("parse_reference_strict accepts only canonical text") {
  auto ok = img::parse_reference_strict("docker.io/library/busybox:latest");
  REQUIRE(ok.ok());
  CHECK(ok->string() == "docker.io/library/busybox:latest");
  auto untagged = img::parse_reference_strict("localhost:5000/a");
  REQUIRE(untagged.ok());
  CHECK(untagged->tag == "latest");
  auto pinned = img::parse_reference_strict("ghcr.io/o/r@" + kDigest);
  REQUIRE(pinned.ok());
  CHECK(pinned->tag.empty());

  for (std::string familiar : {"busybox", "index.docker.io/library/busybox:latest",
                               "docker.io/busybox:latest"}) {
    INFO("input: " << familiar);
    auto r = img::parse_reference_strict(familiar);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().to_string() == "image \"" + familiar + "\": repository name must be canonical");
  }
  auto bad = img::parse_reference_strict("docker.io/library/Busybox");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message ==
        "invalid reference format: repository name (library/Busybox) must be lowercase");
}

TEST_CASE("is_insecure_default allows plain HTTP only to loopback registries") {
  const std::vector<std::pair<std::string, bool>> cases = {
      {"localhost/a", true},           {"localhost:5000/a", true},
      {"LOCALHOST/a", true},           {"127.0.0.1:5000/a", true},
      {"127.255.0.3/a", true},         {"[::1]:5000/x", true},
      {"[::1]/x", true},               {"[::ffff:7f00:1]/x", true},
      {"[::2]/x", false},              {"128.0.0.1/a", false},
      {"busybox", false},              {"myhost.example.com/a", false},
      {"localhost.example.com/a", false}, {"10.0.0.1:5000/a", false},
  };
  for (const auto& [input, insecure] : cases) {
    INFO("input: " << input);
    auto ref = img::parse_reference(input);
    REQUIRE(ref.ok());
    CHECK(img::is_insecure_default(*ref) == insecure);
  }
}
