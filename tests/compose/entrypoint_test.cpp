#include "compose_test_util.h"

using namespace stack::compose;
using namespace stack::compose::testing;

namespace {

Json service_of(const std::string& value) {
  return service_json("services:\n  web:\n    image: alpine\n    entrypoint: " + value + "\n", "web");
}

}  // namespace

TEST_CASE("entrypoint: a string is split into words", "[compose][entrypoint]") {
  CHECK(service_of("/code/entrypoint.sh -p 3000").at("entrypoint").dump() == R"(["/code/entrypoint.sh","-p","3000"])");
  CHECK(service_of(R"(php -d "memory_limit=-1" 'vendor/bin/phpunit')").at("entrypoint").dump() ==
        R"(["php","-d","memory_limit=-1","vendor/bin/phpunit"])");
}

TEST_CASE("entrypoint: a list is kept as written", "[compose][entrypoint]") {
  CHECK(service_of(R"(["/bin/sh", "-c", "exec  app"])").at("entrypoint").dump() == R"(["/bin/sh","-c","exec  app"])");
}

TEST_CASE("entrypoint: null is unset, empty clears the image's entrypoint", "[compose][entrypoint]") {
  CHECK_FALSE(service_of("~").contains("entrypoint"));
  CHECK(service_of("''").at("entrypoint").dump() == "[]");
  CHECK(service_of("[]").at("entrypoint").dump() == "[]");
  Project p = load_ok("services:\n  web:\n    image: alpine\n    entrypoint: \"\"\n");
  REQUIRE(p.services[0].entrypoint.has_value());
  CHECK(p.services[0].entrypoint->empty());
  CHECK_FALSE(p.services[0].command.has_value());
}

TEST_CASE("entrypoint: invalid values are reported with their position", "[compose][entrypoint]") {
  std::string err = load_error(
      "services:\n"
      "  web:\n"
      "    image: alpine\n"
      "    entrypoint: \"a `b\"\n"
      "  api:\n"
      "    image: alpine\n"
      "    entrypoint: [true, x]\n"
      "  db:\n"
      "    image: alpine\n"
      "    entrypoint: echo (a)\n");
  CHECK(err ==
        "compose.yaml:4:17: services.web.entrypoint: invalid command \"a `b\": unterminated backquote\n"
        "compose.yaml:7:18: services.api.entrypoint[0]: must be a string, not a boolean\n"
        "compose.yaml:10:17: services.db.entrypoint: invalid command \"echo (a)\": unexpected \"(\"");
}

TEST_CASE("entrypoint: round trip through the canonical JSON", "[compose][entrypoint]") {
  Project p = load_ok(
      "services:\n"
      "  web:\n"
      "    image: alpine\n"
      "    entrypoint: tini -- \"my app\"\n"
      "    command: []\n"
      "  api:\n"
      "    image: alpine\n"
      "    entrypoint: []\n");
  CHECK(p.find_service("web")->entrypoint == std::vector<std::string>{"tini", "--", "my app"});
  check_round_trip(p);
}
