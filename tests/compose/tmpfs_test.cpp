// tmpfs.
#include "compose_test_util.h"

using namespace stack::compose;
using namespace stack::compose::testing;

TEST_CASE("tmpfs: a string or a list of mount specs", "[compose][tmpfs]") {
  Project p = load_ok(
      "services:\n"
      "  web:\n"
      "    image: nginx\n"
      "    tmpfs: /run\n"
      "  db:\n"
      "    image: postgres\n"
      "    tmpfs:\n"
      "      - /tmp:size=64m,mode=1777\n"
      "      - /var/cache\n");
  CHECK(service_to_json(*p.find_service("web")).at("tmpfs").dump() == R"(["/run"])");
  CHECK(service_to_json(*p.find_service("db")).at("tmpfs").dump() == R"(["/tmp:size=64m,mode=1777","/var/cache"])");
  check_round_trip(p);
}

TEST_CASE("tmpfs: invalid values are all reported", "[compose][tmpfs]") {
  std::string err = load_error(
      "services:\n"
      "  web:\n"
      "    image: nginx\n"
      "    tmpfs: {path: /run}\n"
      "  db:\n"
      "    image: postgres\n"
      "    tmpfs: [/run, 5, /run]\n");
  CHECK(err ==
        "compose.yaml:4:12: services.web.tmpfs: must be a string or list of strings, not a mapping\n"
        "compose.yaml:7:19: services.db.tmpfs[1]: must be a string, not a number");
}
