// Merge rules for several Compose files (compose-go's override package): mappings, scalars,
// replaced and appended sequences, unique-resource sequences, !reset and !override.
#include "merge_test_util.h"

using namespace stack::compose;
using namespace stack::compose::testing;

TEST_CASE("merge: scalars later win, mappings merge recursively", "[compose][merge]") {
  std::string out = merge_json(R"(
services:
  web:
    image: nginx:1
    restart: always
    healthcheck:
      test: ["CMD", "true"]
      interval: 10s
)",
                               R"(
services:
  web:
    image: nginx:2
    healthcheck:
      retries: 3
  db:
    image: postgres
)");
  CHECK(out ==
        R"({"services":{"web":{"image":"nginx:2","restart":"always","healthcheck":{"test":["CMD","true"],)"
        R"("interval":"10s","retries":3}},"db":{"image":"postgres"}}})");
}

TEST_CASE("merge: command, entrypoint and healthcheck.test are replaced", "[compose][merge]") {
  std::string base = R"(
services:
  web:
    command: ["run", "--fast"]
    entrypoint: /bin/sh -c
    healthcheck:
      test: ["CMD", "curl", "localhost"]
)";
  std::string over = R"(
services:
  web:
    command: ["serve"]
    entrypoint: ["/init"]
    healthcheck:
      test: ["CMD-SHELL", "true"]
)";
  CHECK(merged_attr(base, over, "command") == R"(["serve"])");
  CHECK(merged_attr(base, over, "entrypoint") == R"(["/init"])");
  CHECK(merged_attr(base, over, "healthcheck") == R"({"test":["CMD-SHELL","true"]})");
}

TEST_CASE("merge: other sequences append", "[compose][merge]") {
  CHECK(merged_attr("services: {web: {security_opt: [a, b]}}", "services: {web: {security_opt: [b, c]}}",
                    "security_opt") == R"(["a","b","b","c"])");
}

TEST_CASE("merge: a null value in a later file keeps the earlier value", "[compose][merge]") {
  CHECK(merged_attr("services: {web: {image: a, environment: [X=1]}}", "services: {web: {image: ~, environment:}}",
                    "environment") == R"(["X=1"])");
  CHECK(merged_attr("services: {web: {image: a}}", "services: {web: {image: ~}}", "image") == R"("a")");
  CHECK(merge_json("services: {web: {image: a}}", "services: {web:}") == R"({"services":{"web":{"image":"a"}}})");
}

TEST_CASE("merge: ports merge by host ip, published port, target and protocol", "[compose][merge]") {
  std::string base = R"(
services:
  web:
    ports:
      - "8080:80"
      - "127.0.0.1:9000:9000"
      - 53/udp
      - target: 443
        published: "8443"
)";
  std::string over = R"(
services:
  web:
    ports:
      - target: 80
        published: 8080
        mode: host
      - "9000:9000"
      - "53/udp"
      - "8443:443/tcp"
      - "[::1]:7000:7000"
)";
  CHECK(merged_attr(base, over, "ports") ==
        R"([{"target":80,"published":8080,"mode":"host"},"127.0.0.1:9000:9000","53/udp","8443:443/tcp",)"
        R"("9000:9000","[::1]:7000:7000"])");
}

TEST_CASE("merge: volumes merge by target, short and long syntax alike", "[compose][merge]") {
  std::string base = R"(
services:
  web:
    volumes:
      - ./data:/data
      - logs:/var/log:ro
      - /anonymous
)";
  std::string over = R"(
services:
  web:
    volumes:
      - type: volume
        source: data
        target: /data
      - other:/var/log
      - /cache
)";
  CHECK(merged_attr(base, over, "volumes") ==
        R"([{"type":"volume","source":"data","target":"/data"},"other:/var/log","/anonymous","/cache"])");
}

TEST_CASE("merge: secrets and configs merge by target with their default mount points", "[compose][merge]") {
  std::string base = R"(
services:
  web:
    secrets: [db, api]
    configs: [app, {source: nginx, target: /etc/nginx.conf}]
)";
  std::string over = R"(
services:
  web:
    secrets:
      - source: db
        uid: "103"
      - source: other
        target: api
    configs:
      - source: app2
        target: /app
      - source: nginx2
        target: /etc/nginx.conf
)";
  CHECK(merged_attr(base, over, "secrets") == R"([{"source":"db","uid":"103"},{"source":"other","target":"api"}])");
  CHECK(merged_attr(base, over, "configs") ==
        R"([{"source":"app2","target":"/app"},{"source":"nginx2","target":"/etc/nginx.conf"}])");
}

TEST_CASE("merge: devices merge by container path", "[compose][merge]") {
  CHECK(merged_attr("services: {web: {devices: ['/dev/sda:/dev/xvda:rwm', /dev/fuse]}}",
                    "services: {web: {devices: [{source: /dev/sdb, target: /dev/xvda}, '/dev/ttyUSB0:/dev/ttyUSB0']}}",
                    "devices") == R"([{"source":"/dev/sdb","target":"/dev/xvda"},"/dev/fuse","/dev/ttyUSB0:/dev/ttyUSB0"])");
}

TEST_CASE("merge: value lists are deduplicated, a lone string counts as a list", "[compose][merge]") {
  std::string base = R"(
services:
  web:
    expose: [80, "443"]
    dns: 8.8.8.8
    dns_search: [example.com]
    dns_opt: [ndots:2]
    cap_add: [NET_ADMIN]
    cap_drop: [ALL]
    profiles: [debug]
    links: [db]
    tmpfs: /run
)";
  std::string over = R"(
services:
  web:
    expose: ["80", 443, 8080]
    dns: [8.8.4.4, 8.8.8.8]
    dns_search: example.com
    dns_opt: [ndots:2, timeout:1]
    cap_add: [SYS_ADMIN, NET_ADMIN]
    cap_drop: [ALL]
    profiles: [debug, test]
    links: ["db:database", db]
    tmpfs: ["/run:size=64m", /tmp]
)";
  CHECK(merged_attr(base, over, "expose") == R"(["80",443,8080])");
  CHECK(merged_attr(base, over, "dns") == R"(["8.8.8.8","8.8.4.4"])");
  CHECK(merged_attr(base, over, "dns_search") == R"(["example.com"])");
  CHECK(merged_attr(base, over, "dns_opt") == R"(["ndots:2","timeout:1"])");
  CHECK(merged_attr(base, over, "cap_add") == R"(["NET_ADMIN","SYS_ADMIN"])");
  CHECK(merged_attr(base, over, "cap_drop") == R"(["ALL"])");
  CHECK(merged_attr(base, over, "profiles") == R"(["debug","test"])");
  CHECK(merged_attr(base, over, "links") == R"(["db","db:database"])");
  CHECK(merged_attr(base, over, "tmpfs") == R"(["/run:size=64m","/tmp"])");
}

TEST_CASE("merge: env_file merges by path", "[compose][merge]") {
  CHECK(merged_attr("services: {web: {env_file: .env}}",
                    "services: {web: {env_file: [{path: .env, required: false}, extra.env]}}",
                    "env_file") == R"([{"path":".env","required":false},"extra.env"])");
}

TEST_CASE("merge: a logging driver change drops the other driver's options", "[compose][merge]") {
  std::string base = R"(
services:
  web:
    logging:
      driver: json-file
      options: {max-size: 10m, max-file: "3"}
)";
  CHECK(merged_attr(base, "services: {web: {logging: {driver: syslog, options: {tag: web}}}}", "logging") ==
        R"({"driver":"syslog","options":{"tag":"web"}})");
  CHECK(merged_attr(base, "services: {web: {logging: {driver: json-file, options: {max-size: 1m}}}}", "logging") ==
        R"({"driver":"json-file","options":{"max-size":"1m","max-file":"3"}})");
  CHECK(merged_attr(base, "services: {web: {logging: {options: {compress: 'true'}}}}", "logging") ==
        R"({"driver":"json-file","options":{"max-size":"10m","max-file":"3","compress":"true"}})");
}

TEST_CASE("merge: ulimits merge per name", "[compose][merge]") {
  CHECK(merged_attr("services: {web: {ulimits: {nproc: 65535, nofile: {soft: 1024, hard: 2048}}}}",
                    "services: {web: {ulimits: {nofile: {soft: 4096}, core: 0}}}",
                    "ulimits") == R"({"nproc":65535,"nofile":{"soft":4096,"hard":2048},"core":0})");
  CHECK(merged_attr("services: {web: {ulimits: {nofile: {soft: 1024, hard: 2048}}}}",
                    "services: {web: {ulimits: {nofile: 4096}}}", "ulimits") == R"({"nofile":4096})");
}

TEST_CASE("merge: build string and mapping forms combine", "[compose][merge]") {
  CHECK(merged_attr("services: {web: {build: ./app}}", "services: {web: {build: {dockerfile: Dockerfile.dev}}}",
                    "build") == R"({"context":"./app","dockerfile":"Dockerfile.dev"})");
  CHECK(merged_attr("services: {web: {build: {context: ., args: [A=1, B=2], tags: [x]}}}",
                    "services: {web: {build: {args: {B: 3, C: 4}, tags: [x, y]}}}",
                    "build") == R"({"context":".","args":{"A":"1","B":3,"C":4},"tags":["x","y"]})");
  CHECK(merged_attr("services: {web: {build: ./a}}", "services: {web: {build: ./b}}", "build") == R"("./b")");
}

TEST_CASE("merge: marks point to the file that defined each value", "[compose][merge]") {
  Diagnostics d;
  Node merged = merge_nodes("services:\n  web:\n    image: a\n    user: root\n",
                            "services:\n  web:\n    image: b\n", d);
  const Node* web = merged.find("services")->find("web");
  CHECK(web->find("image")->mark.to_string() == "override.yaml:3:12");
  CHECK(web->find("user")->mark.to_string() == "compose.yaml:4:11");
}

TEST_CASE("merge: a mapping cannot be overridden by a sequence", "[compose][merge]") {
  Diagnostics d;
  merge_nodes("services:\n  web:\n    deploy:\n      replicas: 2\n", "services:\n  web:\n    deploy: [a]\n", d);
  CHECK(d.to_string() ==
        "override.yaml:3:13: services.web.deploy: cannot override the mapping defined at compose.yaml:4:7 with a "
        "sequence");
}

TEST_CASE("merge: top-level resources merge, ipam config by subnet", "[compose][merge]") {
  std::string base = R"(
networks:
  front:
    labels: [a=1]
    ipam:
      config:
        - subnet: 10.0.0.0/24
          gateway: 10.0.0.1
        - subnet: 10.1.0.0/24
volumes:
  data:
    driver: local
)";
  std::string over = R"(
networks:
  front:
    labels: {b: "2"}
    ipam:
      config:
        - subnet: 10.0.0.0/24
          ip_range: 10.0.0.128/25
        - subnet: 10.2.0.0/24
volumes:
  data:
    labels: {x: y}
x-common: {a: 1}
)";
  CHECK(merge_json(base, over) ==
        R"({"networks":{"front":{"labels":{"a":"1","b":"2"},"ipam":{"config":[{"subnet":"10.0.0.0/24",)"
        R"("gateway":"10.0.0.1","ip_range":"10.0.0.128/25"},{"subnet":"10.1.0.0/24"},{"subnet":"10.2.0.0/24"}]}}},)"
        R"("volumes":{"data":{"driver":"local","labels":{"x":"y"}}},"x-common":{"a":1}})");
}

TEST_CASE("merge: finish_merge removes duplicates within one file as Compose does", "[compose][merge]") {
  Node doc = parse_node("services: {web: {ports: ['80:80', '80:80'], environment: [A=1, B=2, A=3]}}");
  finish_merge(doc);
  CHECK(node_to_json(doc).dump() == R"({"services":{"web":{"ports":["80:80"],"environment":["A=3","B=2"]}}})");
}

TEST_CASE("merge: merge_service applies the service rules", "[compose][merge]") {
  Node base = parse_node("{image: a, environment: [A=1], ports: ['80:80']}");
  Node over = parse_node("{environment: {B: 2}, ports: ['80:80', '90:90']}", "other.yaml");
  Diagnostics d;
  merge_service(base, over, d);
  CHECK(d.empty());
  CHECK(node_to_json(base).dump() == R"({"image":"a","environment":{"A":"1","B":2},"ports":["80:80","90:90"]})");
}

TEST_CASE("merge: a lone string is a list only where Compose accepts one", "[compose][merge]") {
  Diagnostics d;
  merge_nodes("services:\n  web:\n    cap_add: [A]\n", "services:\n  web:\n    cap_add: B\n", d);
  CHECK(d.to_string() ==
        "override.yaml:3:14: services.web.cap_add: cannot override the sequence defined at compose.yaml:3:14 with a "
        "string");
  CHECK(merged_attr("services: {web: {label_file: a.txt}}", "services: {web: {label_file: b.txt}}", "label_file") ==
        R"(["a.txt","b.txt"])");
}
