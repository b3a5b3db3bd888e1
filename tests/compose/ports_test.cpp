#include "compose_test_util.h"

using namespace stack::compose;
using namespace stack::compose::testing;

namespace {

Json ports_of(const std::string& list) {
  return service_json("services:\n  web:\n    image: nginx\n    ports:\n" + list, "web").at("ports");
}

}  // namespace

TEST_CASE("ports: short syntax forms become long entries", "[compose][ports]") {
  Json p = ports_of(
      "      - 80\n"
      "      - \"8080:80\"\n"
      "      - 127.0.0.1:9000:9000/udp\n"
      "      - \"[::1]:5353:53/sctp\"\n"
      "      - 127.0.0.1::7000\n");
  CHECK(p.dump() ==
        R"([{"mode":"ingress","target":80,"protocol":"tcp"},)"
        R"({"mode":"ingress","target":80,"published":"8080","protocol":"tcp"},)"
        R"({"mode":"ingress","host_ip":"127.0.0.1","target":9000,"published":"9000","protocol":"udp"},)"
        R"({"mode":"ingress","host_ip":"::1","target":53,"published":"5353","protocol":"sctp"},)"
        R"({"mode":"ingress","host_ip":"127.0.0.1","target":7000,"protocol":"tcp"}])");
}

TEST_CASE("ports: ranges expand per port or stay a published range", "[compose][ports]") {
  Json p = ports_of(
      "      - \"3000-3001:4000-4001\"\n"
      "      - \"8000-8010:80\"\n"
      "      - \"5000-5001\"\n");
  CHECK(p.dump() ==
        R"([{"mode":"ingress","target":4000,"published":"3000","protocol":"tcp"},)"
        R"({"mode":"ingress","target":4001,"published":"3001","protocol":"tcp"},)"
        R"({"mode":"ingress","target":80,"published":"8000-8010","protocol":"tcp"},)"
        R"({"mode":"ingress","target":5000,"protocol":"tcp"},)"
        R"({"mode":"ingress","target":5001,"protocol":"tcp"}])");
}

TEST_CASE("ports: long syntax with defaults, numeric strings and extensions", "[compose][ports]") {
  Json p = ports_of(
      "      - target: \"80\"\n"
      "        published: 8080\n"
      "      - name: web\n"
      "        mode: host\n"
      "        host_ip: 0.0.0.0\n"
      "        target: 443\n"
      "        published: \"8443-8444\"\n"
      "        protocol: udp\n"
      "        app_protocol: https\n"
      "        x-note: hi\n");
  CHECK(p.dump() ==
        R"([{"mode":"ingress","target":80,"published":"8080","protocol":"tcp"},)"
        R"({"name":"web","mode":"host","host_ip":"0.0.0.0","target":443,"published":"8443-8444",)"
        R"("protocol":"udp","app_protocol":"https","x-note":"hi"}])");
}

TEST_CASE("ports: every invalid entry is reported with its position", "[compose][ports]") {
  std::string err = load_error(
      "services:\n"
      "  web:\n"
      "    ports:\n"
      "      - \"8080:80\"\n"
      "      - \"80:80:80\"\n"
      "      - \"70000:80\"\n"
      "      - \"80/icmp\"\n"
      "      - \"1000-1002:2000-2001\"\n"
      "      - published: 80\n"
      "      - target: 80\n"
      "        mode: swarm\n"
      "        host_ip: localhost\n"
      "        bogus: 1\n"
      "    image: nginx\n");
  CHECK(err ==
        "compose.yaml:5:9: services.web.ports[1]: invalid port \"80:80:80\"\n"
        "compose.yaml:6:9: services.web.ports[2]: invalid port \"70000:80\"\n"
        "compose.yaml:7:9: services.web.ports[3]: invalid port \"80/icmp\"\n"
        "compose.yaml:8:9: services.web.ports[4]: invalid port \"1000-1002:2000-2001\"\n"
        "compose.yaml:9:9: services.web.ports[5]: missing required key \"target\"\n"
        "compose.yaml:13:9: services.web.ports[6]: unknown key \"bogus\"\n"
        "compose.yaml:11:15: services.web.ports[6].mode: invalid value \"swarm\" (expected one of: ingress, host)\n"
        "compose.yaml:12:18: services.web.ports[6].host_ip: invalid IP address \"localhost\"");
}

TEST_CASE("ports: not a list", "[compose][ports]") {
  CHECK(load_error("services:\n  web:\n    ports: 80\n    image: nginx\n") ==
        "compose.yaml:3:12: services.web.ports: must be a list, not a number");
}

TEST_CASE("ports: round trip through the canonical JSON", "[compose][ports]") {
  Project p = load_ok(
      "services:\n"
      "  web:\n"
      "    ports:\n"
      "      - \"[::1]:8000-8001:80-81/udp\"\n"
      "      - 9000-9010:9000\n"
      "      - target: 22\n"
      "        name: ssh\n"
      "        mode: host\n"
      "        x-a: [1]\n"
      "    image: nginx\n");
  REQUIRE(p.services[0].ports.size() == 4);
  CHECK(p.services[0].ports[1].published == "8001");
  CHECK(p.services[0].ports[1].host_ip == "::1");
  check_round_trip(p);
}
