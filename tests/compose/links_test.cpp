// links, external_links, volumes_from, volume_driver.
#include "compose_test_util.h"

using namespace stack::compose;
using namespace stack::compose::testing;

TEST_CASE("links: links and volumes_from keep their order", "[compose][links]") {
  Project p = load_ok(
      "services:\n"
      "  web:\n"
      "    image: nginx\n"
      "    links: [db, \"cache:redis\"]\n"
      "    external_links: [\"legacy_db_1:db2\"]\n"
      "    volumes_from: [\"db:ro\", \"container:data\"]\n"
      "    volume_driver: local\n"
      "  db:\n"
      "    image: postgres\n"
      "  cache:\n"
      "    image: redis\n");
  CHECK(service_to_json(*p.find_service("web")).dump() ==
        R"({"external_links":["legacy_db_1:db2"],"image":"nginx","links":["db","cache:redis"],)"
        R"("networks":{"default":null},)"
        R"("volume_driver":"local","volumes_from":["db:ro","container:data"]})");
  check_round_trip(p);
}

TEST_CASE("links: invalid values are all reported", "[compose][links]") {
  std::string err = load_error(
      "services:\n"
      "  web:\n"
      "    image: nginx\n"
      "    links: db\n"
      "    external_links: [x, x]\n"
      "    volumes_from: [[db]]\n"
      "    volume_driver: [local]\n");
  CHECK(err ==
        "compose.yaml:4:12: services.web.links: must be a list of strings, not a string\n"
        "compose.yaml:5:25: services.web.external_links[1]: duplicate item \"x\"\n"
        "compose.yaml:6:20: services.web.volumes_from[0]: must be a string, not a sequence\n"
        "compose.yaml:7:20: services.web.volume_driver: must be a string, not a sequence");
}
