#include "compose_test_util.h"

using namespace stack::compose;
using namespace stack::compose::testing;

TEST_CASE("gpus: \"all\" is one request for every GPU", "[compose][gpus]") {
  Json s = service_json("services:\n  web:\n    image: alpine\n    gpus: all\n", "web");
  CHECK(s.at("gpus").dump() == R"([{"count":-1}])");
}

TEST_CASE("gpus: a list of device requests, capabilities optional", "[compose][gpus]") {
  Json s = service_json(
      "services:\n"
      "  web:\n"
      "    image: alpine\n"
      "    gpus:\n"
      "      - driver: nvidia\n"
      "        count: 2\n"
      "      - device_ids: [\"0\", GPU-abc]\n"
      "        capabilities: [gpu, utility]\n"
      "        options:\n"
      "          - virtualization=false\n"
      "        x-k: v\n"
      "      - count: ALL\n"
      "      - count: \"3\"\n",
      "web");
  CHECK(s.at("gpus").dump() ==
        R"([{"count":2,"driver":"nvidia"},)"
        R"({"capabilities":["gpu","utility"],"device_ids":["0","GPU-abc"],)"
        R"("options":{"virtualization":"false"},"x-k":"v"},)"
        R"({"count":-1},{"count":3}])");
}

TEST_CASE("gpus: invalid values are reported with their position", "[compose][gpus]") {
  std::string err = load_error(
      "services:\n"
      "  a:\n"
      "    image: alpine\n"
      "    gpus: some\n"
      "  b:\n"
      "    image: alpine\n"
      "    gpus:\n"
      "      - count: 1\n"
      "        device_ids: [\"0\"]\n"
      "      - count: many\n"
      "      - memory: 2g\n"
      "      - count: -2\n"
      "  c:\n"
      "    image: alpine\n"
      "    gpus: 2\n");
  CHECK(err ==
        "compose.yaml:4:11: services.a.gpus: must be \"all\" or a list of device requests, not \"some\"\n"
        "compose.yaml:8:9: services.b.gpus[0]: \"count\" and \"device_ids\" are mutually exclusive\n"
        "compose.yaml:10:16: services.b.gpus[1].count: invalid count \"many\" (expected a number or \"all\")\n"
        "compose.yaml:11:9: services.b.gpus[2]: unknown key \"memory\"\n"
        "compose.yaml:12:16: services.b.gpus[3].count: invalid count \"-2\" (expected a number or \"all\")\n"
        "compose.yaml:15:11: services.c.gpus: must be \"all\" or a list of device requests, not \"2\"");
}

TEST_CASE("gpus: round trip through the canonical JSON", "[compose][gpus]") {
  Project p = load_ok(
      "services:\n"
      "  web:\n"
      "    image: alpine\n"
      "    gpus: all\n"
      "  train:\n"
      "    image: alpine\n"
      "    gpus:\n"
      "      - driver: nvidia\n"
      "        device_ids: [\"1\", \"2\"]\n"
      "        options: {mig: \"true\"}\n");
  REQUIRE(p.find_service("web")->gpus.size() == 1);
  CHECK(p.find_service("web")->gpus[0].count == -1);
  CHECK(p.find_service("train")->gpus[0].device_ids == std::vector<std::string>{"1", "2"});
  check_round_trip(p);
}
