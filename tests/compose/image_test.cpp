// image, platform, pull_policy, pull_refresh_after.
#include "compose_test_util.h"

using namespace stack::compose;
using namespace stack::compose::testing;

TEST_CASE("image: image, platform and pull settings are kept as written", "[compose][image]") {
  Project p = load_ok(
      "services:\n"
      "  web:\n"
      "    image: registry.local:5000/app:1.2@sha256:0123\n"
      "    platform: linux/arm64/v8\n"
      "    pull_policy: every_12h30m\n"
      "    pull_refresh_after: 2h\n");
  CHECK(service_to_json(*p.find_service("web")).dump() ==
        R"({"image":"registry.local:5000/app:1.2@sha256:0123","networks":{"default":null},)"
        R"("platform":"linux/arm64/v8",)"
        R"("pull_policy":"every_12h30m","pull_refresh_after":"2h"})");
  check_round_trip(p);
}

TEST_CASE("image: pull_policy if_not_present is normalised to missing", "[compose][image]") {
  Json j = service_json("services:\n  web:\n    image: nginx\n    pull_policy: if_not_present\n", "web");
  CHECK(j.at("pull_policy") == "missing");
}

TEST_CASE("image: every pull policy Compose knows is accepted", "[compose][image]") {
  for (const char* policy : {"always", "never", "missing", "build", "refresh", "daily", "weekly", "every_2w",
                             "every_1d12h", "every_90s"}) {
    INFO(policy);
    Project p = load_ok(std::string("services:\n  web:\n    image: nginx\n    pull_policy: ") + policy + "\n");
    CHECK(p.find_service("web")->pull_policy == policy);
    check_round_trip(p);
  }
}

TEST_CASE("image: invalid values are reported with their positions", "[compose][image]") {
  std::string err = load_error(
      "services:\n"
      "  web:\n"
      "    image: [nginx]\n"
      "    platform: 64\n"
      "    pull_policy: sometimes\n"
      "  db:\n"
      "    image: postgres\n"
      "    pull_policy: every_12x\n"
      "    pull_refresh_after: true\n");
  CHECK(err ==
        "compose.yaml:3:12: services.web.image: must be a string, not a sequence\n"
        "compose.yaml:4:15: services.web.platform: must be a string, not a number\n"
        "compose.yaml:5:18: services.web.pull_policy: invalid pull policy \"sometimes\" (expected always, never, "
        "missing, build, refresh, daily, weekly or every_<duration>)\n"
        "compose.yaml:8:18: services.db.pull_policy: invalid pull policy \"every_12x\" (expected always, never, "
        "missing, build, refresh, daily, weekly or every_<duration>)\n"
        "compose.yaml:9:25: services.db.pull_refresh_after: must be a string, not a boolean");
}
