#include "compose_test_util.h"

using namespace stack::compose;
using namespace stack::compose::testing;

namespace {

const Env kEnv = {{"HOME", "/home/ann"}};

Json volumes_of(const std::string& list) {
  return service_json("services:\n  web:\n    image: nginx\n    volumes:\n" + list + "volumes:\n  db: {}\n  data: {}\n  v: {}\n", "web", kEnv).at("volumes");
}

}  // namespace

TEST_CASE("volumes: short syntax binds, named and anonymous volumes", "[compose][volumes]") {
  Json v = volumes_of(
      "      - ./data:/data\n"
      "      - ~/cache:/cache:ro\n"
      "      - /etc/app/../conf:/conf:ro,Z,rshared,cached\n"
      "      - db:/var/lib/db:nocopy\n"
      "      - /scratch\n");
  CHECK(v.dump() ==
        R"([{"type":"bind","source":"/project/data","target":"/data","bind":{"create_host_path":true}},)"
        R"({"type":"bind","source":"/home/ann/cache","target":"/cache","read_only":true,"bind":{"create_host_path":true}},)"
        R"({"type":"bind","source":"/etc/conf","target":"/conf","read_only":true,"consistency":"cached",)"
        R"("bind":{"propagation":"rshared","create_host_path":true,"selinux":"Z"}},)"
        R"({"type":"volume","source":"db","target":"/var/lib/db","volume":{"nocopy":true}},)"
        R"({"type":"volume","target":"/scratch","volume":{}}])");
}

TEST_CASE("volumes: long syntax for every type", "[compose][volumes]") {
  Json v = volumes_of(
      "      - type: bind\n"
      "        source: ./src\n"
      "        target: /app\n"
      "        read_only: true\n"
      "        bind:\n"
      "          propagation: slave\n"
      "          selinux: z\n"
      "          recursive: readonly\n"
      "      - type: volume\n"
      "        source: data\n"
      "        target: /data\n"
      "        volume:\n"
      "          nocopy: true\n"
      "          subpath: sub\n"
      "          labels: [a=b]\n"
      "        x-keep: 1\n"
      "      - type: tmpfs\n"
      "        target: /tmp\n"
      "        tmpfs:\n"
      "          size: 64m\n"
      "          mode: 01777\n"
      "      - type: image\n"
      "        source: alpine\n"
      "        target: /img\n"
      "        image:\n"
      "          subpath: etc\n"
      "      - type: bind\n"
      "        source: /run/x.sock\n"
      "        target: /x.sock\n"
      "        bind:\n"
      "          create_host_path: false\n");
  CHECK(v.dump() ==
        R"([{"type":"bind","source":"/project/src","target":"/app","read_only":true,)"
        R"("bind":{"propagation":"slave","create_host_path":true,"selinux":"z","recursive":"readonly"}},)"
        R"({"type":"volume","source":"data","target":"/data","volume":{"nocopy":true,"subpath":"sub","labels":{"a":"b"}},"x-keep":1},)"
        R"({"type":"tmpfs","target":"/tmp","tmpfs":{"size":"67108864","mode":1023}},)"
        R"({"type":"image","source":"alpine","target":"/img","image":{"subpath":"etc"}},)"
        R"({"type":"bind","source":"/run/x.sock","target":"/x.sock","bind":{"create_host_path":false}}])");
}

TEST_CASE("volumes: tmpfs size takes bytes or a size string and prints a digit string", "[compose][volumes]") {
  // compose-go's UnitBytes marshals to JSON as a string of digits.
  Json v = volumes_of(
      "      - {type: tmpfs, target: /a, tmpfs: {size: 1048576}}\n"
      "      - {type: tmpfs, target: /b, tmpfs: {size: \"2048\"}}\n"
      "      - {type: tmpfs, target: /c, tmpfs: {size: 1g}}\n");
  CHECK(v.dump() ==
        R"([{"type":"tmpfs","target":"/a","tmpfs":{"size":"1048576"}},)"
        R"({"type":"tmpfs","target":"/b","tmpfs":{"size":"2048"}},)"
        R"({"type":"tmpfs","target":"/c","tmpfs":{"size":"1073741824"}}])");
}

TEST_CASE("volumes: x-* keys of the type options are kept", "[compose][volumes]") {
  std::string yaml =
      "services:\n"
      "  web:\n"
      "    image: nginx\n"
      "    volumes:\n"
      "      - type: bind\n"
      "        source: /src\n"
      "        target: /app\n"
      "        bind: {propagation: slave, x-b: {deep: [1, 2]}}\n"
      "      - type: volume\n"
      "        source: data\n"
      "        target: /data\n"
      "        volume: {x-v: yes, nocopy: true}\n"
      "      - type: tmpfs\n"
      "        target: /tmp\n"
      "        tmpfs: {size: 1k, x-t: 1.5}\n"
      "      - type: image\n"
      "        source: alpine\n"
      "        target: /img\n"
      "        image: {x-i: null}\n"
      "volumes:\n"
      "  data: {}\n";
  Json v = service_json(yaml, "web", kEnv).at("volumes");
  CHECK(v.dump() ==
        R"([{"type":"bind","source":"/src","target":"/app",)"
        R"("bind":{"propagation":"slave","create_host_path":true,"x-b":{"deep":[1,2]}}},)"
        R"({"type":"volume","source":"data","target":"/data","volume":{"nocopy":true,"x-v":"yes"}},)"
        R"({"type":"tmpfs","target":"/tmp","tmpfs":{"size":"1024","x-t":1.5}},)"
        R"({"type":"image","source":"alpine","target":"/img","image":{"x-i":null}}])");
  Project p = load_ok(yaml, kEnv);
  REQUIRE(p.services[0].volumes.size() == 4);
  CHECK(p.services[0].volumes[2].tmpfs->extensions.at("x-t") == 1.5);
  check_round_trip(p, kEnv);
}

TEST_CASE("volumes: short syntax errors", "[compose][volumes]") {
  std::string err = load_error(
      "services:\n"
      "  web:\n"
      "    volumes:\n"
      "      - a:b:c:d\n"
      "      - ./x:data\n"
      "      - ./x:/d2:rx\n"
      "      - db:/d3:Z\n"
      "      - ./x:/d4:nocopy\n"
      "      - \"::/d5\"\n"
      "      - 42\n"
      "    image: nginx\n" "volumes:\n  db: {}\n  data: {}\n  v: {}\n");
  CHECK(err ==
        "compose.yaml:4:9: services.web.volumes[0]: invalid volume \"a:b:c:d\": too many colons\n"
        "compose.yaml:5:9: services.web.volumes[1]: invalid volume \"./x:data\": the container path \"data\" must be absolute\n"
        "compose.yaml:6:9: services.web.volumes[2]: invalid volume \"./x:/d2:rx\": invalid mode \"rx\"\n"
        "compose.yaml:7:9: services.web.volumes[3]: invalid volume \"db:/d3:Z\": mode \"Z\" applies only to bind mounts\n"
        "compose.yaml:8:9: services.web.volumes[4]: invalid volume \"./x:/d4:nocopy\": mode \"nocopy\" applies only to volumes\n"
        "compose.yaml:9:9: services.web.volumes[5]: invalid volume \"::/d5\": empty section between colons\n"
        "compose.yaml:10:9: services.web.volumes[6]: must be a string, not a number");
}

TEST_CASE("volumes: long syntax errors", "[compose][volumes]") {
  std::string err = load_error(
      "services:\n"
      "  web:\n"
      "    volumes:\n"
      "      - source: x\n"
      "        target: /a\n"
      "      - type: disk\n"
      "        target: /b\n"
      "      - type: volume\n"
      "        source: x\n"
      "        target: x\n"
      "      - type: volume\n"
      "        target: /c\n"
      "        bind:\n"
      "          propagation: shared\n"
      "      - type: bind\n"
      "        source: .\n"
      "        target: /d\n"
      "        bind:\n"
      "          selinux: q\n"
      "          extra: 1\n"
      "      - type: tmpfs\n"
      "        target: /t\n"
      "        tmpfs:\n"
      "          size: lots\n"
      "    image: nginx\n" "volumes:\n  db: {}\n  data: {}\n  v: {}\n");
  CHECK(err ==
        "compose.yaml:4:9: services.web.volumes[0]: missing required key \"type\"\n"
        "compose.yaml:6:15: services.web.volumes[1].type: invalid value \"disk\" (expected one of: bind, volume, tmpfs, npipe, cluster, image)\n"
        "compose.yaml:10:17: services.web.volumes[2].target: container path \"x\" must be absolute\n"
        "compose.yaml:13:9: services.web.volumes[3]: bind options are incompatible with type volume\n"
        "compose.yaml:20:11: services.web.volumes[4].bind: unknown key \"extra\"\n"
        "compose.yaml:19:20: services.web.volumes[4].bind.selinux: invalid value \"q\" (expected one of: z, Z)\n"
        "compose.yaml:24:17: services.web.volumes[5].tmpfs.size: invalid size \"lots\" (expected bytes or a number with a unit: b, k, m, g)");
}

TEST_CASE("volumes: round trip through the canonical JSON", "[compose][volumes]") {
  Project p = load_ok(
      "services:\n"
      "  web:\n"
      "    volumes:\n"
      "      - ./data:/data:ro,z\n"
      "      - db:/db\n"
      "      - /anon\n"
      "      - type: tmpfs\n"
      "        target: /t\n"
      "        tmpfs: {size: 1k, mode: \"755\"}\n"
      "      - type: volume\n"
      "        source: v\n"
      "        target: /v\n"
      "        volume: {labels: {k: v}, subpath: s}\n"
      "    image: nginx\n" "volumes:\n  db: {}\n  data: {}\n  v: {}\n",
      kEnv);
  REQUIRE(p.services[0].volumes.size() == 5);
  CHECK(p.services[0].volumes[3].tmpfs->mode == 0755);
  check_round_trip(p, kEnv);
}
