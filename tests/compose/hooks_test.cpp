// post_start and pre_stop: lists of lifecycle hooks.
#include "compose_test_util.h"

using namespace stack::compose;
using namespace stack::compose::testing;

TEST_CASE("hooks: short and long forms of post_start", "[compose][hooks]") {
  Json s = service_json(
      "services:\n"
      "  web:\n"
      "    image: alpine\n"
      "    post_start:\n"
      "      - command: ./init.sh --once \"a b\"\n"
      "      - command: [chown, -R, \"1000:1000\", /data]\n"
      "        user: root\n"
      "        privileged: true\n"
      "        working_dir: /data\n"
      "        environment:\n"
      "          - MODE=fast\n"
      "          - KEEP\n"
      "        x-why: perms\n",
      "web");
  CHECK(s.at("post_start").dump() ==
        R"([{"command":["./init.sh","--once","a b"]},)"
        R"({"command":["chown","-R","1000:1000","/data"],"user":"root","privileged":true,)"
        R"("working_dir":"/data","environment":{"KEEP":null,"MODE":"fast"},"x-why":"perms"}])");
}

TEST_CASE("hooks: pre_stop with a mapping environment and string booleans", "[compose][hooks]") {
  Json s = service_json(
      "services:\n"
      "  web:\n"
      "    image: alpine\n"
      "    pre_stop:\n"
      "      - command: ''\n"
      "        privileged: \"false\"\n"
      "        environment:\n"
      "          B: 2\n"
      "          A: \"x=y\"\n",
      "web");
  CHECK(s.at("pre_stop").dump() == R"([{"command":[],"environment":{"A":"x=y","B":"2"}}])");
}

TEST_CASE("hooks: an empty list sets nothing", "[compose][hooks]") {
  Json s = service_json("services:\n  web:\n    image: alpine\n    post_start: []\n", "web");
  CHECK_FALSE(s.contains("post_start"));
}

TEST_CASE("hooks: every invalid hook is reported with its position", "[compose][hooks]") {
  std::string err = load_error(
      "services:\n"
      "  web:\n"
      "    image: alpine\n"
      "    post_start:\n"
      "      - user: root\n"
      "      - command: \"echo 'x\"\n"
      "        privileged: maybe\n"
      "        shell: bash\n"
      "      - command: null\n"
      "      - ls\n"
      "    pre_stop:\n"
      "      command: stop\n"
      "  api:\n"
      "    image: alpine\n"
      "    pre_stop:\n"
      "      - command: [stop]\n"
      "        environment: 3\n");
  CHECK(err ==
        "compose.yaml:5:9: services.web.post_start[0]: missing required key \"command\"\n"
        "compose.yaml:8:9: services.web.post_start[1]: unknown key \"shell\"\n"
        "compose.yaml:6:18: services.web.post_start[1].command: invalid command \"echo 'x\": "
        "unterminated single quote\n"
        "compose.yaml:7:21: services.web.post_start[1].privileged: must be a boolean, not \"maybe\"\n"
        "compose.yaml:9:18: services.web.post_start[2].command: must be a string or a list of strings, not null\n"
        "compose.yaml:10:9: services.web.post_start[3]: must be a mapping, not a string\n"
        "compose.yaml:12:7: services.web.pre_stop: must be a list of hooks, not a mapping\n"
        "compose.yaml:17:22: services.api.pre_stop[0].environment: "
        "must be a mapping or a list of \"KEY=VALUE\" strings, not a number");
}

TEST_CASE("hooks: round trip through the canonical JSON", "[compose][hooks]") {
  Project p = load_ok(
      "services:\n"
      "  web:\n"
      "    image: alpine\n"
      "    post_start:\n"
      "      - command: echo started\n"
      "        user: \"1000\"\n"
      "        environment: {A: \"1\", B: null}\n"
      "        x-n: [1, 2]\n"
      "    pre_stop:\n"
      "      - command: []\n"
      "        privileged: true\n"
      "        working_dir: /srv\n");
  const Service& s = p.services[0];
  REQUIRE(s.post_start.size() == 1);
  CHECK(s.post_start[0].command == std::vector<std::string>{"echo", "started"});
  CHECK(s.post_start[0].environment.at("B") == std::nullopt);
  REQUIRE(s.pre_stop.size() == 1);
  CHECK(s.pre_stop[0].privileged);
  check_round_trip(p);
}
