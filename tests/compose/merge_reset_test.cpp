// !reset and !override in override files, and what finish_merge leaves of them.
#include "merge_test_util.h"

using namespace stack::compose;
using namespace stack::compose::testing;

TEST_CASE("merge reset: !reset removes the attribute whatever the base had", "[compose][merge]") {
  std::string base = R"(
services:
  web:
    image: a
    ports: ["80:80"]
    environment: {A: "1", B: "2"}
    build: .
)";
  std::string over = R"(
services:
  web:
    ports: !reset []
    environment:
      B: !reset
    build: !reset null
    user: !reset
)";
  CHECK(merge_json(base, over) == R"({"services":{"web":{"image":"a","environment":{"A":"1"}}}})");
}

TEST_CASE("merge reset: !override replaces without merging", "[compose][merge]") {
  std::string base = R"(
services:
  web:
    ports: ["80:80", "443:443"]
    environment: [A=1, B=2]
    logging: {driver: json-file, options: {max-size: 1m}}
)";
  std::string over = R"(
services:
  web:
    ports: !override ["8080:80"]
    environment: !override {C: "3"}
    logging: !override {options: {tag: x}}
)";
  CHECK(merge_json(base, over) ==
        R"({"services":{"web":{"ports":["8080:80"],"environment":{"C":"3"},"logging":{"options":{"tag":"x"}}}}})");
}

TEST_CASE("merge reset: a whole service can be reset or overridden", "[compose][merge]") {
  CHECK(merge_json("services: {web: {image: a}, db: {image: b, user: x}}",
                   "services: {web: !reset , db: !override {image: c}}") == R"({"services":{"db":{"image":"c"}}})");
}

TEST_CASE("merge reset: tags in the first file are dropped by finish_merge", "[compose][merge]") {
  Node doc = parse_node(R"(
services:
  web:
    image: a
    ports: !reset ["80:80"]
    environment: !override {A: "1"}
    volumes: [data:/data, !reset "x:/x"]
)");
  finish_merge(doc);
  CHECK(node_to_json(doc).dump() == R"({"services":{"web":{"image":"a","environment":{"A":"1"},"volumes":["data:/data"]}}})");
  CHECK(doc.find("services")->find("web")->find("environment")->tag.empty());
}

TEST_CASE("merge reset: an attribute reset in the first file takes the later file's value", "[compose][merge]") {
  CHECK(merged_attr("services: {web: {ports: !reset ['80:80']}}", "services: {web: {ports: ['90:90']}}", "ports") ==
        R"(["90:90"])");
}

TEST_CASE("merge reset: a later file can set again what an earlier file reset", "[compose][merge]") {
  Node doc = parse_node("services: {web: {image: a, ports: ['80:80']}}");
  Diagnostics d;
  merge_documents(doc, parse_node("services: {web: {ports: !reset []}}", "b.yaml"), d);
  merge_documents(doc, parse_node("services: {web: {ports: ['70:70']}}", "c.yaml"), d);
  finish_merge(doc);
  CHECK(d.empty());
  CHECK(node_to_json(doc).dump() == R"({"services":{"web":{"image":"a","ports":["70:70"]}}})");
}

TEST_CASE("merge reset: !reset of an attribute absent from the base adds nothing", "[compose][merge]") {
  CHECK(merge_json("services: {web: {image: a}}", "services: {web: {cap_add: !reset [X], labels: {a: !reset b}}}") ==
        R"({"services":{"web":{"image":"a","labels":{}}}})");
}
