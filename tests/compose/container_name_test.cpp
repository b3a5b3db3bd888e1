// container_name, hostname, domainname.
#include "compose_test_util.h"

using namespace stack::compose;
using namespace stack::compose::testing;

TEST_CASE("container_name: names and host names are kept", "[compose][container_name]") {
  Project p = load_ok(
      "services:\n"
      "  web:\n"
      "    image: nginx\n"
      "    container_name: my-web_1.a\n"
      "    hostname: web01\n"
      "    domainname: example.org\n");
  CHECK(service_to_json(*p.find_service("web")).dump() ==
        R"({"container_name":"my-web_1.a","domainname":"example.org","hostname":"web01","image":"nginx",)"
        R"("networks":{"default":null}})");
  check_round_trip(p);
}

TEST_CASE("container_name: names Docker would refuse are errors", "[compose][container_name]") {
  std::string err = load_error(
      "services:\n"
      "  a:\n"
      "    image: nginx\n"
      "    container_name: -web\n"
      "  b:\n"
      "    image: nginx\n"
      "    container_name: \"my web\"\n"
      "  c:\n"
      "    image: nginx\n"
      "    container_name: x\n"
      "    hostname: 12\n");
  CHECK(err ==
        "compose.yaml:4:21: services.a.container_name: invalid container name \"-web\" (must match "
        "[a-zA-Z0-9][a-zA-Z0-9_.-]+)\n"
        "compose.yaml:7:21: services.b.container_name: invalid container name \"my web\" (must match "
        "[a-zA-Z0-9][a-zA-Z0-9_.-]+)\n"
        "compose.yaml:10:21: services.c.container_name: invalid container name \"x\" (must match "
        "[a-zA-Z0-9][a-zA-Z0-9_.-]+)\n"
        "compose.yaml:11:15: services.c.hostname: must be a string, not a number");
}
