// labels, annotations, sysctls, storage_opt.
#include "compose_test_util.h"

using namespace stack::compose;
using namespace stack::compose::testing;

TEST_CASE("labels: list and mapping forms give the same sorted mapping", "[compose][labels]") {
  Project p = load_ok(
      "services:\n"
      "  web:\n"
      "    image: nginx\n"
      "    labels:\n"
      "      com.example.tier: frontend\n"
      "      com.example.empty:\n"
      "      com.example.port: 8080\n"
      "      com.example.on: true\n"
      "    annotations:\n"
      "      - com.example.b=2\n"
      "      - com.example.a=x=y\n"
      "      - com.example.flag\n"
      "    sysctls:\n"
      "      - net.ipv4.ip_forward=1\n"
      "    storage_opt:\n"
      "      size: 20G\n"
      "  db:\n"
      "    image: postgres\n"
      "    sysctls:\n"
      "      net.core.somaxconn: 1024\n"
      "      kernel.msgmax: \"65536\"\n");
  CHECK(service_to_json(*p.find_service("web")).dump() ==
        R"({"annotations":{"com.example.a":"x=y","com.example.b":"2","com.example.flag":""},"image":"nginx",)"
        R"("labels":{"com.example.empty":"","com.example.on":"true","com.example.port":"8080",)"
        R"("com.example.tier":"frontend"},"networks":{"default":null},)"
        R"("storage_opt":{"size":"20G"},"sysctls":{"net.ipv4.ip_forward":"1"}})");
  CHECK(service_to_json(*p.find_service("db")).dump() ==
        R"({"image":"postgres","networks":{"default":null},)"
        R"("sysctls":{"kernel.msgmax":"65536","net.core.somaxconn":"1024"}})");
  check_round_trip(p);
}

TEST_CASE("labels: invalid values are all reported", "[compose][labels]") {
  std::string err = load_error(
      "services:\n"
      "  web:\n"
      "    image: nginx\n"
      "    labels: tier=frontend\n"
      "    annotations:\n"
      "      a: [1]\n"
      "    sysctls:\n"
      "      - {net.core.somaxconn: 1024}\n"
      "    storage_opt: [size=20G]\n");
  CHECK(err ==
        "compose.yaml:4:13: services.web.labels: must be a mapping or a list of \"KEY=VALUE\" strings, not a string\n"
        "compose.yaml:6:10: services.web.annotations.a: must be a string, number, boolean or null, not a sequence\n"
        "compose.yaml:8:9: services.web.sysctls[0]: must be a string \"KEY=VALUE\", not a mapping\n"
        "compose.yaml:9:18: services.web.storage_opt: must be a mapping, not a sequence");
}
