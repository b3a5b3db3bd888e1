#include "compose_test_util.h"

using namespace stack::compose;
using namespace stack::compose::testing;

TEST_CASE("service networks: a list of names maps each to null", "[compose][service_networks]") {
  Json j = service_json("services:\n  web:\n    image: nginx\n    networks: [front, back]\n" "networks:\n  front: {}\n  back: {}\n  plain: {}\n  a: {}\n  b: {}\n", "web");
  CHECK(j.at("networks").dump() == R"({"back":null,"front":null})");
}

TEST_CASE("service networks: mapping with per-network options", "[compose][service_networks]") {
  Json j = service_json(
      "services:\n"
      "  web:\n"
      "    networks:\n"
      "      plain:\n"
      "      front:\n"
      "        aliases: [www, site]\n"
      "        ipv4_address: 172.16.238.10\n"
      "        ipv6_address: 2001:3984:3989::10\n"
      "        link_local_ips: [169.254.8.8, \"fe80::1\"]\n"
      "        mac_address: 02:42:ac:11:65:43\n"
      "        driver_opts: {mtu: 1400, name: eth}\n"
      "        priority: 100\n"
      "        gw_priority: 5\n"
      "        interface_name: eth7\n"
      "        x-tag: t\n"
      "    image: nginx\n" "networks:\n  front: {}\n  back: {}\n  plain: {}\n  a: {}\n  b: {}\n",
      "web");
  CHECK(j.at("networks").dump() ==
        R"({"front":{"aliases":["www","site"],"driver_opts":{"mtu":"1400","name":"eth"},"gw_priority":5,)"
        R"("interface_name":"eth7","ipv4_address":"172.16.238.10","ipv6_address":"2001:3984:3989::10",)"
        R"("link_local_ips":["169.254.8.8","fe80::1"],"mac_address":"02:42:ac:11:65:43","priority":100,"x-tag":"t"},)"
        R"("plain":null})");
}

TEST_CASE("service networks: invalid addresses and keys are all reported", "[compose][service_networks]") {
  std::string err = load_error(
      "services:\n"
      "  web:\n"
      "    networks:\n"
      "      front:\n"
      "        ipv4_address: 300.1.1.1\n"
      "        ipv6_address: 10.0.0.1\n"
      "        link_local_ips: [nope]\n"
      "        alias: [x]\n"
      "      \"bad name\": {}\n"
      "      back: [x]\n"
      "    image: nginx\n" "networks:\n  front: {}\n  back: {}\n  plain: {}\n  a: {}\n  b: {}\n");
  CHECK(err ==
        "compose.yaml:8:9: services.web.networks.front: unknown key \"alias\"\n"
        "compose.yaml:5:23: services.web.networks.front.ipv4_address: invalid IPv4 address \"300.1.1.1\"\n"
        "compose.yaml:6:23: services.web.networks.front.ipv6_address: invalid IPv6 address \"10.0.0.1\"\n"
        "compose.yaml:7:26: services.web.networks.front.link_local_ips[0]: invalid IP address \"nope\"\n"
        "compose.yaml:9:7: services.web.networks: invalid network name \"bad name\"\n"
        "compose.yaml:10:13: services.web.networks.back: must be a mapping, not a sequence");
  CHECK(load_error("services:\n  web:\n    networks: front\n    image: nginx\n" "networks:\n  front: {}\n  back: {}\n  plain: {}\n  a: {}\n  b: {}\n") ==
        "compose.yaml:3:15: services.web.networks: must be a list of network names or a mapping, not a string");
}

TEST_CASE("service networks: round trip through the canonical JSON", "[compose][service_networks]") {
  Project p = load_ok(
      "services:\n"
      "  web:\n"
      "    networks:\n"
      "      a:\n"
      "      b:\n"
      "        aliases: [x]\n"
      "        ipv4_address: 10.0.0.2\n"
      "        driver_opts: {k: 1}\n"
      "        priority: 3\n"
      "    image: nginx\n" "networks:\n  front: {}\n  back: {}\n  plain: {}\n  a: {}\n  b: {}\n");
  REQUIRE(p.services[0].networks.size() == 2);
  CHECK_FALSE(p.services[0].networks.at("a").has_value());
  CHECK(p.services[0].networks.at("b")->driver_opts.at("k") == "1");
  check_round_trip(p);
}
