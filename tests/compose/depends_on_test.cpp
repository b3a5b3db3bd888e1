#include "compose_test_util.h"

using namespace stack::compose;
using namespace stack::compose::testing;

TEST_CASE("depends_on: a list means started and required", "[compose][depends_on]") {
  Json j = service_json("services:\n  web:\n    image: nginx\n    depends_on: [db, cache]\n  db: {image: x}\n  cache: {image: x}\n", "web");
  CHECK(j.at("depends_on").dump() ==
        R"({"cache":{"condition":"service_started","required":true},"db":{"condition":"service_started","required":true}})");
}

TEST_CASE("depends_on: mapping with condition, restart and required", "[compose][depends_on]") {
  Json j = service_json(
      "services:\n"
      "  web:\n"
      "    depends_on:\n"
      "      db:\n"
      "        condition: service_healthy\n"
      "        restart: true\n"
      "      init:\n"
      "        condition: service_completed_successfully\n"
      "        required: false\n"
      "        x-why: setup\n"
      "      cache:\n"
      "        required: true\n"
      "    image: nginx\n"
      "  db: {image: x}\n  init: {image: x}\n  cache: {image: x}\n",
      "web");
  CHECK(j.at("depends_on").dump() ==
        R"({"cache":{"condition":"service_started","required":true},)"
        R"("db":{"condition":"service_healthy","restart":true,"required":true},)"
        R"("init":{"condition":"service_completed_successfully","required":false,"x-why":"setup"}})");
}

TEST_CASE("depends_on: invalid conditions, keys and values are all reported", "[compose][depends_on]") {
  std::string err = load_error(
      "services:\n"
      "  web:\n"
      "    depends_on:\n"
      "      db:\n"
      "        condition: service_ready\n"
      "        required: maybe\n"
      "        wait: 1\n"
      "      cache: yes\n"
      "    image: nginx\n"
      "  db: {image: x}\n  cache: {image: x}\n");
  CHECK(err ==
        "compose.yaml:7:9: services.web.depends_on.db: unknown key \"wait\"\n"
        "compose.yaml:5:20: services.web.depends_on.db.condition: invalid value \"service_ready\" (expected one of: "
        "service_started, service_healthy, service_completed_successfully)\n"
        "compose.yaml:6:19: services.web.depends_on.db.required: must be a boolean, not \"maybe\"\n"
        "compose.yaml:8:14: services.web.depends_on.cache: must be a mapping, not a string");
  CHECK(load_error("services:\n  web:\n    depends_on: [1]\n    image: nginx\n") ==
        "compose.yaml:3:18: services.web.depends_on[0]: must be a string, not a number");
}

TEST_CASE("depends_on: round trip through the canonical JSON", "[compose][depends_on]") {
  Project p = load_ok(
      "services:\n"
      "  web:\n"
      "    depends_on:\n"
      "      db: {condition: service_healthy, restart: true, required: false}\n"
      "      cache: {condition: service_started}\n"
      "    image: nginx\n"
      "  db: {image: x}\n  cache: {image: x}\n");
  const auto& d = p.find_service("web")->depends_on;
  REQUIRE(d.size() == 2);
  CHECK(d.at("db").restart);
  CHECK_FALSE(d.at("db").required);
  check_round_trip(p);
}
