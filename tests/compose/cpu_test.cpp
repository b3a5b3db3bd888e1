// cpus, cpu_count, cpu_percent, cpu_shares, cpu_period, cpu_quota, cpu_rt_period,
// cpu_rt_runtime, cpuset.
#include "compose_test_util.h"

using namespace stack::compose;
using namespace stack::compose::testing;

TEST_CASE("cpu: CPU tuning attributes in canonical form", "[compose][cpu]") {
  Project p = load_ok(
      "services:\n"
      "  web:\n"
      "    image: nginx\n"
      "    cpus: 1.5\n"
      "    cpu_count: 2\n"
      "    cpu_percent: 50\n"
      "    cpu_shares: 512\n"
      "    cpu_period: 100000\n"
      "    cpu_quota: \"50000\"\n"
      "    cpu_rt_period: 1000000\n"
      "    cpu_rt_runtime: 950000\n"
      "    cpuset: 0-3,5\n");
  CHECK(service_to_json(*p.find_service("web")).dump() ==
        R"({"cpu_count":2,"cpu_percent":50,"cpu_period":100000,"cpu_quota":50000,"cpu_rt_period":1000000,)"
        R"("cpu_rt_runtime":950000,"cpu_shares":512,"cpus":1.5,"cpuset":"0-3,5","image":"nginx",)"
        R"("networks":{"default":null}})");
  check_round_trip(p);
}

TEST_CASE("cpu: realtime period and runtime accept durations, stored as microseconds", "[compose][cpu]") {
  Project p = load_ok(
      "services:\n"
      "  web:\n"
      "    image: nginx\n"
      "    cpu_rt_period: 1s\n"
      "    cpu_rt_runtime: 400ms\n"
      "    cpus: \"0.25\"\n");
  const Service& s = *p.find_service("web");
  CHECK(s.cpu_rt_period == 1000000);
  CHECK(s.cpu_rt_runtime == 400000);
  CHECK(s.cpus == 0.25);
  CHECK(service_to_json(s).dump() ==
        R"({"cpu_rt_period":1000000,"cpu_rt_runtime":400000,"cpus":0.25,"image":"nginx",)"
        R"("networks":{"default":null}})");
  check_round_trip(p);
}

TEST_CASE("cpu: whole CPU counts print without a fraction", "[compose][cpu]") {
  Json j = service_json("services:\n  web:\n    image: nginx\n    cpus: 2.0\n    cpu_percent: 12.5\n", "web");
  CHECK(j.at("cpus").dump() == "2");
  CHECK(j.at("cpu_percent").dump() == "12.5");
}

TEST_CASE("cpu: invalid values are all reported", "[compose][cpu]") {
  std::string err = load_error(
      "services:\n"
      "  web:\n"
      "    image: nginx\n"
      "    cpus: -1\n"
      "    cpu_count: -2\n"
      "    cpu_percent: 150\n"
      "    cpu_shares: lots\n"
      "    cpu_rt_runtime: soon\n"
      "    cpuset: 3\n");
  CHECK(err ==
        "compose.yaml:4:11: services.web.cpus: invalid CPU quantity \"-1\"\n"
        "compose.yaml:5:16: services.web.cpu_count: must be at least 0, not -2\n"
        "compose.yaml:6:18: services.web.cpu_percent: must be between 0 and 100, not 150\n"
        "compose.yaml:7:17: services.web.cpu_shares: must be an integer, not \"lots\"\n"
        "compose.yaml:8:21: services.web.cpu_rt_runtime: must be a number of microseconds or a duration (e.g. "
        "\"400ms\"), not \"soon\"\n"
        "compose.yaml:9:13: services.web.cpuset: must be a string, not a number");
}
