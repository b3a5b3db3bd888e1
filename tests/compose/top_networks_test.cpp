// Top-level networks.
#include "compose_test_util.h"

using namespace stack::compose;
using namespace stack::compose::testing;

namespace {

const char* kServices = "services:\n  web:\n    image: nginx\n";

// Compose drops networks no service uses, so each test attaches `web` to the ones it checks.
std::string web_on(const std::string& networks) {
  return "services:\n  web:\n    image: nginx\n    networks: [" + networks + "]\n";
}

std::string network_json(const Project& p, const std::string& key) {
  Json all = project_to_json(p);
  INFO(all.dump(2));
  REQUIRE(all.contains("networks"));
  REQUIRE(all["networks"].contains(key));
  return all["networks"][key].dump();
}

}  // namespace

TEST_CASE("top_networks: every attribute in canonical form", "[compose][top_networks]") {
  Project p = load_ok(web_on("front") +
                      "networks:\n"
                      "  front:\n"
                      "    driver: bridge\n"
                      "    driver_opts:\n"
                      "      com.docker.network.bridge.name: br-front\n"
                      "      mtu: 1400\n"
                      "    ipam:\n"
                      "      driver: default\n"
                      "      config:\n"
                      "        - subnet: 172.28.0.0/16\n"
                      "          ip_range: 172.28.5.0/24\n"
                      "          gateway: 172.28.5.254\n"
                      "          aux_addresses:\n"
                      "            host1: 172.28.1.5\n"
                      "        - subnet: \"fd00:1::/64\"\n"
                      "          gateway: \"fd00:1::1\"\n"
                      "      options:\n"
                      "        foo: bar\n"
                      "    internal: true\n"
                      "    attachable: true\n"
                      "    enable_ipv4: true\n"
                      "    enable_ipv6: false\n"
                      "    labels:\n"
                      "      - com.example.team=net\n"
                      "    x-note: hi\n");
  CHECK(network_json(p, "front") ==
        R"({"name":"project_front","driver":"bridge",)"
        R"("driver_opts":{"com.docker.network.bridge.name":"br-front","mtu":"1400"},)"
        R"("ipam":{"driver":"default","config":[{"subnet":"172.28.0.0/16","ip_range":"172.28.5.0/24",)"
        R"("gateway":"172.28.5.254","aux_addresses":{"host1":"172.28.1.5"}},)"
        R"({"subnet":"fd00:1::/64","gateway":"fd00:1::1"}],"options":{"foo":"bar"}},)"
        R"("internal":true,"attachable":true,"enable_ipv4":true,"enable_ipv6":false,)"
        R"("labels":{"com.example.team":"net"},"x-note":"hi"})");
  check_round_trip(p);
}

TEST_CASE("top_networks: names come from name:, external, or project and key", "[compose][top_networks]") {
  Project p = load_ok(web_on("back, empty, outside, legacy, named, named_outside") +
                      "networks:\n"
                      "  back:\n"
                      "  empty: {}\n"
                      "  outside:\n"
                      "    external: true\n"
                      "  legacy:\n"
                      "    external:\n"
                      "      name: corp-net\n"
                      "  named:\n"
                      "    name: my-net\n"
                      "  named_outside:\n"
                      "    name: shared\n"
                      "    external: true\n");
  CHECK(network_json(p, "back") == R"({"name":"project_back"})");
  CHECK(network_json(p, "empty") == R"({"name":"project_empty"})");
  CHECK(network_json(p, "outside") == R"({"name":"outside","external":true})");
  CHECK(network_json(p, "legacy") == R"({"name":"corp-net","external":true})");
  CHECK(network_json(p, "named") == R"({"name":"my-net"})");
  CHECK(network_json(p, "named_outside") == R"({"name":"shared","external":true})");
  check_round_trip(p);
}

TEST_CASE("top_networks: the project name prefixes derived names", "[compose][top_networks]") {
  LoadOptions o;
  o.project_name = "shop";
  Project p = load_ok(web_on("back") + "networks:\n  back:\n", {}, {}, o);
  CHECK(p.networks.at("back").name == "shop_back");
  Project q = load_ok("name: store\n" + web_on("back") + "networks:\n  back:\n");
  CHECK(q.networks.at("back").name == "store_back");
}

TEST_CASE("top_networks: invalid definitions are all reported", "[compose][top_networks]") {
  std::string err = load_error(std::string(kServices) +
                               "networks:\n"
                               "  ext:\n"
                               "    external: true\n"
                               "    driver: overlay\n"
                               "    internal: true\n"
                               "  both:\n"
                               "    name: a\n"
                               "    external:\n"
                               "      name: b\n"
                               "  bad:\n"
                               "    driver: 5\n"
                               "    scope: swarm\n"
                               "    ipam:\n"
                               "      config:\n"
                               "        - subnet: 10.0.0.0/33\n"
                               "          gateway: 10.0.0.256\n"
                               "        - subnet: 172.28.0.0/16\n"
                               "          ip_range: 172.29.0.0/24\n"
                               "          gateway: 10.0.0.1\n"
                               "          aux_addresses:\n"
                               "            h: nope\n"
                               "        - subnet: fd00::/64\n"
                               "          gateway: 10.0.0.1\n"
                               "  \"bad name\":\n"
                               "  num: 5\n");
  CHECK(err ==
        "compose.yaml:7:5: networks.ext: conflicting parameters \"external\" and \"driver\" specified\n"
        "compose.yaml:8:5: networks.ext: conflicting parameters \"external\" and \"internal\" specified\n"
        "compose.yaml:12:13: networks.both.external.name: conflicts with networks.both.name; use only name\n"
        "compose.yaml:15:5: networks.bad: unknown key \"scope\"\n"
        "compose.yaml:14:13: networks.bad.driver: must be a string, not a number\n"
        "compose.yaml:18:19: networks.bad.ipam.config[0].subnet: invalid subnet \"10.0.0.0/33\" (expected CIDR "
        "notation, e.g. 172.28.0.0/16)\n"
        "compose.yaml:19:20: networks.bad.ipam.config[0].gateway: invalid gateway address \"10.0.0.256\"\n"
        "compose.yaml:21:21: networks.bad.ipam.config[1].ip_range: ip_range \"172.29.0.0/24\" is not within subnet "
        "\"172.28.0.0/16\"\n"
        "compose.yaml:22:20: networks.bad.ipam.config[1].gateway: gateway \"10.0.0.1\" is not in subnet "
        "\"172.28.0.0/16\"\n"
        "compose.yaml:24:16: networks.bad.ipam.config[1].aux_addresses.h: invalid IP address \"nope\"\n"
        "compose.yaml:26:20: networks.bad.ipam.config[2].gateway: gateway \"10.0.0.1\" is not in subnet "
        "\"fd00::/64\"\n"
        "compose.yaml:27:3: networks: invalid name \"bad name\" (must match [a-zA-Z0-9._-]+)\n"
        "compose.yaml:28:8: networks.num: must be a mapping, not a number");
}
