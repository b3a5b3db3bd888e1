#include <catch2/catch.hpp>

#include "convert_util.h"
#include "yaml_reader.h"

using namespace stack::compose;

namespace {
std::string to_json(const std::string& yaml, Diagnostics& d) {
  auto docs = read_yaml(yaml, "compose.yaml", d);
  if (docs.empty()) return "<none>";
  return node_to_json(docs.front()).dump();
}
}  // namespace

TEST_CASE("yaml_reader: positions are 1-based line and column of each node", "[compose][yaml]") {
  Diagnostics d;
  auto docs = read_yaml("services:\n  web:\n    image: nginx\n", "compose.yaml", d);
  REQUIRE(docs.size() == 1);
  const Node* image = docs[0].find("services")->find("web")->find("image");
  REQUIRE(image != nullptr);
  CHECK(image->mark.to_string() == "compose.yaml:3:12");
  CHECK(docs[0].find("services")->find_entry("web")->key_mark.to_string() == "compose.yaml:2:3");
}

TEST_CASE("yaml_reader: scalars keep their style so types resolve as YAML 1.2", "[compose][yaml]") {
  Diagnostics d;
  CHECK(to_json("a: 1\nb: '1'\nc: true\nd: 'true'\ne: ~\nf: null\ng: 0x1F\nh: 1.5\ni: yes\nj: |\n  12\n", d) ==
        R"({"a":1,"b":"1","c":true,"d":"true","e":null,"f":null,"g":31,"h":1.5,"i":"yes","j":"12\n"})");
  CHECK(d.empty());
}

TEST_CASE("yaml_reader: anchors, aliases and merge keys", "[compose][yaml]") {
  Diagnostics d;
  std::string yaml =
      "x-base: &base\n  image: busybox\n  restart: always\n"
      "x-more: &more\n  restart: 'no'\n  tty: true\n"
      "services:\n"
      "  a:\n    <<: *base\n    restart: on-failure\n"
      "  b:\n    <<: [*more, *base]\n"
      "  c:\n    environment: &env [A=1]\n  d:\n    environment: *env\n";
  auto docs = read_yaml(yaml, "compose.yaml", d);
  REQUIRE(d.empty());
  Json j = node_to_json(docs[0]);
  CHECK(j["services"]["a"].dump() == R"({"restart":"on-failure","image":"busybox"})");
  // Earlier merge sources win over later ones.
  CHECK(j["services"]["b"].dump() == R"({"restart":"no","tty":true,"image":"busybox"})");
  CHECK(j["services"]["d"]["environment"].dump() == R"(["A=1"])");
}

TEST_CASE("yaml_reader: duplicate keys are errors at the second key", "[compose][yaml]") {
  Diagnostics d;
  read_yaml("services:\n  web:\n    image: a\n    image: b\n", "compose.yaml", d);
  CHECK(d.to_string() == "compose.yaml:4:5: mapping key \"image\" already defined at line 3");
}

TEST_CASE("yaml_reader: syntax errors are located", "[compose][yaml]") {
  Diagnostics d;
  auto docs = read_yaml("services:\n  web: [a, b\n  db: {}\n", "compose.yaml", d);
  CHECK(docs.empty());
  REQUIRE(d.size() == 1);
  CHECK(d.to_string().rfind("compose.yaml:", 0) == 0);
  CHECK(d.to_string().find("invalid YAML") != std::string::npos);
}

TEST_CASE("yaml_reader: tags !reset and !override are kept, other tags do not leak", "[compose][yaml]") {
  Diagnostics d;
  auto docs = read_yaml("a: !reset []\nb: !override {x: 1}\nc: !!str 12\nd: !reset\n", "f.yml", d);
  REQUIRE(d.empty());
  CHECK(docs[0].find("a")->tag == "!reset");
  CHECK(docs[0].find("b")->tag == "!override");
  CHECK(docs[0].find("c")->quoted);
  CHECK(docs[0].find("c")->tag.empty());
  CHECK(docs[0].find("d")->tag == "!reset");
  CHECK(docs[0].find("d")->is_null());
}

TEST_CASE("yaml_reader: alias expansion bombs are refused, not expanded", "[compose][yaml]") {
  std::string yaml = "a: &a [x,x,x,x,x,x,x,x,x,x]\n";
  char prev = 'a';
  for (char c = 'b'; c <= 'k'; ++c) {
    yaml += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 10; ++i) yaml += std::string(i ? "," : "") + "*" + prev;
    yaml += "]\n";
    prev = c;
  }
  Diagnostics d;
  auto docs = read_yaml(yaml, "bomb.yml", d);
  CHECK(docs.empty());
  CHECK(d.to_string().find("document too large") != std::string::npos);
}

TEST_CASE("yaml_reader: several documents come back separately, empty input is one null", "[compose][yaml]") {
  Diagnostics d;
  CHECK(read_yaml("a: 1\n---\nb: 2\n", "f.yml", d).size() == 2);
  auto empty = read_yaml("", "f.yml", d);
  REQUIRE(empty.size() == 1);
  CHECK(empty[0].is_null());
  CHECK(d.empty());
}

TEST_CASE("yaml_reader: stray flow indicators at document level end, with an error", "[compose][yaml]") {
  for (const char* text : {",", ",a: b", "\"x\",", "]", "}"}) {
    Diagnostics d;
    auto docs = read_yaml(text, "f.yml", d);
    INFO(text);
    CHECK(docs.empty());
    CHECK(d.to_string().rfind("f.yml:1:", 0) == 0);
  }
}

TEST_CASE("yaml_reader: a recursive alias is an error, not a loop", "[compose][yaml]") {
  Diagnostics d;
  auto docs = read_yaml("a: &x [1, *x]\n", "f.yml", d);
  CHECK(docs.empty());
  CHECK(d.to_string() == "f.yml:1:11: alias to an anchor whose node is not complete (recursive alias)");
}

TEST_CASE("yaml_reader: invalid UTF-8 is rejected with its position", "[compose][yaml]") {
  Diagnostics d;
  auto docs = read_yaml("a: 1\nb: x\xff\n", "f.yml", d);
  CHECK(docs.empty());
  CHECK(d.to_string() == "f.yml:2:5: invalid UTF-8 in the file");
}

TEST_CASE("yaml_reader: overlong, surrogate and out-of-range UTF-8 are rejected", "[compose][yaml]") {
  for (const char* bad : {"x: \xe0\x80\x80\n", "x: \xc0\xaf\n", "x: \xed\xa0\x80\n", "x: \xf4\x90\x80\x80\n",
                          "x: \xf5\x80\x80\x80\n", "x: \xe2\x82\n"}) {
    Diagnostics d;
    INFO(bad);
    CHECK(read_yaml(bad, "f.yml", d).empty());
    CHECK(d.to_string() == "f.yml:1:4: invalid UTF-8 in the file");
  }
  Diagnostics ok;
  CHECK(read_yaml("x: \xc3\xa9\xe2\x82\xac\xf0\x9f\x90\xb3\n", "f.yml", ok).size() == 1);
  CHECK(ok.empty());
}

TEST_CASE("yaml_reader: control characters and NULs are rejected", "[compose][yaml]") {
  Diagnostics d1;
  CHECK(read_yaml(std::string("a: 1\nx-\0_: 2\n", 13), "f.yml", d1).empty());
  CHECK(d1.to_string() == "f.yml:2:3: control characters are not allowed");
  Diagnostics d2;
  CHECK(read_yaml("a: \"x\\u0000y\"\n", "f.yml", d2).empty());
  CHECK(d2.to_string() == "f.yml:1:4: NUL characters are not allowed");
  Diagnostics ok;
  CHECK(read_yaml("a: \"tab\\there\"\r\nb: |\n  two\n  lines\n", "f.yml", ok).size() == 1);
  CHECK(ok.empty());
}
