// dns, dns_opt, dns_search.
#include "compose_test_util.h"

using namespace stack::compose;
using namespace stack::compose::testing;

TEST_CASE("dns: a single string becomes a one-item list", "[compose][dns]") {
  Project p = load_ok(
      "services:\n"
      "  web:\n"
      "    image: nginx\n"
      "    dns: 8.8.8.8\n"
      "    dns_search: example.com\n"
      "    dns_opt: [use-vc, \"ndots:2\"]\n"
      "  db:\n"
      "    image: postgres\n"
      "    dns: [1.1.1.1, \"2606:4700::1111\"]\n"
      "    dns_search: [a.example, b.example]\n");
  CHECK(service_to_json(*p.find_service("web")).dump() ==
        R"({"dns":["8.8.8.8"],"dns_opt":["use-vc","ndots:2"],"dns_search":["example.com"],"image":"nginx",)"
        R"("networks":{"default":null}})");
  CHECK(service_to_json(*p.find_service("db")).dump() ==
        R"({"dns":["1.1.1.1","2606:4700::1111"],"dns_search":["a.example","b.example"],"image":"postgres",)"
        R"("networks":{"default":null}})");
  check_round_trip(p);
}

TEST_CASE("dns: invalid values are all reported", "[compose][dns]") {
  std::string err = load_error(
      "services:\n"
      "  web:\n"
      "    image: nginx\n"
      "    dns: {primary: 8.8.8.8}\n"
      "    dns_opt: use-vc\n"
      "    dns_search: [a, 1]\n");
  CHECK(err ==
        "compose.yaml:4:10: services.web.dns: must be a string or list of strings, not a mapping\n"
        "compose.yaml:5:14: services.web.dns_opt: must be a list of strings, not a string\n"
        "compose.yaml:6:21: services.web.dns_search[1]: must be a string, not a number");
}
