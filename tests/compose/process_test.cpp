// How the container process runs: user, working_dir, runtime, init, tty, stdin_open, attach,
// privileged, read_only, use_api_socket, oom_kill_disable, oom_score_adj.
#include "compose_test_util.h"

using namespace stack::compose;
using namespace stack::compose::testing;

TEST_CASE("process: strings and booleans in canonical form", "[compose][process]") {
  Project p = load_ok(
      "services:\n"
      "  web:\n"
      "    image: nginx\n"
      "    user: \"1000:1000\"\n"
      "    working_dir: /srv/app\n"
      "    runtime: runc\n"
      "    init: true\n"
      "    tty: true\n"
      "    stdin_open: \"yes\"\n"
      "    attach: false\n"
      "    privileged: true\n"
      "    read_only: true\n"
      "    use_api_socket: true\n"
      "    oom_kill_disable: true\n"
      "    oom_score_adj: -500\n");
  CHECK(service_to_json(*p.find_service("web")).dump() ==
        R"({"attach":false,"image":"nginx","init":true,"networks":{"default":null},)"
        R"("oom_kill_disable":true,"oom_score_adj":-500,)"
        R"("privileged":true,"read_only":true,"runtime":"runc","stdin_open":true,"tty":true,)"
        R"("use_api_socket":true,"user":"1000:1000","working_dir":"/srv/app"})");
  check_round_trip(p);
}

TEST_CASE("process: false booleans are omitted except attach and init", "[compose][process]") {
  Project p = load_ok(
      "services:\n"
      "  web:\n"
      "    image: nginx\n"
      "    init: false\n"
      "    tty: false\n"
      "    privileged: \"false\"\n"
      "    attach: true\n");
  CHECK(service_to_json(*p.find_service("web")).dump() ==
        R"({"attach":true,"image":"nginx","init":false,"networks":{"default":null}})");
  check_round_trip(p);
}

TEST_CASE("process: invalid values are all reported", "[compose][process]") {
  std::string err = load_error(
      "services:\n"
      "  web:\n"
      "    image: nginx\n"
      "    user: 1000\n"
      "    init: maybe\n"
      "    tty: [true]\n"
      "    oom_score_adj: 1001\n"
      "    read_only: 2\n");
  CHECK(err ==
        "compose.yaml:4:11: services.web.user: must be a string, not a number\n"
        "compose.yaml:5:11: services.web.init: must be a boolean, not \"maybe\"\n"
        "compose.yaml:6:10: services.web.tty: must be a boolean, not a sequence\n"
        "compose.yaml:7:20: services.web.oom_score_adj: must be between -1000 and 1000, not 1001\n"
        "compose.yaml:8:16: services.web.read_only: must be a boolean, not \"2\"");
}
