// Merge of list-or-dict attributes: entries combine by key whichever syntax each file uses.
#include "merge_test_util.h"

using namespace stack::compose;
using namespace stack::compose::testing;

TEST_CASE("merge keyed: environment list onto list stays a list, later keys win in place", "[compose][merge]") {
  CHECK(merged_attr("services: {web: {environment: [A=1, B=2, C]}}", "services: {web: {environment: [B=3, D=4, C=5]}}",
                    "environment") == R"(["A=1","B=3","C=5","D=4"])");
}

TEST_CASE("merge keyed: environment mapping onto mapping", "[compose][merge]") {
  CHECK(merged_attr("services: {web: {environment: {A: 1, B: two}}}", "services: {web: {environment: {B: 3, C: ~}}}",
                    "environment") == R"({"A":1,"B":3,"C":null})");
}

TEST_CASE("merge keyed: environment list and mapping combine into a mapping", "[compose][merge]") {
  CHECK(merged_attr("services: {web: {environment: [A=1, B=x=y, C]}}", "services: {web: {environment: {A: 2, D: 4}}}",
                    "environment") == R"({"A":2,"B":"x=y","C":null,"D":4})");
  CHECK(merged_attr("services: {web: {environment: {A: 1, B: 2}}}", "services: {web: {environment: [B=3, E]}}",
                    "environment") == R"({"A":1,"B":"3","E":null})");
}

TEST_CASE("merge keyed: labels, annotations, sysctls, build.args, deploy.labels", "[compose][merge]") {
  std::string base = R"(
services:
  web:
    labels: [com.example.a=1, com.example.b=2]
    annotations: {x: "1"}
    sysctls: [net.core.somaxconn=1024]
    build: {context: ., args: {V: "1"}, labels: [l1=a]}
    deploy: {labels: {d: "1"}}
)";
  std::string over = R"(
services:
  web:
    labels: {com.example.b: "3"}
    annotations: [y=2]
    sysctls: {net.core.somaxconn: 2048}
    build: {args: [V=2, W=3], labels: {l2: b}}
    deploy: {labels: [e=2]}
)";
  CHECK(merged_attr(base, over, "labels") == R"({"com.example.a":"1","com.example.b":"3"})");
  CHECK(merged_attr(base, over, "annotations") == R"({"x":"1","y":"2"})");
  CHECK(merged_attr(base, over, "sysctls") == R"({"net.core.somaxconn":2048})");
  CHECK(merged_attr(base, over, "build") == R"({"context":".","args":{"V":"2","W":"3"},"labels":{"l1":"a","l2":"b"}})");
  CHECK(merged_attr(base, over, "deploy") == R"({"labels":{"d":"1","e":"2"}})");
}

TEST_CASE("merge keyed: extra_hosts keep every address of a host", "[compose][merge]") {
  CHECK(merged_attr("services: {web: {extra_hosts: ['db:10.0.0.1', 'cache=10.0.0.2']}}",
                    "services: {web: {extra_hosts: ['db:10.0.0.1', 'db:10.0.0.9']}}",
                    "extra_hosts") == R"(["db:10.0.0.1","cache=10.0.0.2","db:10.0.0.9"])");
  CHECK(merged_attr("services: {web: {extra_hosts: ['db:10.0.0.1', 'v6=::1']}}",
                    "services: {web: {extra_hosts: {db: [10.0.0.1, 10.0.0.9], api: 10.0.0.3}}}",
                    "extra_hosts") == R"({"db":["10.0.0.1","10.0.0.9"],"v6":"::1","api":"10.0.0.3"})");
}

TEST_CASE("merge keyed: depends_on list and mapping forms", "[compose][merge]") {
  CHECK(merged_attr("services: {web: {depends_on: [db, cache]}}", "services: {web: {depends_on: [cache, queue]}}",
                    "depends_on") == R"(["db","cache","queue"])");
  CHECK(merged_attr("services: {web: {depends_on: [db, cache]}}",
                    "services: {web: {depends_on: {db: {condition: service_healthy}}}}", "depends_on") ==
        R"({"db":{"condition":"service_healthy","required":true},)"
        R"("cache":{"condition":"service_started","required":true}})");
  CHECK(merged_attr("services: {web: {depends_on: {db: {condition: service_healthy, restart: true}}}}",
                    "services: {web: {depends_on: [queue]}}", "depends_on") ==
        R"({"db":{"condition":"service_healthy","restart":true},)"
        R"("queue":{"condition":"service_started","required":true}})");
}

TEST_CASE("merge keyed: service networks list and mapping forms, aliases deduplicated", "[compose][merge]") {
  CHECK(merged_attr("services: {web: {networks: [front, back]}}", "services: {web: {networks: [back, admin]}}",
                    "networks") == R"(["front","back","admin"])");
  std::string base = R"(
services:
  web:
    networks:
      - front
      - back
)";
  std::string over = R"(
services:
  web:
    networks:
      back:
        aliases: [api]
        ipv4_address: 10.0.0.5
)";
  CHECK(merged_attr(base, over, "networks") == R"({"front":null,"back":{"aliases":["api"],"ipv4_address":"10.0.0.5"}})");
  CHECK(merged_attr("services: {web: {networks: {front: {aliases: [a, b], priority: 1}}}}",
                    "services: {web: {networks: {front: {aliases: [b, c]}, back: }}}", "networks") ==
        R"({"front":{"aliases":["a","b","c"],"priority":1},"back":null})");
}
