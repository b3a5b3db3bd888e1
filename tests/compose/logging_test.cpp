#include "compose_test_util.h"

using namespace stack::compose;
using namespace stack::compose::testing;

TEST_CASE("logging: driver and options as text", "[compose][logging]") {
  Json j = service_json(
      "services:\n"
      "  web:\n"
      "    logging:\n"
      "      driver: json-file\n"
      "      options:\n"
      "        max-size: 10m\n"
      "        max-file: 3\n"
      "        tag:\n"
      "      x-k: v\n"
      "    image: nginx\n",
      "web");
  CHECK(j.at("logging").dump() ==
        R"({"driver":"json-file","options":{"max-file":"3","max-size":"10m","tag":""},"x-k":"v"})");
}

TEST_CASE("logging: options only", "[compose][logging]") {
  Json j = service_json("services:\n  web:\n    image: nginx\n    logging:\n      options: {syslog-address: \"udp://1.2.3.4:514\"}\n",
                        "web");
  CHECK(j.at("logging").dump() == R"({"options":{"syslog-address":"udp://1.2.3.4:514"}})");
}

TEST_CASE("logging: invalid values are all reported", "[compose][logging]") {
  std::string err = load_error(
      "services:\n"
      "  web:\n"
      "    logging:\n"
      "      driver: 5\n"
      "      options:\n"
      "        a: [1]\n"
      "        b: true\n"
      "      opts: {}\n"
      "    image: nginx\n");
  CHECK(err ==
        "compose.yaml:8:7: services.web.logging: unknown key \"opts\"\n"
        "compose.yaml:4:15: services.web.logging.driver: must be a string, not a number\n"
        "compose.yaml:6:12: services.web.logging.options.a: must be a string, number or null, not a sequence\n"
        "compose.yaml:7:12: services.web.logging.options.b: must be a string, number or null, not a boolean");
  CHECK(load_error("services:\n  web:\n    logging: syslog\n    image: nginx\n") ==
        "compose.yaml:3:14: services.web.logging: must be a mapping, not a string");
}

TEST_CASE("logging: round trip through the canonical JSON", "[compose][logging]") {
  Project p = load_ok("services:\n  web:\n    image: nginx\n    logging:\n      driver: local\n      options: {n: 1, e: null}\n");
  CHECK(p.services[0].logging->options.at("e") == "");
  check_round_trip(p);
}
