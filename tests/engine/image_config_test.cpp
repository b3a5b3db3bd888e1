// Image config, manifest and index parsing; platform normalization and selection.
#include <catch2/catch.hpp>
#include <string>

#include "stack/engine/image/image_config.h"

using namespace stack::engine::image;

namespace {

const std::string kD1 = "sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb";
const std::string kD2 = "sha256:3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d";
const std::string kD3 = "sha256:2e7d2c03a9507ae265ecf5b5356885a53393a2029d241394997265a1a25aefc6";

std::string error_of(const stack::Error& e) { return e.to_string(); }

template <class T>
std::string error_text(const stack::Result<T>& r) {
  REQUIRE_FALSE(r.ok());
  return error_of(r.error());
}

std::string config_with(const std::string& config_body) {
  return R"({"architecture":"amd64","os":"linux","config":)" + config_body +
         R"(,"rootfs":{"type":"layers","diff_ids":[]}})";
}

Descriptor entry(const std::string& digest, Platform p) {
  Descriptor d;
  d.media_type = "application/vnd.oci.image.manifest.v1+json";
  d.digest = digest;
  d.size = 1;
  d.platform = std::move(p);
  return d;
}

}  // namespace

TEST_CASE("an image config is parsed field by field") {
  std::string json = R"({
    "architecture": "arm", "os": "linux", "variant": "v7",
    "config": {
      "User": "app:app", "WorkingDir": "/srv", "StopSignal": "SIGQUIT",
      "Entrypoint": ["/entry.sh"], "Cmd": ["serve", "--port", "80"],
      "Env": ["PATH=/usr/bin", "A=b=c"],
      "ExposedPorts": {"80/tcp": {}, "53/udp": {}},
      "Volumes": {"/data": {}},
      "Labels": {"org.opencontainers.image.title": "web"},
      "Healthcheck": {"Test": ["CMD-SHELL", "curl -f localhost"], "Interval": 30000000000,
                      "Timeout": 5000000000, "StartPeriod": 1000000000,
                      "StartInterval": 2000000000, "Retries": 3}
    },
    "rootfs": {"type": "layers", "diff_ids": [")" + kD1 + R"(", ")" + kD2 + R"("]},
    "history": [{"created_by": "x"}]
  })";
  auto c = parse_image_config(json);
  REQUIRE(c.ok());
  CHECK(c->architecture == "arm");
  CHECK(c->os == "linux");
  CHECK(c->variant == "v7");
  CHECK(c->user == "app:app");
  CHECK(c->working_dir == "/srv");
  CHECK(c->stop_signal == "SIGQUIT");
  CHECK(c->entrypoint == std::vector<std::string>{"/entry.sh"});
  CHECK(c->cmd == std::vector<std::string>{"serve", "--port", "80"});
  CHECK(c->env == std::vector<std::string>{"PATH=/usr/bin", "A=b=c"});
  CHECK(c->exposed_ports == std::set<std::string>{"53/udp", "80/tcp"});
  CHECK(c->volumes == std::set<std::string>{"/data"});
  CHECK(c->labels == std::map<std::string, std::string>{{"org.opencontainers.image.title", "web"}});
  REQUIRE(c->healthcheck.has_value());
  CHECK(c->healthcheck->test == std::vector<std::string>{"CMD-SHELL", "curl -f localhost"});
  CHECK(c->healthcheck->interval_ns == 30000000000);
  CHECK(c->healthcheck->timeout_ns == 5000000000);
  CHECK(c->healthcheck->start_period_ns == 1000000000);
  CHECK(c->healthcheck->start_interval_ns == 2000000000);
  CHECK(c->healthcheck->retries == 3);
  CHECK(c->diff_ids == std::vector<std::string>{kD1, kD2});
}

TEST_CASE("Docker's nulls count as absent") {
  auto c = parse_image_config(config_with(R"({"Cmd":null,"Entrypoint":null,"Env":null,"Labels":null,"Healthcheck":null})"));
  REQUIRE(c.ok());
  CHECK(c->cmd.empty());
  CHECK(c->entrypoint.empty());
  CHECK_FALSE(c->healthcheck.has_value());
}

TEST_CASE("image config errors name the field") {
  CHECK(error_text(parse_image_config(config_with(R"({"Env":"A=b"})"))) ==
        "config.Env: expected an array of strings");
  CHECK(error_text(parse_image_config(config_with(R"({"Cmd":["a",1]})"))) ==
        "config.Cmd: expected an array of strings");
  CHECK(error_text(parse_image_config(config_with(R"({"Labels":{"a":1}})"))) ==
        "config.Labels.a: expected a string");
  CHECK(error_text(parse_image_config(config_with(R"({"Healthcheck":{"Retries":"3"}})"))) ==
        "config.Healthcheck.Retries: expected an integer");
  CHECK(error_text(parse_image_config(R"({"os":"linux"})")) == "rootfs: missing");
  CHECK(error_text(parse_image_config(R"({"rootfs":{"type":"tar","diff_ids":[]}})")) ==
        "rootfs.type: expected \"layers\", got \"tar\"");
  CHECK(error_text(parse_image_config(R"({"rootfs":{"type":"layers","diff_ids":[")" + kD1 +
                                      R"(","sha256:abc"]}})")) ==
        "rootfs.diff_ids[1]: invalid digest \"sha256:abc\"");
  CHECK(error_text(parse_image_config("[1]")) == "image config: expected a JSON object");
  CHECK(error_text(parse_image_config("{")) == "image config: not valid JSON");
}

TEST_CASE("OCI and Docker schema 2 manifests parse into config and layers") {
  std::string oci = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
    "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" + kD1 + R"(","size":7},
    "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+zstd","digest":")" + kD2 + R"(","size":100,
               "annotations":{"a":"b"}},
              {"mediaType":"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip","digest":")" + kD3 +
                    R"(","size":0,"urls":["https://example.com/l"]}],
    "annotations":{"org.opencontainers.image.created":"2024"}})";
  auto m = parse_manifest(oci, "");
  REQUIRE(m.ok());
  CHECK(m->media_type == "application/vnd.oci.image.manifest.v1+json");
  CHECK(m->config.digest == kD1);
  CHECK(m->config.size == 7);
  REQUIRE(m->layers.size() == 2);
  CHECK(m->layers[0].media_type == "application/vnd.oci.image.layer.v1.tar+zstd");
  CHECK(m->layers[0].size == 100);
  CHECK(m->layers[0].annotations == std::map<std::string, std::string>{{"a", "b"}});
  CHECK(m->layers[1].urls == std::vector<std::string>{"https://example.com/l"});
  CHECK(m->annotations.at("org.opencontainers.image.created") == "2024");

  // No mediaType in the body (allowed by OCI): the registry's Content-Type decides.
  std::string bare = R"({"schemaVersion":2,"config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":")" +
                     kD1 + R"(","size":7},"layers":[]})";
  auto docker = parse_manifest(bare, "application/vnd.docker.distribution.manifest.v2+json");
  REQUIRE(docker.ok());
  CHECK(docker->media_type == "application/vnd.docker.distribution.manifest.v2+json");
  CHECK(docker->layers.empty());
}

TEST_CASE("manifest errors: schema 1, indexes, bad descriptors") {
  CHECK(error_text(parse_manifest(R"({"schemaVersion":1,"name":"x","fsLayers":[]})", "")) ==
        "unsupported manifest (Docker schema 1)");
  CHECK(error_text(parse_manifest("{}", "application/vnd.docker.distribution.manifest.v1+prettyjws")) ==
        "unsupported manifest (Docker schema 1)");
  CHECK(error_text(parse_manifest(R"({"schemaVersion":2,"manifests":[]})", "")) ==
        "expected an image manifest, got an image index");
  std::string bad_layer = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
    "config":{"mediaType":"m","digest":")" + kD1 + R"(","size":7},
    "layers":[{"mediaType":"m","digest":")" + kD2 + R"(","size":1},{"mediaType":"m","digest":"md5:00","size":1}]})";
  CHECK(error_text(parse_manifest(bad_layer, "")) == "layers[1].digest: invalid digest \"md5:00\"");
  std::string bad_size = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
    "config":{"mediaType":"m","digest":")" + kD1 + R"(","size":-1},"layers":[]})";
  CHECK(error_text(parse_manifest(bad_size, "")) == "config.size: expected a non-negative integer");
}

TEST_CASE("an index parses its entries with platforms") {
  std::string index = R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json",
    "manifests":[
      {"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":")" + kD1 + R"(","size":1,
       "platform":{"architecture":"arm64","os":"linux","variant":"v8"}},
      {"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":")" + kD2 + R"(","size":2,
       "platform":{"architecture":"amd64","os":"windows","os.version":"10.0.17763.1"}}]})";
  auto entries = parse_index(index);
  REQUIRE(entries.ok());
  REQUIRE(entries->size() == 2);
  CHECK((*entries)[0].platform->to_string() == "linux/arm64/v8");
  CHECK((*entries)[1].platform->os_version == "10.0.17763.1");
  CHECK(error_text(parse_index(R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[]})")) ==
        "expected an image index");
  CHECK(classify_manifest(index, "") == ManifestKind::kIndex);
  CHECK(classify_manifest("{}", "application/vnd.oci.image.manifest.v1+json") == ManifestKind::kManifest);
  CHECK(classify_manifest("nonsense", "") == ManifestKind::kUnknown);
}

TEST_CASE("platforms normalize like containerd's") {
  CHECK(parse_platform("linux/aarch64")->to_string() == "linux/arm64");
  CHECK(parse_platform("linux/arm64/v8")->to_string() == "linux/arm64");
  CHECK(parse_platform("Linux/x86_64")->to_string() == "linux/amd64");
  CHECK(parse_platform("linux/arm")->to_string() == "linux/arm/v7");
  CHECK(parse_platform("linux/armhf")->to_string() == "linux/arm/v7");
  CHECK(parse_platform("linux/arm/6")->to_string() == "linux/arm/v6");
  CHECK(parse_platform("linux/i386")->to_string() == "linux/386");
  CHECK(error_text(parse_platform("linux")) == "platform \"linux\": expected os/architecture[/variant]");
  CHECK(error_text(parse_platform("linux//v7")) == "platform \"linux//v7\": expected os/architecture[/variant]");
  CHECK(host_platform().to_string() == "linux/amd64");
}

TEST_CASE("select_platform matches exactly first, then compatible fallbacks") {
  Descriptor attestation = entry(kD3, {"unknown", "unknown", "", ""});
  std::vector<Descriptor> index{
      entry(kD1, {"linux", "arm64", "v8", ""}),
      entry(kD2, {"linux", "arm", "v6", ""}),
      attestation,
      entry(kD3, {"linux", "amd64", "", ""}),
  };
  CHECK(select_platform(index, {"linux", "amd64", "", ""})->digest == kD3);
  CHECK(select_platform(index, {"linux", "arm64", "", ""})->digest == kD1);
  CHECK(select_platform(index, {"linux", "aarch64", "v8", ""})->digest == kD1);
  CHECK(select_platform(index, {"linux", "arm", "v7", ""})->digest == kD2);  // v7 runs v6

  std::vector<Descriptor> arm_only{entry(kD1, {"linux", "arm64", "v8", ""}),
                                   entry(kD2, {"linux", "arm", "7", ""}), attestation};
  auto none = select_platform(arm_only, {"linux", "amd64", "", ""});
  CHECK(error_text(none) ==
        "no matching manifest for linux/amd64 in the image index (available: linux/arm64, linux/arm/v7)");
  CHECK(none.error().code == ENOENT);
  CHECK(error_text(select_platform(arm_only, {"linux", "arm", "v6", ""})) ==
        "no matching manifest for linux/arm/v6 in the image index (available: linux/arm64, linux/arm/v7)");
  CHECK(select_platform({entry(kD2, {"linux", "arm", "v7", ""})}, {"linux", "arm64", "", ""})->digest == kD2);
  CHECK(select_platform({entry(kD2, {"linux", "386", "", ""})}, {"linux", "amd64", "", ""})->digest == kD2);
}
