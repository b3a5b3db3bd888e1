// extra_hosts.
#include "compose_test_util.h"

using namespace stack::compose;
using namespace stack::compose::testing;

TEST_CASE("extra_hosts: list entries become host=ip in file order", "[compose][extra_hosts]") {
  Project p = load_ok(
      "services:\n"
      "  web:\n"
      "    image: nginx\n"
      "    extra_hosts:\n"
      "      - \"somehost:162.242.195.82\"\n"
      "      - \"otherhost=50.31.209.229\"\n"
      "      - \"v6=::1\"\n"
      "      - \"v6b:[fe80::1]\"\n"
      "      - \"multi=10.0.0.1,10.0.0.2\"\n"
      "      - \"gw:host-gateway\"\n");
  CHECK(service_to_json(*p.find_service("web")).at("extra_hosts").dump() ==
        R"(["somehost=162.242.195.82","otherhost=50.31.209.229","v6=::1","v6b=fe80::1",)"
        R"("multi=10.0.0.1","multi=10.0.0.2","gw=host-gateway"])");
  check_round_trip(p);
}

TEST_CASE("extra_hosts: mapping form with one or several addresses", "[compose][extra_hosts]") {
  Project p = load_ok(
      "services:\n"
      "  web:\n"
      "    image: nginx\n"
      "    extra_hosts:\n"
      "      somehost: 162.242.195.82\n"
      "      dual: [\"10.0.0.5\", \"[::1]\"]\n");
  CHECK(p.find_service("web")->extra_hosts ==
        std::vector<std::string>{"somehost=162.242.195.82", "dual=10.0.0.5", "dual=::1"});
  check_round_trip(p);
}

TEST_CASE("extra_hosts: invalid entries are all reported", "[compose][extra_hosts]") {
  std::string err = load_error(
      "services:\n"
      "  web:\n"
      "    image: nginx\n"
      "    extra_hosts:\n"
      "      - nohost\n"
      "      - \"=1.2.3.4\"\n"
      "      - \"h=999.1.1.1\"\n"
      "      - \"h=10.0.0.1,nope\"\n"
      "  db:\n"
      "    image: postgres\n"
      "    extra_hosts:\n"
      "      a: {ip: 1.2.3.4}\n"
      "      b: [1.2.3.4, x]\n"
      "  cache:\n"
      "    image: redis\n"
      "    extra_hosts: 5\n");
  CHECK(err ==
        "compose.yaml:5:9: services.web.extra_hosts[0]: invalid extra host \"nohost\" (expected HOST=IP or HOST:IP)\n"
        "compose.yaml:6:9: services.web.extra_hosts[1]: invalid host name \"\"\n"
        "compose.yaml:7:9: services.web.extra_hosts[2]: invalid IP address \"999.1.1.1\" for host \"h\"\n"
        "compose.yaml:8:9: services.web.extra_hosts[3]: invalid IP address \"nope\" for host \"h\"\n"
        "compose.yaml:12:10: services.db.extra_hosts.a: must be a string, not a mapping\n"
        "compose.yaml:13:20: services.db.extra_hosts.b[1]: invalid IP address \"x\" for host \"b\"\n"
        "compose.yaml:16:18: services.cache.extra_hosts: must be a mapping or a list of \"HOST=IP\" strings, not a "
        "number");
}
