// environment.
#include "compose_test_util.h"

using namespace stack::compose;
using namespace stack::compose::testing;

TEST_CASE("environment: list and mapping forms, a bare key is null", "[compose][environment]") {
  Project p = load_ok(
      "services:\n"
      "  web:\n"
      "    image: nginx\n"
      "    environment:\n"
      "      - MODE=prod\n"
      "      - EQ=a=b\n"
      "      - EMPTY=\n"
      "      - UNSET_IN_STACK_TEST\n"
      "  db:\n"
      "    image: postgres\n"
      "    environment:\n"
      "      PORT: 5432\n"
      "      DEBUG: false\n"
      "      BLANK: \"\"\n"
      "      NOTHING:\n");
  const Service& web = *p.find_service("web");
  CHECK(web.environment.at("UNSET_IN_STACK_TEST") == std::nullopt);
  CHECK(service_to_json(web).at("environment").dump() ==
        R"({"EMPTY":"","EQ":"a=b","MODE":"prod","UNSET_IN_STACK_TEST":null})");
  CHECK(service_to_json(*p.find_service("db")).at("environment").dump() ==
        R"({"BLANK":"","DEBUG":"false","NOTHING":null,"PORT":"5432"})");
  check_round_trip(p);
}

TEST_CASE("environment: a bare key takes its value from the environment", "[compose][environment]") {
  Env env = {{"API_KEY", "s3cr$t"}, {"EMPTY_IN_ENV", ""}};
  Project p = load_ok(
      "services:\n"
      "  web:\n"
      "    image: nginx\n"
      "    environment: [API_KEY, EMPTY_IN_ENV, NOT_IN_ENV, SET=x]\n",
      env);
  CHECK(service_to_json(*p.find_service("web")).at("environment").dump() ==
        R"({"API_KEY":"s3cr$t","EMPTY_IN_ENV":"","NOT_IN_ENV":null,"SET":"x"})");
  check_round_trip(p, env);
}

TEST_CASE("environment: invalid values are all reported", "[compose][environment]") {
  std::string err = load_error(
      "services:\n"
      "  web:\n"
      "    image: nginx\n"
      "    environment: MODE=prod\n"
      "  db:\n"
      "    image: postgres\n"
      "    environment:\n"
      "      A: {x: 1}\n"
      "      B: [1]\n"
      "  cache:\n"
      "    image: redis\n"
      "    environment:\n"
      "      - [A=1]\n");
  CHECK(err ==
        "compose.yaml:4:18: services.web.environment: must be a mapping or a list of \"KEY=VALUE\" strings, not a "
        "string\n"
        "compose.yaml:8:10: services.db.environment.A: must be a string, number, boolean or null, not a mapping\n"
        "compose.yaml:9:10: services.db.environment.B: must be a string, number, boolean or null, not a sequence\n"
        "compose.yaml:13:9: services.cache.environment[0]: must be a string \"KEY=VALUE\", not a sequence");
}
