#include "compose_test_util.h"

using namespace stack::compose;
using namespace stack::compose::testing;

namespace {

Json service_of(const std::string& value) {
  return service_json("services:\n  web:\n    image: alpine\n    command: " + value + "\n", "web");
}

}  // namespace

TEST_CASE("command: a string is split into words as a shell would", "[compose][command]") {
  CHECK(service_of("bundle exec thin -p 3000").at("command").dump() == R"(["bundle","exec","thin","-p","3000"])");
  CHECK(service_of(R"(sh -c 'echo "$$HOME"; exit 3')").at("command").dump() ==
        R"(["sh","-c","echo \"$HOME\"; exit 3"])");
  CHECK(service_of(R"("echo \"a  b\" c\\ d")").at("command").dump() == R"(["echo","a  b","c d"])");
}

TEST_CASE("command: an unquoted operator ends the command, as in Compose", "[compose][command]") {
  CHECK(service_of("echo hi && echo bye").at("command").dump() == R"(["echo","hi"])");
}

TEST_CASE("command: a list is kept as written", "[compose][command]") {
  Json s = service_json(
      "services:\n"
      "  web:\n"
      "    image: alpine\n"
      "    command:\n"
      "      - echo\n"
      "      - \"a  b\"\n"
      "      - \"10\"\n"
      "      - 'it''s'\n",
      "web");
  CHECK(s.at("command").dump() == R"(["echo","a  b","10","it's"])");
}

TEST_CASE("command: null is unset, empty string and empty list clear the image's command", "[compose][command]") {
  CHECK_FALSE(service_of("null").contains("command"));
  CHECK_FALSE(service_json("services:\n  web:\n    image: alpine\n    command:\n", "web").contains("command"));
  CHECK(service_of("\"\"").at("command").dump() == "[]");
  CHECK(service_of("[]").at("command").dump() == "[]");
  Project p = load_ok(
      "services:\n  web:\n    image: alpine\n    command: ''\n"
      "  api:\n    image: alpine\n    command: ~\n");
  REQUIRE(p.find_service("web")->command.has_value());
  CHECK(p.find_service("web")->command->empty());
  CHECK_FALSE(p.find_service("api")->command.has_value());
}

TEST_CASE("command: interpolated values are split after substitution", "[compose][command]") {
  Json s = service_json("services:\n  web:\n    image: alpine\n    command: run ${ARGS}\n", "web",
                        Env{{"ARGS", "--port 80"}});
  CHECK(s.at("command").dump() == R"(["run","--port","80"])");
}

TEST_CASE("command: every invalid value is reported with its position", "[compose][command]") {
  std::string err = load_error(
      "services:\n"
      "  a:\n"
      "    image: alpine\n"
      "    command: echo 'unterminated\n"
      "  b:\n"
      "    image: alpine\n"
      "    command: [echo, 10, {x: 1}]\n"
      "  c:\n"
      "    image: alpine\n"
      "    command: 42\n"
      "  d:\n"
      "    image: alpine\n"
      "    command: {run: x}\n"
      "  e:\n"
      "    image: alpine\n"
      "    command: \"run \\\"x\"\n");
  CHECK(err ==
        "compose.yaml:4:14: services.a.command: invalid command \"echo 'unterminated\": unterminated single quote\n"
        "compose.yaml:7:21: services.b.command[1]: must be a string, not a number\n"
        "compose.yaml:7:25: services.b.command[2]: must be a string, not a mapping\n"
        "compose.yaml:10:14: services.c.command: must be a string or a list of strings, not a number\n"
        "compose.yaml:13:14: services.d.command: must be a string or a list of strings, not a mapping\n"
        "compose.yaml:16:14: services.e.command: invalid command \"run \"x\": unterminated double quote");
}

TEST_CASE("command: round trip through the canonical JSON", "[compose][command]") {
  Project p = load_ok(
      "services:\n"
      "  web:\n"
      "    image: alpine\n"
      "    command: sh -c 'sleep 1 && echo \"done\"'\n"
      "  empty:\n"
      "    image: alpine\n"
      "    command: []\n"
      "  unset:\n"
      "    image: alpine\n"
      "    command: null\n"
      "  dollar:\n"
      "    image: alpine\n"
      "    command: [sh, -c, 'echo $$HOME']\n");
  REQUIRE(p.find_service("web")->command == std::vector<std::string>{"sh", "-c", "sleep 1 && echo \"done\""});
  // A literal "$" must be written back escaped, or the reload would interpolate it.
  REQUIRE(p.find_service("dollar")->command == std::vector<std::string>{"sh", "-c", "echo $HOME"});
  check_round_trip(p);
}
