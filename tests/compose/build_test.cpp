#include "compose_test_util.h"

using namespace stack::compose;
using namespace stack::compose::testing;

namespace {

const Env kEnv = {{"HOME", "/home/ann"}};

Json build_of(const std::string& build) {
  return service_json("services:\n  web:\n    image: nginx\n    build:" + build + "secrets:\n  token:\n    environment: TOKEN\n", "web",
                      kEnv)
      .at("build");
}

}  // namespace

TEST_CASE("build: a context string", "[compose][build]") {
  CHECK(build_of(" ./app\n").dump() == R"({"context":"/project/app","dockerfile":"Dockerfile"})");
  CHECK(build_of(" https://github.com/docker/app.git#main\n").dump() ==
        R"({"context":"https://github.com/docker/app.git#main","dockerfile":"Dockerfile"})");
}

TEST_CASE("build: defaults and remote contexts in the mapping form", "[compose][build]") {
  CHECK(build_of("\n      target: prod\n").dump() ==
        R"({"context":"/project","dockerfile":"Dockerfile","target":"prod"})");
  CHECK(build_of("\n      context: git@github.com:docker/app.git\n").dump() ==
        R"({"context":"git@github.com:docker/app.git","dockerfile":"Dockerfile"})");
  CHECK(build_of("\n      context: github.com/docker/app#branch\n      dockerfile_inline: FROM alpine\n").dump() ==
        R"({"context":"github.com/docker/app#branch","dockerfile_inline":"FROM alpine"})");
}

TEST_CASE("build: every attribute in canonical form", "[compose][build]") {
  Json b = build_of(
      "\n"
      "      context: ~/src\n"
      "      dockerfile: docker/Dockerfile.prod\n"
      "      entitlements: [network.host]\n"
      "      args:\n"
      "        - VERSION=1.2\n"
      "        - EMPTY\n"
      "      ssh:\n"
      "        - default\n"
      "        - key=/home/ann/.ssh/id_rsa\n"
      "      labels: {com.example.team: web}\n"
      "      cache_from: [\"type=registry,ref=app:cache\"]\n"
      "      cache_to: [type=inline]\n"
      "      no_cache: true\n"
      "      additional_contexts:\n"
      "        base: ../base\n"
      "        img: docker-image://alpine:3\n"
      "      network: host\n"
      "      provenance: true\n"
      "      sbom: mode=max\n"
      "      pull: \"true\"\n"
      "      shm_size: 2g\n"
      "      extra_hosts:\n"
      "        - somehost:162.242.195.82\n"
      "        - other=50.31.209.229\n"
      "      isolation: default\n"
      "      privileged: true\n"
      "      secrets:\n"
      "        - token\n"
      "      tags: [app:1, app:latest]\n"
      "      ulimits: {nofile: {soft: 1, hard: 2}}\n"
      "      platforms: [linux/amd64, linux/arm64]\n"
      "      x-cache: true\n");
  CHECK(b.dump() ==
        R"({"context":"/home/ann/src","dockerfile":"docker/Dockerfile.prod","entitlements":["network.host"],)"
        R"("args":{"EMPTY":null,"VERSION":"1.2"},"ssh":["default","key=/home/ann/.ssh/id_rsa"],)"
        R"("labels":{"com.example.team":"web"},"cache_from":["type=registry,ref=app:cache"],)"
        R"("cache_to":["type=inline"],"no_cache":true,)"
        R"("additional_contexts":{"base":"/base","img":"docker-image://alpine:3"},"network":"host",)"
        R"("provenance":"true","sbom":"mode=max","pull":true,"shm_size":"2147483648",)"
        R"("extra_hosts":["somehost=162.242.195.82","other=50.31.209.229"],"isolation":"default",)"
        R"("privileged":true,"secrets":[{"source":"token"}],"tags":["app:1","app:latest"],)"
        R"("ulimits":{"nofile":{"soft":1,"hard":2}},"platforms":["linux/amd64","linux/arm64"],"x-cache":true})");
}

TEST_CASE("build: mapping forms of args, ssh and extra_hosts", "[compose][build]") {
  Json b = build_of(
      "\n"
      "      args: {A: 1, B: null, C: \"x y\"}\n"
      "      ssh: {default: null, gh: /keys/gh}\n"
      "      extra_hosts: {db: 10.0.0.5, multi: [\"::1\", 10.0.0.6]}\n");
  CHECK(b.dump() ==
        R"({"context":"/project","dockerfile":"Dockerfile","args":{"A":"1","B":null,"C":"x y"},)"
        R"("ssh":["default","gh=/keys/gh"],"extra_hosts":["db=10.0.0.5","multi=::1","multi=10.0.0.6"]})");
}

TEST_CASE("build: shm_size takes bytes or a size string and prints a digit string", "[compose][build]") {
  // compose-go's UnitBytes marshals to JSON as a string of digits.
  CHECK(build_of("\n      shm_size: 1048576\n").at("shm_size") == "1048576");
  CHECK(build_of("\n      shm_size: \"4096\"\n").at("shm_size") == "4096");
  CHECK(build_of("\n      shm_size: 1.5k\n").at("shm_size") == "1536");
  CHECK(build_of("\n      shm_size: 64M\n").at("shm_size") == "67108864");
  CHECK_FALSE(build_of("\n      shm_size: 0\n").contains("shm_size"));
}

TEST_CASE("build: invalid values are all reported", "[compose][build]") {
  std::string err = load_error(
      "services:\n"
      "  web:\n"
      "    build:\n"
      "      dockerfile: Dockerfile\n"
      "      dockerfile_inline: FROM scratch\n"
      "      no_cache: perhaps\n"
      "      shm_size: huge\n"
      "      extra_hosts: [nohost]\n"
      "      tags: app\n"
      "      squash: true\n"
      "  api:\n"
      "    build: [.]\n");
  CHECK(err ==
        "compose.yaml:10:7: services.web.build: unknown key \"squash\"\n"
        "compose.yaml:6:17: services.web.build.no_cache: must be a boolean, not \"perhaps\"\n"
        "compose.yaml:7:17: services.web.build.shm_size: invalid size \"huge\" (expected bytes or a number with a "
        "unit: b, k, m, g)\n"
        "compose.yaml:8:21: services.web.build.extra_hosts[0]: invalid extra host \"nohost\" (expected HOST:IP or "
        "HOST=IP)\n"
        "compose.yaml:9:13: services.web.build.tags: must be a list of strings, not a string\n"
        "compose.yaml:5:7: services.web.build: dockerfile and dockerfile_inline are mutually exclusive\n"
        "compose.yaml:12:12: services.api.build: must be a context path or a mapping, not a sequence");
}

TEST_CASE("build: round trip through the canonical JSON", "[compose][build]") {
  Project p = load_ok(
      "services:\n"
      "  web:\n"
      "    build:\n"
      "      context: app\n"
      "      args: [A=1, B]\n"
      "      ssh: [default]\n"
      "      provenance: false\n"
      "      secrets: [{source: token, target: t, mode: 0400}]\n"
      "      ulimits: {nproc: 5}\n"
      "      shm_size: 256m\n"
      "      extra_hosts: {h: 1.2.3.4}\n"
      "  inline:\n"
      "    build:\n"
      "      dockerfile_inline: FROM alpine\n"
      "secrets:\n"
      "  token:\n"
      "    environment: TOKEN\n",
      kEnv);
  const Build& b = *p.find_service("web")->build;
  CHECK(b.context == "/project/app");
  CHECK(b.provenance == "false");
  CHECK(b.shm_size == 256LL << 20);
  CHECK(p.find_service("inline")->build->dockerfile.empty());
  check_round_trip(p, kEnv);
}
