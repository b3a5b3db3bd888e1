// restart, stop_signal, stop_grace_period and scale: how a service's containers start, stop and
// how many there are.
#include "compose_test_util.h"

using namespace stack::compose;
using namespace stack::compose::testing;

TEST_CASE("restart: policies, stop signal, grace period and scale in canonical form", "[compose][restart]") {
  Project p = load_ok(
      "services:\n"
      "  web:\n"
      "    image: nginx\n"
      "    restart: on-failure:5\n"
      "    stop_signal: SIGQUIT\n"
      "    stop_grace_period: 90s\n"
      "    scale: 3\n"
      "  db:\n"
      "    image: postgres\n"
      "    restart: no\n"
      "    stop_grace_period: 1h0m0.5s\n"
      "    scale: 0\n");
  CHECK(service_to_json(*p.find_service("web")).dump() ==
        R"({"image":"nginx","networks":{"default":null},"restart":"on-failure:5","scale":3,)"
        R"("stop_grace_period":"1m30s","stop_signal":"SIGQUIT"})");
  CHECK(service_to_json(*p.find_service("db")).dump() ==
        R"({"image":"postgres","networks":{"default":null},"restart":"no","scale":0,)"
        R"("stop_grace_period":"1h0m0.5s"})");
  check_round_trip(p);
}

TEST_CASE("restart: the four policies are accepted", "[compose][restart]") {
  for (const char* policy : {"no", "always", "on-failure", "unless-stopped"}) {
    INFO(policy);
    Project p = load_ok(std::string("services:\n  web:\n    image: nginx\n    restart: ") + policy + "\n");
    CHECK(p.find_service("web")->restart == policy);
  }
}

TEST_CASE("restart: a grace period written as a number is seconds", "[compose][restart]") {
  Json j = service_json("services:\n  web:\n    image: nginx\n    stop_grace_period: 20\n", "web");
  CHECK(j.at("stop_grace_period") == "20s");
}

TEST_CASE("restart: invalid values are all reported", "[compose][restart]") {
  std::string err = load_error(
      "services:\n"
      "  web:\n"
      "    image: nginx\n"
      "    restart: sometimes\n"
      "    stop_grace_period: soon\n"
      "    scale: -1\n"
      "  db:\n"
      "    image: postgres\n"
      "    restart: on-failure:x\n"
      "    stop_signal: 9\n"
      "    scale: two\n");
  CHECK(err ==
        "compose.yaml:4:14: services.web.restart: invalid restart policy \"sometimes\" (expected no, always, "
        "on-failure[:max-retries] or unless-stopped)\n"
        "compose.yaml:5:24: services.web.stop_grace_period: invalid duration \"soon\" (expected e.g. \"10s\", "
        "\"1m30s\", \"500ms\")\n"
        "compose.yaml:6:12: services.web.scale: must be at least 0, not -1\n"
        "compose.yaml:9:14: services.db.restart: invalid restart policy \"on-failure:x\" (expected no, always, "
        "on-failure[:max-retries] or unless-stopped)\n"
        "compose.yaml:10:18: services.db.stop_signal: must be a string, not a number\n"
        "compose.yaml:11:12: services.db.scale: must be an integer, not \"two\"");
}
