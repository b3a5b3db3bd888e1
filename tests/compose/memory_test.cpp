// mem_limit, mem_reservation, memswap_limit, mem_swappiness, shm_size, pids_limit.
#include "compose_test_util.h"

using namespace stack::compose;
using namespace stack::compose::testing;

TEST_CASE("memory: sizes become bytes, printed as compose-go prints them", "[compose][memory]") {
  Project p = load_ok(
      "services:\n"
      "  web:\n"
      "    image: nginx\n"
      "    mem_limit: 1g\n"
      "    mem_reservation: 512m\n"
      "    memswap_limit: 2GB\n"
      "    shm_size: 65536\n"
      "    mem_swappiness: 0\n"
      "    pids_limit: 100\n"
      "  db:\n"
      "    image: postgres\n"
      "    memswap_limit: -1\n"
      "    pids_limit: -1\n"
      "    shm_size: 1.5k\n");
  const Service& web = *p.find_service("web");
  CHECK(web.mem_limit == 1073741824);
  CHECK(web.mem_reservation == 536870912);
  CHECK(web.memswap_limit == 2147483648);
  CHECK(web.shm_size == 65536);
  CHECK(service_to_json(web).dump() ==
        R"({"image":"nginx","mem_limit":"1073741824","mem_reservation":"536870912","mem_swappiness":0,)"
        R"("memswap_limit":"2147483648","networks":{"default":null},"pids_limit":100,"shm_size":"65536"})");
  CHECK(service_to_json(*p.find_service("db")).dump() ==
        R"({"image":"postgres","memswap_limit":"-1","networks":{"default":null},"pids_limit":-1,"shm_size":"1536"})");
  check_round_trip(p);
}

TEST_CASE("memory: invalid values are all reported", "[compose][memory]") {
  std::string err = load_error(
      "services:\n"
      "  web:\n"
      "    image: nginx\n"
      "    mem_limit: 1 zettabyte\n"
      "    mem_reservation: -5\n"
      "    memswap_limit: -2\n"
      "    mem_swappiness: 101\n"
      "    shm_size: [64m]\n"
      "    pids_limit: many\n");
  CHECK(err ==
        "compose.yaml:4:16: services.web.mem_limit: invalid size \"1 zettabyte\" (expected bytes or a number with a "
        "unit: b, k, m, g)\n"
        "compose.yaml:5:22: services.web.mem_reservation: invalid size \"-5\" (expected bytes or a number with a "
        "unit: b, k, m, g)\n"
        "compose.yaml:6:20: services.web.memswap_limit: invalid size \"-2\" (expected bytes or a number with a "
        "unit: b, k, m, g)\n"
        "compose.yaml:7:21: services.web.mem_swappiness: must be between 0 and 100, not 101\n"
        "compose.yaml:8:15: services.web.shm_size: invalid size (a sequence) (expected bytes or a number with a "
        "unit: b, k, m, g)\n"
        "compose.yaml:9:17: services.web.pids_limit: must be an integer, not \"many\"");
}
