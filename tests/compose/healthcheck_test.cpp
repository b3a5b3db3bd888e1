#include "compose_test_util.h"

using namespace stack::compose;
using namespace stack::compose::testing;

TEST_CASE("healthcheck: string test and durations", "[compose][healthcheck]") {
  Json j = service_json(
      "services:\n"
      "  web:\n"
      "    healthcheck:\n"
      "      test: curl -f http://localhost\n"
      "      interval: 1m30s\n"
      "      timeout: 10s\n"
      "      retries: 3\n"
      "      start_period: 40s\n"
      "      start_interval: 500ms\n"
      "      x-note: n\n"
      "    image: nginx\n",
      "web");
  CHECK(j.at("healthcheck").dump() ==
        R"({"test":["CMD-SHELL","curl -f http://localhost"],"timeout":"10s","interval":"1m30s","retries":3,)"
        R"("start_period":"40s","start_interval":"500ms","x-note":"n"})");
}

TEST_CASE("healthcheck: list test, NONE and disable", "[compose][healthcheck]") {
  Json j = service_json(
      "services:\n"
      "  web:\n"
      "    healthcheck:\n"
      "      test: [\"CMD\", \"pg_isready\", \"-U\", \"app\"]\n"
      "      interval: 90\n"
      "    image: nginx\n"
      "  off:\n"
      "    healthcheck:\n"
      "      disable: true\n"
      "    image: x\n"
      "  none:\n"
      "    healthcheck:\n"
      "      test: [NONE]\n"
      "    image: x\n",
      "web");
  CHECK(j.at("healthcheck").dump() == R"({"test":["CMD","pg_isready","-U","app"],"interval":"1m30s"})");
  Project p = load_ok("services:\n  off:\n    image: x\n    healthcheck:\n      disable: true\n  none:\n    image: x\n"
                      "    healthcheck:\n      test: [NONE]\n");
  CHECK(service_to_json(*p.find_service("off")).at("healthcheck").dump() == R"({"disable":true})");
  CHECK(service_to_json(*p.find_service("none")).at("healthcheck").dump() == R"({"test":["NONE"]})");
}

TEST_CASE("healthcheck: invalid values are all reported", "[compose][healthcheck]") {
  std::string err = load_error(
      "services:\n"
      "  web:\n"
      "    healthcheck:\n"
      "      test: [curl, x]\n"
      "      interval: soon\n"
      "      retries: -1\n"
      "      disable: sometimes\n"
      "      start: 1s\n"
      "    image: nginx\n");
  CHECK(err ==
        "compose.yaml:8:7: services.web.healthcheck: unknown key \"start\"\n"
        "compose.yaml:4:13: services.web.healthcheck.test: must start with \"NONE\", \"CMD\" or \"CMD-SHELL\"\n"
        "compose.yaml:5:17: services.web.healthcheck.interval: invalid duration \"soon\" (expected e.g. \"10s\", "
        "\"1m30s\", \"500ms\")\n"
        "compose.yaml:6:16: services.web.healthcheck.retries: must be between 0 and 9223372036854775807, not -1\n"
        "compose.yaml:7:16: services.web.healthcheck.disable: must be a boolean, not \"sometimes\"");
}

TEST_CASE("healthcheck: round trip through the canonical JSON", "[compose][healthcheck]") {
  Project p = load_ok(
      "services:\n"
      "  web:\n"
      "    healthcheck:\n"
      "      test: exit 0\n"
      "      interval: 1h2m3.5s\n"
      "      timeout: 250us\n"
      "      retries: 0\n"
      "      start_period: 0s\n"
      "    image: nginx\n");
  const auto& h = *p.services[0].healthcheck;
  CHECK(h.interval->ns == 3723500000000LL);
  CHECK(h.retries == 0u);
  check_round_trip(p);
}
