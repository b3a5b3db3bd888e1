// Top-level volumes.
#include <vector>

#include "compose_test_util.h"

using namespace stack::compose;
using namespace stack::compose::testing;

namespace {

const char* kServices = "services:\n  web:\n    image: nginx\n";

// Compose drops volumes no service mounts, so `web` mounts each volume a test checks.
std::string web_mounting(const std::vector<std::string>& volumes) {
  std::string yaml = "services:\n  web:\n    image: nginx\n    volumes:\n";
  for (const auto& v : volumes) yaml += "      - " + v + ":/mnt/" + v + "\n";
  return yaml;
}

Json volumes_of(const Project& p) {
  Json all = project_to_json(p);
  INFO(all.dump(2));
  REQUIRE(all.contains("volumes"));
  return all["volumes"];
}

}  // namespace

TEST_CASE("top_volumes: attributes and names in canonical form", "[compose][top_volumes]") {
  Project p = load_ok(web_mounting({"data", "cache", "outside", "legacy", "named"}) +
                      "volumes:\n"
                      "  data:\n"
                      "    driver: local\n"
                      "    driver_opts:\n"
                      "      type: nfs\n"
                      "      o: \"addr=10.0.0.1,rw\"\n"
                      "      size: 10\n"
                      "    labels:\n"
                      "      com.example.backup: \"yes\"\n"
                      "    x-owner: ops\n"
                      "  cache:\n"
                      "  outside:\n"
                      "    external: true\n"
                      "  legacy:\n"
                      "    external:\n"
                      "      name: old-vol\n"
                      "  named:\n"
                      "    name: \"custom-${PROJECT_SUFFIX}\"\n",
                      {{"PROJECT_SUFFIX", "v2"}});
  CHECK(volumes_of(p).dump() ==
        R"({"cache":{"name":"project_cache"},)"
        R"("data":{"name":"project_data","driver":"local","driver_opts":{"o":"addr=10.0.0.1,rw","size":"10","type":"nfs"},)"
        R"("labels":{"com.example.backup":"yes"},"x-owner":"ops"},)"
        R"("legacy":{"name":"old-vol","external":true},)"
        R"("named":{"name":"custom-v2"},)"
        R"("outside":{"name":"outside","external":true}})");
  check_round_trip(p);
}

TEST_CASE("top_volumes: a bind device is made absolute against the project directory", "[compose][top_volumes]") {
  Project p = load_ok(web_mounting({"src", "nfs"}) +
                      "volumes:\n"
                      "  src:\n"
                      "    driver: local\n"
                      "    driver_opts:\n"
                      "      type: none\n"
                      "      o: bind\n"
                      "      device: ./src/../data\n"
                      "  nfs:\n"
                      "    driver_opts:\n"
                      "      o: addr=10.0.0.1\n"
                      "      device: \":/export\"\n");
  CHECK(p.volumes.at("src").driver_opts.at("device") == "/project/data");
  CHECK(p.volumes.at("nfs").driver_opts.at("device") == ":/export");
  check_round_trip(p);
}

TEST_CASE("top_volumes: derived names use the -p project name", "[compose][top_volumes]") {
  LoadOptions o;
  o.project_name = "shop";
  Project p = load_ok(web_mounting({"data"}) + "volumes:\n  data:\n", {}, {}, o);
  CHECK(p.volumes.at("data").name == "shop_data");
  CHECK(p.volumes.at("data").key == "data");
}

TEST_CASE("top_volumes: invalid definitions are all reported", "[compose][top_volumes]") {
  std::string err = load_error(std::string(kServices) +
                               "volumes:\n"
                               "  ext:\n"
                               "    external: true\n"
                               "    labels: [a=b]\n"
                               "    name: fine\n"
                               "    x-fine: 1\n"
                               "  bad:\n"
                               "    driver: [local]\n"
                               "    driver_opts:\n"
                               "      o: [bind]\n"
                               "    external: sometimes\n"
                               "    size: 10G\n"
                               "  both:\n"
                               "    name: a\n"
                               "    external: {name: b}\n"
                               "  list: [a]\n");
  CHECK(err ==
        "compose.yaml:7:5: volumes.ext: conflicting parameters \"external\" and \"labels\" specified\n"
        "compose.yaml:15:5: volumes.bad: unknown key \"size\"\n"
        "compose.yaml:14:15: volumes.bad.external: must be a boolean, not \"sometimes\"\n"
        "compose.yaml:11:13: volumes.bad.driver: must be a string, not a sequence\n"
        "compose.yaml:13:10: volumes.bad.driver_opts.o: must be a string or number, not a sequence\n"
        "compose.yaml:18:22: volumes.both.external.name: conflicts with volumes.both.name; use only name\n"
        "compose.yaml:19:9: volumes.list: must be a mapping, not a sequence");
}
