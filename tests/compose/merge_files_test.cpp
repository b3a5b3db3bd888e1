// Multi-file projects end to end through the loader: -f files merged in order, extends across
// files, and what reaches the typed model.
#include "compose_test_util.h"

using namespace stack::compose;
using namespace stack::compose::testing;

namespace {

LoadOptions two_files() {
  LoadOptions o;
  o.files = {"compose.yaml", "override.yaml"};
  return o;
}

}  // namespace

TEST_CASE("merge files: later -f files override and extend earlier ones", "[compose][merge]") {
  std::string base = R"(
services:
  web:
    image: nginx:1
    x-meta: {owner: a, tier: front}
    x-gone: 1
  db:
    image: postgres
)";
  Files files = {{"/project/override.yaml", R"(
services:
  web:
    image: nginx:2
    x-meta: {owner: b}
    x-gone: !reset
  cache:
    image: redis
)"}};
  Project p = load_ok(base, {}, files, two_files());
  REQUIRE(p.services.size() == 3);
  const Service* web = p.find_service("web");
  REQUIRE(web != nullptr);
  Json json = service_to_json(*web);
  CHECK(json["image"] == "nginx:2");
  CHECK(json["x-meta"].dump() == R"({"owner":"b","tier":"front"})");
  CHECK_FALSE(json.contains("x-gone"));
  CHECK(p.find_service("cache") != nullptr);
  check_round_trip(p);
}

TEST_CASE("merge files: a type conflict between files points at the later file", "[compose][merge]") {
  Files files = {{"/project/override.yaml", "services:\n  web:\n    x-opts: [a]\n"}};
  CHECK(load_error("services:\n  web:\n    image: a\n    x-opts: {a: 1}\n", {}, files, two_files()) ==
        "override.yaml:3:13: services.web.x-opts: cannot override the mapping defined at compose.yaml:4:13 with a "
        "sequence");
}

TEST_CASE("merge files: an override file may redefine a service imported by include", "[compose][merge]") {
  Files files = {{"/project/inc.yaml", "services: {web: {image: a}}\n"},
                 {"/project/override.yaml", "services: {web: {image: b}}\n"}};
  Project p = load_ok("include: [inc.yaml]\n", {}, files, two_files());
  REQUIRE(p.find_service("web") != nullptr);
  CHECK(service_to_json(*p.find_service("web"))["image"] == "b");
}

TEST_CASE("merge files: extends across files through the loader", "[compose][extends]") {
  Files files = {{"/project/lib/common.yml", R"(
services:
  app:
    image: app:1
    x-origin: {file: common}
  tool:
    extends: app
    x-origin: {tool: true}
)"}};
  Project p = load_ok(R"(
services:
  web:
    extends: {file: lib/common.yml, service: tool}
    x-origin: {web: true}
)",
                      {}, files);
  REQUIRE(p.services.size() == 1);
  Json json = service_to_json(p.services.front());
  CHECK(json["image"] == "app:1");
  CHECK(json["x-origin"].dump() == R"({"file":"common","tool":true,"web":true})");
}

TEST_CASE("merge files: extends errors through the loader", "[compose][extends]") {
  Files files = {{"/project/other.yml", "services:\n  b:\n    extends: {file: compose.yaml, service: a}\n"}};
  CHECK(load_error("services:\n  a:\n    extends: {file: other.yml, service: b}\n", {}, files) ==
        "compose.yaml:3:5: services.a.extends: circular reference: a -> b (other.yml) -> a");
  CHECK(load_error("services:\n  a:\n    image: x\n    extends:\n      file: other.yml\n      service: c\n", {}, files) ==
        "compose.yaml:4:5: services.a.extends: cannot extend service \"a\": service \"c\" not found in other.yml");
}
