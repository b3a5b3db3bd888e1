#include "compose_test_util.h"

using namespace stack::compose;
using namespace stack::compose::testing;

namespace {

const char kBlkio[] =
    "services:\n"
    "  web:\n"
      "    image: alpine\n"
    "    blkio_config:\n"
    "      weight: 300\n"
    "      weight_device:\n"
    "        - path: /dev/sda\n"
    "          weight: \"400\"\n"
    "      device_read_bps:\n"
    "        - path: /dev/sdb\n"
    "          rate: 12mb\n"
    "      device_read_iops:\n"
    "        - path: /dev/sdb\n"
    "          rate: 120\n"
    "      device_write_bps:\n"
    "        - path: /dev/sdb\n"
    "          rate: 1048576\n"
    "      device_write_iops:\n"
    "        - path: /dev/sdb\n"
    "          rate: \"30\"\n";

}  // namespace

TEST_CASE("blkio_config: weights, byte rates with units and IO rates", "[compose][blkio_config]") {
  Json b = service_json(kBlkio, "web").at("blkio_config");
  CHECK(b.dump() ==
        R"({"weight":300,"weight_device":[{"path":"/dev/sda","weight":400}],)"
        R"("device_read_bps":[{"path":"/dev/sdb","rate":"12582912"}],)"
        R"("device_read_iops":[{"path":"/dev/sdb","rate":"120"}],)"
        R"("device_write_bps":[{"path":"/dev/sdb","rate":"1048576"}],)"
        R"("device_write_iops":[{"path":"/dev/sdb","rate":"30"}]})");
}

TEST_CASE("blkio_config: an empty mapping is set but prints nothing inside", "[compose][blkio_config]") {
  Project p = load_ok("services:\n  web:\n    image: alpine\n    blkio_config: {}\n");
  CHECK(p.services[0].blkio_config == BlkioConfig{});
  CHECK(service_to_json(p.services[0]).at("blkio_config").dump() == "{}");
}

TEST_CASE("blkio_config: every invalid value is reported with its position", "[compose][blkio_config]") {
  std::string err = load_error(
      "services:\n"
      "  web:\n"
      "    image: alpine\n"
      "    blkio_config:\n"
      "      weight: 5\n"
      "      weight_device:\n"
      "        - path: /dev/sda\n"
      "          weight: 2000\n"
      "      device_read_bps:\n"
      "        - path: /dev/sda\n"
      "          rate: fast\n"
      "      device_write_iops:\n"
      "        - path: /dev/sda\n"
      "          rate: 10mb\n"
      "          x-note: no\n"
      "      device_read_iops: /dev/sda\n"
      "      x-extra: 1\n"
      "  api:\n"
      "    image: alpine\n"
      "    blkio_config: 500\n");
  CHECK(err ==
        "compose.yaml:17:7: services.web.blkio_config: unknown key \"x-extra\"\n"
        "compose.yaml:5:15: services.web.blkio_config.weight: must be between 10 and 1000, not 5\n"
        "compose.yaml:8:19: services.web.blkio_config.weight_device[0].weight: must be between 10 and 1000, not 2000\n"
        "compose.yaml:11:17: services.web.blkio_config.device_read_bps[0].rate: invalid size \"fast\" "
        "(expected bytes or a number with a unit: b, k, m, g)\n"
        "compose.yaml:16:25: services.web.blkio_config.device_read_iops: must be a list, not a string\n"
        "compose.yaml:15:11: services.web.blkio_config.device_write_iops[0]: unknown key \"x-note\"\n"
        "compose.yaml:14:17: services.web.blkio_config.device_write_iops[0].rate: must be an integer, not \"10mb\"\n"
        "compose.yaml:20:19: services.api.blkio_config: must be a mapping, not a number");
}

TEST_CASE("blkio_config: round trip through the canonical JSON", "[compose][blkio_config]") {
  Project p = load_ok(kBlkio);
  const BlkioConfig& b = *p.services[0].blkio_config;
  CHECK(b.weight == 300);
  CHECK(b.weight_device.at(0).weight == 400);
  CHECK(b.device_read_bps.at(0).rate == 12u * 1024 * 1024);
  CHECK(b.device_write_iops.at(0).rate == 30u);
  check_round_trip(p);
}
