// expose.
#include "compose_test_util.h"

using namespace stack::compose;
using namespace stack::compose::testing;

TEST_CASE("expose: numbers and strings become strings, ranges and protocols kept", "[compose][expose]") {
  Project p = load_ok(
      "services:\n"
      "  web:\n"
      "    image: nginx\n"
      "    expose: [80, \"443\", 3000-3005, 53/udp, \"9000-9001/sctp\"]\n");
  CHECK(service_to_json(*p.find_service("web")).at("expose").dump() ==
        R"(["80","443","3000-3005","53/udp","9000-9001/sctp"])");
  check_round_trip(p);
}

TEST_CASE("expose: invalid ports are all reported", "[compose][expose]") {
  std::string err = load_error(
      "services:\n"
      "  web:\n"
      "    image: nginx\n"
      "    expose:\n"
      "      - 0\n"
      "      - 70000\n"
      "      - 3005-3000\n"
      "      - 80/icmp\n"
      "      - http\n"
      "      - 80-\n");
  const std::string hint = " (expected PORT or PORT-PORT, optionally with /tcp, /udp or /sctp)";
  CHECK(err == "compose.yaml:5:9: services.web.expose[0]: invalid exposed port \"0\"" + hint + "\n" +
                   "compose.yaml:6:9: services.web.expose[1]: invalid exposed port \"70000\"" + hint + "\n" +
                   "compose.yaml:7:9: services.web.expose[2]: invalid exposed port \"3005-3000\"" + hint + "\n" +
                   "compose.yaml:8:9: services.web.expose[3]: invalid exposed port \"80/icmp\"" + hint + "\n" +
                   "compose.yaml:9:9: services.web.expose[4]: invalid exposed port \"http\"" + hint + "\n" +
                   "compose.yaml:10:9: services.web.expose[5]: invalid exposed port \"80-\"" + hint);
}
