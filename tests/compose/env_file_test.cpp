// env_file: paths made absolute, with required and format. Loaded without environment
// resolution so that the files stay listed rather than folded into environment.
#include "compose_test_util.h"

using namespace stack::compose;
using namespace stack::compose::testing;

namespace {

LoadOptions unresolved() {
  LoadOptions o;
  o.resolve_environment = false;
  return o;
}

// check_round_trip loads with resolution; this one keeps env_file listed.
void check_unresolved_round_trip(const Project& p, const Env& env) {
  std::string json = project_to_json(p).dump(2);
  LoadOptions o = unresolved();
  o.files = {"/project/compose.json"};
  Project again = load_ok("", env, {{"/project/compose.json", json}}, o);
  CHECK(project_to_json(again).dump(2) == json);
  CHECK(again.services == p.services);
}

}  // namespace

TEST_CASE("env_file: strings and long entries become absolute paths", "[compose][env_file]") {
  Env env = {{"HOME", "/home/me"}};
  Project p = load_ok(
      "services:\n"
      "  web:\n"
      "    image: nginx\n"
      "    env_file:\n"
      "      - common.env\n"
      "      - path: ./config/../local.env\n"
      "        required: false\n"
      "      - path: ~/secrets.env\n"
      "        format: raw\n"
      "  db:\n"
      "    image: postgres\n"
      "    env_file: /etc/db.env\n",
      env, {}, unresolved());
  CHECK(service_to_json(*p.find_service("web")).at("env_file").dump() ==
        R"([{"path":"/project/common.env","required":true},{"path":"/project/local.env","required":false},)"
        R"({"path":"/home/me/secrets.env","required":true,"format":"raw"}])");
  CHECK(service_to_json(*p.find_service("db")).at("env_file").dump() == R"([{"path":"/etc/db.env","required":true}])");
  check_unresolved_round_trip(p, env);
}

TEST_CASE("env_file: invalid entries are all reported", "[compose][env_file]") {
  std::string err = load_error(
      "services:\n"
      "  web:\n"
      "    image: nginx\n"
      "    env_file:\n"
      "      - required: false\n"
      "      - path: a.env\n"
      "        required: perhaps\n"
      "        format: yaml\n"
      "        encoding: utf8\n"
      "      - 5\n"
      "  db:\n"
      "    image: postgres\n"
      "    env_file: {path: a.env}\n",
      {}, {}, unresolved());
  CHECK(err ==
        "compose.yaml:5:9: services.web.env_file[0]: missing required key \"path\"\n"
        "compose.yaml:9:9: services.web.env_file[1]: unknown key \"encoding\"\n"
        "compose.yaml:7:19: services.web.env_file[1].required: must be a boolean, not \"perhaps\"\n"
        "compose.yaml:8:17: services.web.env_file[1].format: invalid value \"yaml\" (expected one of: raw)\n"
        "compose.yaml:10:9: services.web.env_file[2]: must be a string, not a number\n"
        "compose.yaml:13:15: services.db.env_file: must be a string or a list, not a mapping");
}

TEST_CASE("env_file: label_file paths are made absolute too", "[compose][env_file]") {
  Project p = load_ok(
      "services:\n"
      "  web:\n"
      "    image: nginx\n"
      "    label_file: ./labels/web.labels\n"
      "  db:\n"
      "    image: postgres\n"
      "    label_file: [a.labels, /etc/b.labels]\n",
      {}, {}, unresolved());
  CHECK(service_to_json(*p.find_service("web")).at("label_file").dump() == R"(["/project/labels/web.labels"])");
  CHECK(service_to_json(*p.find_service("db")).at("label_file").dump() ==
        R"(["/project/a.labels","/etc/b.labels"])");
  check_unresolved_round_trip(p, {});
  std::string err = load_error("services:\n  web:\n    image: nginx\n    label_file: {a: b}\n", {}, {}, unresolved());
  CHECK(err == "compose.yaml:4:17: services.web.label_file: must be a string or list of strings, not a mapping");
}
