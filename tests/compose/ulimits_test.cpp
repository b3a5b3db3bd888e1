#include "compose_test_util.h"

using namespace stack::compose;
using namespace stack::compose::testing;

TEST_CASE("ulimits: single values and soft/hard pairs", "[compose][ulimits]") {
  Json j = service_json(
      "services:\n"
      "  web:\n"
      "    ulimits:\n"
      "      nproc: 65535\n"
      "      nofile:\n"
      "        soft: 20000\n"
      "        hard: \"40000\"\n"
      "        x-k: 1\n"
      "      memlock: -1\n"
      "    image: nginx\n",
      "web");
  CHECK(j.at("ulimits").dump() == R"({"memlock":-1,"nofile":{"soft":20000,"hard":40000,"x-k":1},"nproc":65535})");
}

TEST_CASE("ulimits: invalid entries are all reported", "[compose][ulimits]") {
  std::string err = load_error(
      "services:\n"
      "  web:\n"
      "    ulimits:\n"
      "      nofile:\n"
      "        soft: 2\n"
      "        hard: 1\n"
      "      core:\n"
      "        soft: 1\n"
      "      NoFile: 1\n"
      "      stack: big\n"
      "      cpu: {soft: 1, hard: 2, max: 3}\n"
      "    image: nginx\n");
  CHECK(err ==
        "compose.yaml:5:15: services.web.ulimits.nofile: soft limit 2 is greater than hard limit 1\n"
        "compose.yaml:8:9: services.web.ulimits.core: missing required key \"hard\"\n"
        "compose.yaml:9:7: services.web.ulimits: invalid ulimit name \"NoFile\" (expected lower-case letters)\n"
        "compose.yaml:10:14: services.web.ulimits.stack: must be an integer, not \"big\"\n"
        "compose.yaml:11:31: services.web.ulimits.cpu: unknown key \"max\"");
}

TEST_CASE("ulimits: round trip through the canonical JSON", "[compose][ulimits]") {
  Project p = load_ok("services:\n  web:\n    image: nginx\n    ulimits:\n      nproc: 10\n      nofile: {soft: 1, hard: 2}\n");
  CHECK(p.services[0].ulimits.at("nproc").single == 10);
  CHECK(p.services[0].ulimits.at("nofile").hard == 2);
  check_round_trip(p);
}
