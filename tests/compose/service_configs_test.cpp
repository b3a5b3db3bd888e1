#include "compose_test_util.h"

using namespace stack::compose;
using namespace stack::compose::testing;

namespace {

const std::string kTop =
    "configs:\n"
    "  db_pass:\n"
    "    file: ./db_pass.txt\n"
    "  api_key:\n"
    "    environment: API_KEY\n";

}  // namespace

TEST_CASE("service configs: short and long syntax", "[compose][service_configs]") {
  Json j = service_json(
      "services:\n"
      "  web:\n"
      "    image: nginx\n"
      "    configs:\n"
      "      - db_pass\n"
      "      - source: api_key\n"
      "        target: /etc/key\n"
      "        uid: \"103\"\n"
      "        gid: 104\n"
      "        mode: 0440\n"
      "        x-why: api\n" +
          kTop,
      "web");
  CHECK(j.at("configs").dump() ==
        R"([{"source":"db_pass"},)"
        R"({"source":"api_key","target":"/etc/key","uid":"103","gid":"104","mode":"0440","x-why":"api"}])");
}

TEST_CASE("service configs: mode as octal string, 0o literal or decimal number", "[compose][service_configs]") {
  Project p = load_ok(
      "services:\n"
      "  web:\n"
      "    image: nginx\n"
      "    configs:\n"
      "      - {source: db_pass, target: a, mode: \"0600\"}\n"
      "      - {source: db_pass, target: b, mode: \"755\"}\n"
      "      - {source: db_pass, target: c, mode: 0o400}\n"
      "      - {source: db_pass, target: d, mode: 292}\n" +
      kTop);
  const auto& s = p.services[0].configs;
  REQUIRE(s.size() == 4);
  CHECK(*s[0].mode == 0600);
  CHECK(*s[1].mode == 0755);
  CHECK(*s[2].mode == 0400);
  CHECK(*s[3].mode == 0444);
  CHECK(service_to_json(p.services[0]).at("configs")[3].at("mode") == "0444");
}

TEST_CASE("service configs: invalid entries are all reported", "[compose][service_configs]") {
  std::string err = load_error(
      "services:\n"
      "  web:\n"
      "    configs:\n"
      "      - target: /x\n"
      "      - source: api_key\n"
      "        mode: \"0999\"\n"
      "      - source: db_pass\n"
      "        owner: me\n"
      "      - 12\n"
      "    image: nginx\n" +
      kTop);
  CHECK(err ==
        "compose.yaml:4:9: services.web.configs[0]: missing required key \"source\"\n"
        "compose.yaml:6:15: services.web.configs[1].mode: invalid file mode \"0999\" (expected an octal number such "
        "as 0440)\n"
        "compose.yaml:8:9: services.web.configs[2]: unknown key \"owner\"\n"
        "compose.yaml:9:9: services.web.configs[3]: must be a string, not a number");
  CHECK(load_error("services:\n  web:\n    configs: db_pass\n    image: nginx\n" + kTop) ==
        "compose.yaml:3:14: services.web.configs: must be a list, not a string");
}

TEST_CASE("service configs: round trip through the canonical JSON", "[compose][service_configs]") {
  Project p = load_ok(
      "services:\n"
      "  web:\n"
      "    image: nginx\n"
      "    configs:\n"
      "      - api_key\n"
      "      - {source: db_pass, target: /run/p, uid: \"1\", gid: \"2\", mode: 0400}\n" +
      kTop);
  CHECK(*p.services[0].configs[1].mode == 0400);
  check_round_trip(p);
}
