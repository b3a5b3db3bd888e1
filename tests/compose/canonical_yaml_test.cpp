// to_yaml: every string must read back as the same string; structure must survive.
#include <catch2/catch.hpp>

#include "convert_util.h"
#include "stack/compose/canonical.h"
#include "yaml_reader.h"

using namespace stack::compose;

TEST_CASE("to_yaml: tricky strings read back unchanged", "[compose][canonical]") {
  std::vector<std::string> strings = {
      "", " ", "a b", "--listen", ":3000", "-", "- x", "? x", "a: b", "a #b", "#c", "true", "yes", "No", "null",
      "~", "0755", "1_000", "1e3", "0x1F", ".5", "127.0.0.1", "1.2.3", "8080", "-1", "+1", "*alias", "&anchor",
      "!tag", "|", ">", "'q'", "\"dq\"", "%x", "@x", "`x`", "{a}", "[a]", "a,b", "line\nbreak", "tab\there",
      "trailing:", "x:y", "12:30", "1:20:30.5", "1000:1000", "é ünïcode", "\\backslash", "<<", "---", "...", "a  b ", "=", "${VAR}", "$$"};
  Json arr = Json::array();
  Json obj = Json::object();
  for (const auto& s : strings) {
    arr.push_back(s);
    if (!s.empty()) obj[s] = s;
  }
  Json doc = {{"list", arr}, {"map", obj}, {"nested", Json::array({obj, Json::array({arr})})}};
  std::string yaml = to_yaml(doc);
  Diagnostics d;
  auto docs = read_yaml(yaml, "out.yaml", d);
  INFO(yaml);
  INFO(d.to_string());
  REQUIRE(docs.size() == 1);
  CHECK(node_to_json(docs[0]).dump() == doc.dump());
}

TEST_CASE("to_yaml: YAML 1.1 sexagesimal numbers are quoted, user:group pairs are not", "[compose][canonical]") {
  CHECK(to_yaml(Json{{"a", "12:30"}, {"b", "1000:1000"}, {"c", "-1:05"}}) == "a: \"12:30\"\nb: 1000:1000\nc: \"-1:05\"\n");
}

TEST_CASE("to_yaml: numbers, booleans, null and empty containers", "[compose][canonical]") {
  Json doc = {{"i", 42}, {"neg", -7}, {"f", 0.5}, {"b", true}, {"nul", nullptr}, {"eo", Json::object()},
              {"ea", Json::array()}, {"s", "42"}};
  CHECK(to_yaml(doc) == "i: 42\nneg: -7\nf: 0.5\nb: true\nnul: null\neo: {}\nea: []\ns: \"42\"\n");
}

TEST_CASE("to_yaml: sequences of mappings put the first key on the dash line", "[compose][canonical]") {
  Json doc = {{"ports", Json::array({Json{{"target", 80}, {"published", "8080"}}, Json{{"target", 443}}})}};
  CHECK(to_yaml(doc) == "ports:\n  - target: 80\n    published: \"8080\"\n  - target: 443\n");
}
