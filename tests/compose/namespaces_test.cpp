// cgroup, cgroup_parent, ipc, pid, uts, userns_mode, network_mode.
#include "compose_test_util.h"

using namespace stack::compose;
using namespace stack::compose::testing;

TEST_CASE("namespaces: namespace modes are kept as written", "[compose][namespaces]") {
  Project p = load_ok(
      "services:\n"
      "  web:\n"
      "    image: nginx\n"
      "    cgroup: private\n"
      "    cgroup_parent: /stack.slice\n"
      "    ipc: shareable\n"
      "    pid: service:db\n"
      "    uts: host\n"
      "    userns_mode: host\n"
      "    network_mode: container:abc\n"
      "  db:\n"
      "    image: postgres\n"
      "    cgroup: host\n"
      "    pid:\n");
  CHECK(service_to_json(*p.find_service("web")).dump() ==
        R"({"cgroup":"private","cgroup_parent":"/stack.slice","image":"nginx","ipc":"shareable",)"
        R"("network_mode":"container:abc","pid":"service:db","userns_mode":"host","uts":"host"})");
  CHECK(service_to_json(*p.find_service("db")).dump() ==
        R"({"cgroup":"host","image":"postgres","networks":{"default":null}})");
  check_round_trip(p);
}

TEST_CASE("namespaces: invalid values are all reported", "[compose][namespaces]") {
  std::string err = load_error(
      "services:\n"
      "  web:\n"
      "    image: nginx\n"
      "    cgroup: shared\n"
      "    ipc: {mode: host}\n"
      "    uts: 1\n"
      "    network_mode: [host]\n");
  CHECK(err ==
        "compose.yaml:4:13: services.web.cgroup: invalid value \"shared\" (expected one of: host, private)\n"
        "compose.yaml:5:10: services.web.ipc: must be a string, not a mapping\n"
        "compose.yaml:6:10: services.web.uts: must be a string, not a number\n"
        "compose.yaml:7:19: services.web.network_mode: must be a string, not a sequence");
}
