#include "compose_test_util.h"

using namespace stack::compose;
using namespace stack::compose::testing;

namespace {

const char kDevelop[] =
    "services:\n"
    "  web:\n"
      "    image: alpine\n"
    "    develop:\n"
    "      watch:\n"
    "        - path: ./src\n"
    "          action: sync\n"
    "          target: /app/src\n"
    "          ignore: node_modules/\n"
    "          include: [\"*.js\", \"*.css\"]\n"
    "          initial_sync: true\n"
    "        - path: package.json\n"
    "          action: rebuild\n"
    "        - path: ~/shared/../conf\n"
    "          action: sync+exec\n"
    "          target: /etc/app\n"
    "          exec:\n"
    "            command: kill -HUP 1\n"
    "            user: root\n"
    "          x-why: reload\n"
    "        - path: /abs/config.yml\n"
    "          action: sync+restart\n"
    "          target: /etc/config.yml\n"
    "        - path: ./Dockerfile\n"
    "          action: restart\n"
    "      x-tool: tilt\n";

}  // namespace

TEST_CASE("develop: watch rules with resolved paths and string-or-list patterns", "[compose][develop]") {
  Json d = service_json(kDevelop, "web", Env{{"HOME", "/home/dev"}}).at("develop");
  CHECK(d.dump() ==
        R"({"watch":[)"
        R"({"path":"/project/src","action":"sync","target":"/app/src","ignore":["node_modules/"],)"
        R"("include":["*.js","*.css"],"initial_sync":true},)"
        R"({"path":"/project/package.json","action":"rebuild"},)"
        R"({"path":"/home/dev/conf","action":"sync+exec","target":"/etc/app",)"
        R"("exec":{"command":["kill","-HUP","1"],"user":"root"},"x-why":"reload"},)"
        R"({"path":"/abs/config.yml","action":"sync+restart","target":"/etc/config.yml"},)"
        R"({"path":"/project/Dockerfile","action":"restart"}],"x-tool":"tilt"})");
}

TEST_CASE("develop: null is unset, an empty mapping is set", "[compose][develop]") {
  Project p = load_ok(
      "services:\n  web:\n    image: alpine\n    develop:\n"
      "  api:\n    image: alpine\n    develop: {}\n");
  CHECK_FALSE(p.find_service("web")->develop.has_value());
  CHECK(p.find_service("api")->develop == Develop{});
  CHECK(service_to_json(*p.find_service("api")).at("develop").dump() == "{}");
}

TEST_CASE("develop: every invalid rule is reported with its position", "[compose][develop]") {
  std::string err = load_error(
      "services:\n"
      "  web:\n"
      "    image: alpine\n"
      "    develop:\n"
      "      watch:\n"
      "        - action: sync\n"
      "        - path: ./src\n"
      "        - path: ./src\n"
      "          action: copy\n"
      "        - path: ./src\n"
      "          action: sync+exec\n"
      "        - path: ./src\n"
      "          action: sync+exec\n"
      "          exec: {user: root}\n"
      "          initial_sync: sometimes\n"
      "          poll: 1s\n"
      "      bogus: true\n"
      "  api:\n"
      "    image: alpine\n"
      "    develop:\n"
      "      watch: ./src\n");
  CHECK(err ==
        "compose.yaml:17:7: services.web.develop: unknown key \"bogus\"\n"
        "compose.yaml:6:11: services.web.develop.watch[0]: missing required key \"path\"\n"
        "compose.yaml:7:11: services.web.develop.watch[1]: missing required key \"action\"\n"
        "compose.yaml:9:19: services.web.develop.watch[2].action: invalid value \"copy\" "
        "(expected one of: rebuild, sync, restart, sync+restart, sync+exec)\n"
        "compose.yaml:10:11: services.web.develop.watch[3]: missing required key \"exec\" (action is sync+exec)\n"
        "compose.yaml:16:11: services.web.develop.watch[4]: unknown key \"poll\"\n"
        "compose.yaml:15:25: services.web.develop.watch[4].initial_sync: must be a boolean, not \"sometimes\"\n"
        "compose.yaml:14:17: services.web.develop.watch[4].exec: missing required key \"command\"\n"
        "compose.yaml:21:14: services.api.develop.watch: must be a list of watch rules, not a string");
}

TEST_CASE("develop: round trip through the canonical JSON", "[compose][develop]") {
  Env env{{"HOME", "/home/dev"}};
  Project p = load_ok(kDevelop, env);
  const Develop& d = *p.services[0].develop;
  REQUIRE(d.watch.size() == 5);
  CHECK(d.watch[0].path == "/project/src");
  CHECK(d.watch[0].ignore == std::vector<std::string>{"node_modules/"});
  CHECK(d.watch[2].exec->command == std::vector<std::string>{"kill", "-HUP", "1"});
  check_round_trip(p, env);
}
