// cap_add, cap_drop, security_opt, device_cgroup_rules, group_add.
#include "compose_test_util.h"

using namespace stack::compose;
using namespace stack::compose::testing;

TEST_CASE("capabilities: privilege lists keep their order", "[compose][capabilities]") {
  Project p = load_ok(
      "services:\n"
      "  web:\n"
      "    image: nginx\n"
      "    cap_add: [NET_ADMIN, SYS_TIME]\n"
      "    cap_drop: [ALL]\n"
      "    security_opt:\n"
      "      - no-new-privileges:true\n"
      "      - seccomp=unconfined\n"
      "    device_cgroup_rules: [\"c 1:3 mr\", \"a 7:* rmw\"]\n"
      "    group_add: [audio, 1001]\n");
  CHECK(service_to_json(*p.find_service("web")).dump() ==
        R"({"cap_add":["NET_ADMIN","SYS_TIME"],"cap_drop":["ALL"],"device_cgroup_rules":["c 1:3 mr","a 7:* rmw"],)"
        R"("group_add":["audio","1001"],"image":"nginx","networks":{"default":null},)"
        R"("security_opt":["no-new-privileges:true","seccomp=unconfined"]})");
  check_round_trip(p);
}

TEST_CASE("capabilities: empty lists are omitted", "[compose][capabilities]") {
  Json j = service_json("services:\n  web:\n    image: nginx\n    cap_add: []\n    group_add: []\n", "web");
  CHECK(j.dump() == R"({"image":"nginx","networks":{"default":null}})");
}

TEST_CASE("capabilities: wrong types and duplicates are all reported", "[compose][capabilities]") {
  std::string err = load_error(
      "services:\n"
      "  web:\n"
      "    image: nginx\n"
      "    cap_add: NET_ADMIN\n"
      "    cap_drop: [ALL, 1]\n"
      "    security_opt: [a, b, a]\n"
      "    group_add: [{name: x}]\n");
  CHECK(err ==
        "compose.yaml:4:14: services.web.cap_add: must be a list of strings, not a string\n"
        "compose.yaml:5:21: services.web.cap_drop[1]: must be a string, not a number\n"
        "compose.yaml:6:26: services.web.security_opt[2]: duplicate item \"a\"\n"
        "compose.yaml:7:17: services.web.group_add[0]: must be a string or number, not a mapping");
}
