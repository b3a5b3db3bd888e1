// profiles.
#include "compose_test_util.h"

using namespace stack::compose;
using namespace stack::compose::testing;

TEST_CASE("profiles: names are kept in order", "[compose][profiles]") {
  LoadOptions debug;
  debug.profiles = {"debug"};
  Project p = load_ok(
      "services:\n"
      "  web:\n"
      "    image: nginx\n"
      "    profiles: [debug, ci.nightly, Dev_2]\n",
      {}, {}, debug);
  const Service* web = p.find_service("web");
  REQUIRE(web != nullptr);
  CHECK(service_to_json(*web).at("profiles").dump() == R"(["debug","ci.nightly","Dev_2"])");
  check_round_trip(p, {}, debug);
}

TEST_CASE("profiles: invalid names and duplicates are all reported", "[compose][profiles]") {
  std::string err = load_error(
      "services:\n"
      "  web:\n"
      "    image: nginx\n"
      "    profiles: [-debug, \"a b\", x, ok]\n"
      "  db:\n"
      "    image: postgres\n"
      "    profiles: debug\n");
  CHECK(err ==
        "compose.yaml:4:16: services.web.profiles[0]: invalid profile name \"-debug\" (must match "
        "[a-zA-Z0-9][a-zA-Z0-9_.-]+)\n"
        "compose.yaml:4:24: services.web.profiles[1]: invalid profile name \"a b\" (must match "
        "[a-zA-Z0-9][a-zA-Z0-9_.-]+)\n"
        "compose.yaml:4:31: services.web.profiles[2]: invalid profile name \"x\" (must match "
        "[a-zA-Z0-9][a-zA-Z0-9_.-]+)\n"
        "compose.yaml:7:15: services.db.profiles: must be a list of strings, not a string");
}
