#include "compose_test_util.h"

using namespace stack::compose;
using namespace stack::compose::testing;

TEST_CASE("devices: short syntax with defaults", "[compose][devices]") {
  Json j = service_json(
      "services:\n"
      "  web:\n"
      "    devices:\n"
      "      - /dev/ttyUSB0\n"
      "      - /dev/sda:/dev/xvda\n"
      "      - /dev/fuse:/dev/fuse:rw\n"
      "    image: nginx\n",
      "web");
  CHECK(j.at("devices").dump() ==
        R"([{"source":"/dev/ttyUSB0","target":"/dev/ttyUSB0","permissions":"rwm"},)"
        R"({"source":"/dev/sda","target":"/dev/xvda","permissions":"rwm"},)"
        R"({"source":"/dev/fuse","target":"/dev/fuse","permissions":"rw"}])");
}

TEST_CASE("devices: long syntax", "[compose][devices]") {
  Json j = service_json(
      "services:\n"
      "  web:\n"
      "    devices:\n"
      "      - source: /dev/kvm\n"
      "        x-k: 1\n"
      "      - source: /dev/net/tun\n"
      "        target: /dev/tun\n"
      "        permissions: r\n"
      "    image: nginx\n",
      "web");
  CHECK(j.at("devices").dump() ==
        R"([{"source":"/dev/kvm","target":"/dev/kvm","permissions":"rwm","x-k":1},)"
        R"({"source":"/dev/net/tun","target":"/dev/tun","permissions":"r"}])");
}

TEST_CASE("devices: invalid entries are all reported", "[compose][devices]") {
  std::string err = load_error(
      "services:\n"
      "  web:\n"
      "    devices:\n"
      "      - /dev/a:/dev/b:rw:x\n"
      "      - /dev/e:/dev/f:rx\n"
      "      - target: /dev/c\n"
      "      - source: /dev/d\n"
      "        permissions: all\n"
      "      - [x]\n"
      "    image: nginx\n");
  CHECK(err ==
        "compose.yaml:4:9: services.web.devices[0]: invalid device \"/dev/a:/dev/b:rw:x\" (expected "
        "HOST[:CONTAINER[:PERMISSIONS]])\n"
        "compose.yaml:5:9: services.web.devices[1]: invalid device permissions \"rx\" (expected a combination of r, "
        "w and m)\n"
        "compose.yaml:6:9: services.web.devices[2]: missing required key \"source\"\n"
        "compose.yaml:8:22: services.web.devices[3].permissions: invalid device permissions \"all\" (expected a "
        "combination of r, w and m)\n"
        "compose.yaml:9:9: services.web.devices[4]: must be a string, not a sequence");
}

TEST_CASE("devices: round trip through the canonical JSON", "[compose][devices]") {
  Project p = load_ok("services:\n  web:\n    image: nginx\n    devices: [\"/dev/a:/dev/b:m\", {source: /dev/c}]\n");
  CHECK(p.services[0].devices[1].target == "/dev/c");
  check_round_trip(p);
}
