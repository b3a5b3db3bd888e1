// Variable substitution: interpolate_string (every operator, nesting, escapes, errors),
// interpolate_tree (quoted flag, located errors) and the loader's use of it with .env files.
#include <chrono>

#include "compose/compose_test_util.h"
#include "interpolate.h"
#include "yaml_reader.h"

namespace stack::compose {
namespace {

using testing::Env;
using testing::Files;

const Env kEnv = {{"FOO", "first"}, {"EMPTY", ""}, {"PORT", "8000"}};

Lookup lookup_from(const Env& env) {
  return [env](const std::string& k) -> std::optional<std::string> {
    auto it = env.find(k);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
}

std::string sub(std::string_view text, const Env& env = kEnv) {
  std::string error;
  auto r = interpolate_string(text, lookup_from(env), &error);
  INFO("template: " << text << "\nerror: " << error);
  REQUIRE(r.has_value());
  return *r;
}

std::string sub_error(std::string_view text, const Env& env = kEnv) {
  std::string error;
  auto r = interpolate_string(text, lookup_from(env), &error);
  INFO("template: " << text << "\nresult: " << r.value_or("<none>"));
  REQUIRE_FALSE(r.has_value());
  return error;
}

std::string invalid_message(const std::string& text) {
  return "invalid interpolation format for \"" + text + "\": you may need to escape any $ with another $";
}

Node read_doc(const std::string& yaml) {
  Diagnostics diags;
  auto docs = read_yaml(yaml, "compose.yaml", diags);
  INFO(diags.to_string());
  REQUIRE(diags.empty());
  REQUIRE(docs.size() == 1);
  return std::move(docs.front());
}

const Node& at(const Node& root, std::initializer_list<std::string_view> keys) {
  const Node* n = &root;
  for (auto k : keys) {
    n = n->find(k);
    INFO("key " << k);
    REQUIRE(n != nullptr);
  }
  return *n;
}

TEST_CASE("interpolation: plain variables", "[compose][interpolation]") {
  CHECK(sub("no variables here") == "no variables here");
  CHECK(sub("$FOO") == "first");
  CHECK(sub("${FOO}") == "first");
  CHECK(sub("pre${FOO}post") == "prefirstpost");
  CHECK(sub("This $FOO var") == "This first var");
  // A name ends at the first character that cannot be part of one (docker/compose#8601).
  CHECK(sub("$FOO-bar") == "first-bar");
  CHECK(sub("$FOO.x/$FOO") == "first.x/first");
  CHECK(sub("$FOOBAR") == "");
  CHECK(sub("${UNSET}") == "");
  CHECK(sub("a${UNSET}b$UNSET") == "ab");
  CHECK(sub("${EMPTY}") == "");
  CHECK(sub("${foo}", {{"foo", "lower"}, {"FOO", "upper"}}) == "lower");
  CHECK(sub("$_x1", {{"_x1", "v"}}) == "v");
}

TEST_CASE("interpolation: $$ escapes and literal dollars", "[compose][interpolation]") {
  CHECK(sub("$$") == "$");
  CHECK(sub("$${FOO}") == "${FOO}");
  CHECK(sub("$$FOO") == "$FOO");
  CHECK(sub("$$$FOO") == "$first");
  CHECK(sub("$$$$") == "$$");
  CHECK(sub("echo $$0 $${1}") == "echo $0 ${1}");
  // A $ that starts no expression stays as written.
  CHECK(sub("a $ string") == "a $ string");
  CHECK(sub("^REGEX$") == "^REGEX$");
  CHECK(sub("$}") == "$}");
  CHECK(sub("$") == "$");
  CHECK(sub("cost: 5$") == "cost: 5$");
  CHECK(sub("$1 $-x $@") == "$1 $-x $@");
}

TEST_CASE("interpolation: default operators :- and -", "[compose][interpolation]") {
  CHECK(sub("${UNSET:-def}") == "def");
  CHECK(sub("${EMPTY:-def}") == "def");
  CHECK(sub("${FOO:-def}") == "first");
  CHECK(sub("${UNSET-def}") == "def");
  CHECK(sub("${EMPTY-def}") == "");
  CHECK(sub("${FOO-def}") == "first");
  CHECK(sub("${UNSET:-}") == "");
  CHECK(sub("${UNSET-}x") == "x");
  CHECK(sub("ok ${EMPTY:-/non:-alphanumeric}") == "ok /non:-alphanumeric");
  CHECK(sub("${UNSET-myerror?msg}") == "myerror?msg");
  CHECK(sub("${UNSET:-with space and : colon}") == "with space and : colon");
  // Text around an expression does not change which operator applies.
  CHECK(sub(":-ok ${EMPTY-defaultValue}") == ":-ok ");
  CHECK(sub(":?ok ${EMPTY:-defaultValue}") == ":?ok defaultValue");
  CHECK(sub("+ok ${EMPTY-defaultValue}") == "+ok ");
}

TEST_CASE("interpolation: replacement operators :+ and +", "[compose][interpolation]") {
  CHECK(sub("ok ${UNSET:+alt}") == "ok ");
  CHECK(sub("ok ${EMPTY:+alt}") == "ok ");
  CHECK(sub("ok ${FOO:+alt}") == "ok alt");
  CHECK(sub("ok ${UNSET+alt}") == "ok ");
  CHECK(sub("ok ${EMPTY+alt}") == "ok alt");
  CHECK(sub("ok ${FOO+alt}") == "ok alt");
  CHECK(sub("--flag${FOO:+=$FOO}") == "--flag=first");
}

TEST_CASE("interpolation: required operators :? and ?", "[compose][interpolation]") {
  CHECK(sub("ok ${FOO:?err}") == "ok first");
  CHECK(sub("ok ${FOO?err}") == "ok first");
  CHECK(sub("ok ${EMPTY?err}") == "ok ");
  CHECK(sub_error("not ok ${UNSET:?Mandatory Variable Unset}") ==
        "required variable UNSET is missing a value: Mandatory Variable Unset");
  CHECK(sub_error("not ok ${EMPTY:?Mandatory Variable Empty}") ==
        "required variable EMPTY is missing a value: Mandatory Variable Empty");
  CHECK(sub_error("${UNSET:?}") == "required variable UNSET is missing a value");
  CHECK(sub_error("${UNSET?Mandatory}") == "required variable UNSET is missing a value: Mandatory");
  CHECK(sub_error("${UNSET?}") == "required variable UNSET is missing a value");
  CHECK(sub_error("${UNSET?bar-baz}") == "required variable UNSET is missing a value: bar-baz");
  CHECK(sub_error("${DB_PASSWORD:?set it in .env}") ==
        "required variable DB_PASSWORD is missing a value: set it in .env");
}

TEST_CASE("interpolation: nested expressions", "[compose][interpolation]") {
  CHECK(sub("${UNSET:-${FOO:-x}}") == "first");
  CHECK(sub("${UNSET:-${ALSO_UNSET:-x}}") == "x");
  CHECK(sub("${UNSET:-pre${FOO}post}") == "prefirstpost");
  CHECK(sub("ok ${UNSET-$FOO}") == "ok first");
  CHECK(sub("ok ${UNSET-${FOO} ${FOO}}") == "ok first first");
  CHECK(sub("ok ${EMPTY:-$FOO}") == "ok first");
  CHECK(sub("ok ${EMPTY+$FOO ${FOO:+second}}") == "ok first second");
  CHECK(sub("+ok ${UNSET:-${EMPTY-defaultValue}}") == "+ok ");
  CHECK(sub("${A:-${B:-${C:-deep}}}!") == "deep!");
  CHECK(sub("${UNSET:-$$}") == "$");
  CHECK(sub("${UNSET:-a $ b}") == "a $ b");
  CHECK(sub("${UNSET:-a}b}") == "ab}");
  // Plain braces inside a word pair up, so a JSON default survives.
  CHECK(sub("${UNSET:-{\"a\":{\"b\":1}}}") == "{\"a\":{\"b\":1}}");
  CHECK(sub_error("not ok ${UNSET:?Mandatory Variable ${FOO}}") ==
        "required variable UNSET is missing a value: Mandatory Variable first");
  CHECK(sub_error("${UNSET:-${INNER:?inner missing}}") == "required variable INNER is missing a value: inner missing");
  // Compose evaluates the word before looking at the variable: an error inside it counts even
  // when the variable is set.
  CHECK(sub_error("${FOO:-${INNER:?inner missing}}") == "required variable INNER is missing a value: inner missing");
}

TEST_CASE("interpolation: invalid expressions", "[compose][interpolation]") {
  for (std::string t : {"${", "${}", "${ }", "${ foo}", "${foo }", "${foo!}", "${FOO", "${FOO:-bar", "${FOO BAR}",
                        "${1}", "${FOO:x}", "${FOO:}", "pre ${FOO", "${UNSET:-${}}", "${A:-${B:-x}", "$${FOO} ${"}) {
    CHECK(sub_error(t) == invalid_message(t));
  }
}

TEST_CASE("interpolation: lookup is asked only for names", "[compose][interpolation]") {
  std::vector<std::string> asked;
  Lookup recording = [&asked](const std::string& k) -> std::optional<std::string> {
    asked.push_back(k);
    return std::nullopt;
  };
  std::string error;
  auto r = interpolate_string("$A ${B} ${C:-$D} $$E $1", recording, &error);
  REQUIRE(r);
  CHECK(*r == "   $E $1");
  CHECK(asked == std::vector<std::string>{"A", "B", "D", "C"});

  // No lookup at all: every variable is unset.
  r = interpolate_string("${A:-d}${B}", nullptr, &error);
  REQUIRE(r);
  CHECK(*r == "d");
}

TEST_CASE("interpolation: long and deeply nested templates", "[compose][interpolation]") {
  std::string text;
  for (int i = 0; i < 50000; ++i) text += "${FOO}$$";
  std::string expected;
  for (int i = 0; i < 50000; ++i) expected += "first$";
  CHECK(sub(text) == expected);

  std::string nested;
  for (int i = 0; i < 500; ++i) nested += "${U" + std::to_string(i) + ":-";
  nested += "bottom";
  nested += std::string(500, '}');
  CHECK(sub(nested) == "bottom");
}

TEST_CASE("interpolation: tree scalars are substituted and become strings", "[compose][interpolation]") {
  Node doc = read_doc(R"(services:
  web:
    image: ${IMAGE:-nginx}
    ports:
      - "${PORT}:80"
      - 8080:80
    labels:
      $KEY: value
    command: [echo, "$$HOME", 'single']
    replicas: ${PORT}
    plain: 42
    dollar: cost 5$
    empty:
)");
  Diagnostics diags;
  interpolate_tree(doc, lookup_from(kEnv), diags);
  REQUIRE(diags.empty());
  const Node& web = at(doc, {"services", "web"});
  CHECK(web.find("image")->value == "nginx");
  CHECK(web.find("image")->quoted);
  CHECK(web.find("ports")->items[0].value == "8000:80");
  CHECK(web.find("ports")->items[1].value == "8080:80");
  CHECK_FALSE(web.find("ports")->items[1].quoted);
  // Keys are never substituted.
  REQUIRE(web.find("labels")->entries.size() == 1);
  CHECK(web.find("labels")->entries[0].key == "$KEY");
  CHECK(web.find("command")->items[1].value == "$HOME");
  CHECK(web.find("command")->items[1].quoted);
  CHECK(web.find("command")->items[2].quoted);
  // A substituted number is a string now; typed readers cast it as Compose does.
  CHECK(web.find("replicas")->value == "8000");
  CHECK(web.find("replicas")->quoted);
  CHECK(loose_int(*web.find("replicas")) == 8000);
  CHECK(web.find("plain")->value == "42");
  CHECK_FALSE(web.find("plain")->quoted);
  // Unchanged text keeps its flag even when it holds a $.
  CHECK(web.find("dollar")->value == "cost 5$");
  CHECK_FALSE(web.find("dollar")->quoted);
  CHECK(web.find("empty")->is_null());
}

TEST_CASE("interpolation: tree errors are located and all reported", "[compose][interpolation]") {
  Node doc = read_doc(R"(services:
  web:
    image: ${IMAGE:?set IMAGE}
    ports:
      - "80:80"
      - "${BAD"
    environment:
      A: ${A:-ok}
      B: ${B?}
)");
  Diagnostics diags;
  interpolate_tree(doc, lookup_from({}), diags);
  CHECK(diags.to_string() ==
        "compose.yaml:3:12: services.web.image: required variable IMAGE is missing a value: set IMAGE\n"
        "compose.yaml:6:9: services.web.ports[1]: " + invalid_message("${BAD") + "\n"
        "compose.yaml:9:10: services.web.environment.B: required variable B is missing a value");
  const Node& web = at(doc, {"services", "web"});
  // Failed scalars stay as written; the others are still substituted.
  CHECK(web.find("image")->value == "${IMAGE:?set IMAGE}");
  CHECK(at(web, {"environment", "A"}).value == "ok");
}

TEST_CASE("interpolation: tree paths start at the given root path", "[compose][interpolation]") {
  Node doc = read_doc("image: ${X:?}\nlist:\n  - - a\n    - $${ok}\n    - ${Y:?why}\n");
  Diagnostics diags;
  interpolate_tree(doc, lookup_from({}), diags, "services.web");
  CHECK(diags.to_string() ==
        "compose.yaml:1:8: services.web.image: required variable X is missing a value\n"
        "compose.yaml:5:7: services.web.list[0][2]: required variable Y is missing a value: why");
  CHECK(doc.find("list")->items[0].items[1].value == "${ok}");
}

TEST_CASE("interpolation: huge trees are walked in linear time", "[compose][interpolation]") {
  Node root = Node::mapping();
  Node& seq = root.set("items", Node::sequence());
  for (int i = 0; i < 200000; ++i) seq.items.push_back(Node::scalar(i % 2 ? "${FOO}-" + std::to_string(i) : "plain"));
  Diagnostics diags;
  auto start = std::chrono::steady_clock::now();
  interpolate_tree(root, lookup_from(kEnv), diags);
  auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK(diags.empty());
  CHECK(root.find("items")->items[199999].value == "first-199999");
  CHECK(root.find("items")->items[199998].value == "plain");
  CHECK(elapsed < std::chrono::seconds(5));
}

TEST_CASE("interpolation: load substitutes from the given environment", "[compose][interpolation]") {
  const std::string yaml = "name: ${PROJECT:-fallback}\nservices:\n  web:\n    image: ${IMAGE:-nginx}:${TAG:-latest}\n";
  CHECK(testing::load_ok(yaml).name == "fallback");
  CHECK(testing::load_ok(yaml, {{"PROJECT", "fromenv"}}).name == "fromenv");
  CHECK(testing::service_json(yaml, "web")["image"] == "nginx:latest");
  CHECK(testing::service_json(yaml, "web", {{"IMAGE", "redis"}, {"TAG", "7"}})["image"] == "redis:7");
}

TEST_CASE("interpolation: load reports interpolation errors with position and path", "[compose][interpolation]") {
  std::string err = testing::load_error(
      "name: ${NAME:?project name required}\nservices:\n  web:\n    image: \"${IMG\"\n");
  CHECK(err ==
        "compose.yaml:1:7: name: required variable NAME is missing a value: project name required\n"
        "compose.yaml:4:12: services.web.image: " + invalid_message("${IMG"));
}

TEST_CASE("interpolation: .env in the project directory feeds substitution", "[compose][interpolation]") {
  const std::string yaml = "name: ${NAME}\nservices:\n  web:\n    image: ${IMAGE}\n";
  Files files = {{"/project/.env", "# project defaults\nNAME=fromdotenv\nIMAGE=\"nginx:${TAG:-1.25}\"\n"}};
  auto p = testing::load_ok(yaml, {}, files);
  CHECK(p.name == "fromdotenv");
  CHECK(testing::service_json(yaml, "web", {}, files)["image"] == "nginx:1.25");
  // The process environment overrides .env, and .env values may refer to it.
  CHECK(testing::load_ok(yaml, {{"NAME", "fromprocess"}}, files).name == "fromprocess");
  CHECK(testing::service_json(yaml, "web", {{"TAG", "2"}}, files)["image"] == "nginx:2");
}

TEST_CASE("interpolation: --env-file replaces .env", "[compose][interpolation]") {
  Files files = {{"/project/.env", "NAME=fromdotenv\n"}, {"/project/custom.env", "export NAME=custom\n"}};
  LoadOptions options;
  options.env_files = {"custom.env"};
  CHECK(testing::load_ok("name: ${NAME:-none}\n", {}, files, options).name == "custom");
}

TEST_CASE("interpolation: a broken .env is reported at its line", "[compose][interpolation]") {
  Files files = {{"/project/.env", "GOOD=1\n\nBAD KEY=2\n"}};
  CHECK(testing::load_error("services: {}\n", {}, files) ==
        ".env:3:1: variable name \"BAD KEY\" cannot contain spaces");
}

TEST_CASE("interpolation: interpolate: false leaves values alone", "[compose][interpolation]") {
  LoadOptions options;
  options.interpolate = false;
  auto p = testing::load_ok("name: plain\nservices:\n  web:\n    image: ${IMAGE:?unset}\n", {}, {}, options);
  CHECK(p.name == "plain");
  REQUIRE(p.find_service("web") != nullptr);
  CHECK(p.find_service("web")->image == "${IMAGE:?unset}");
}

}  // namespace
}  // namespace stack::compose
