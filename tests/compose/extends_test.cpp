// extends: same file and other files, nested chains, merge rules, cycles and missing services.
#include "extends.h"
#include "merge_test_util.h"

using namespace stack::compose;
using namespace stack::compose::testing;

namespace {

// Other files by absolute path under /project, loaded as the loader would: parsed and their
// own extends resolved.
struct FakeFiles {
  std::map<std::string, std::string> files;
  Diagnostics diags;
  DocumentLoader loader;

  explicit FakeFiles(std::map<std::string, std::string> f) : files(std::move(f)) {
    loader = [this](const std::string& path, const Mark& at) -> std::optional<Node> {
      auto it = files.find(path);
      if (it == files.end()) {
        diags.error(at, "", "cannot read " + path);
        return std::nullopt;
      }
      Node doc = parse_node(it->second, path.substr(std::string("/project/").size()));
      resolve_extends(doc, path, loader, diags);
      return doc;
    };
  }

  // Resolves extends in `yaml` as /project/compose.yaml; returns the services as JSON text.
  std::string resolve(const std::string& yaml) {
    Node doc = parse_node(yaml);
    resolve_extends(doc, "/project/compose.yaml", loader, diags);
    finish_merge(doc);
    const Node* services = doc.find("services");
    return services ? node_to_json(*services).dump() : std::string("null");
  }
};

std::string resolve_ok(const std::string& yaml, std::map<std::string, std::string> files = {}) {
  FakeFiles f(std::move(files));
  std::string out = f.resolve(yaml);
  INFO(f.diags.to_string());
  CHECK(f.diags.empty());
  return out;
}

std::string resolve_errors(const std::string& yaml, std::map<std::string, std::string> files = {}) {
  FakeFiles f(std::move(files));
  f.resolve(yaml);
  return f.diags.to_string();
}

}  // namespace

TEST_CASE("extends: a service of the same file is the starting point", "[compose][extends]") {
  CHECK(resolve_ok(R"(
services:
  base:
    image: alpine
    environment: [A=1]
    depends_on: [db]
  web:
    extends: base
    command: run
  db:
    image: postgres
)") == R"({"base":{"image":"alpine","environment":["A=1"],"depends_on":["db"]},)"
      R"("web":{"image":"alpine","environment":["A=1"],"depends_on":["db"],"command":"run"},)"
      R"("db":{"image":"postgres"}})");
}

TEST_CASE("extends: the extending service merges over its base with the merge rules", "[compose][extends]") {
  CHECK(resolve_ok(R"(
services:
  web:
    extends:
      service: base
    ports: ["8080:80"]
    environment: {B: "2"}
    command: ["b"]
    user: !reset
  base:
    image: alpine
    user: root
    ports: ["80:80", "8443:443"]
    environment: [A=1]
    command: ["a", "x"]
)") == R"({"web":{"image":"alpine","ports":["80:80","8443:443","8080:80"],"environment":{"A":"1","B":"2"},)"
      R"("command":["b"]},"base":{"image":"alpine","user":"root","ports":["80:80","8443:443"],)"
      R"("environment":["A=1"],"command":["a","x"]}})");
}

TEST_CASE("extends: chains resolve from the innermost base", "[compose][extends]") {
  CHECK(resolve_ok(R"(
services:
  c: {extends: b, labels: [level=c]}
  b: {extends: a, labels: [level=b, b=1]}
  a: {image: alpine, labels: [level=a]}
)") == R"({"c":{"image":"alpine","labels":["level=c","b=1"]},"b":{"image":"alpine","labels":["level=b","b=1"]},)"
      R"("a":{"image":"alpine","labels":["level=a"]}})");
}

TEST_CASE("extends: a circular reference names the chain", "[compose][extends]") {
  CHECK(resolve_errors(R"(services:
  a:
    image: x
    extends: b
  b:
    extends:
      service: a
)") == "compose.yaml:4:5: services.a.extends: circular reference: a -> b -> a");
  CHECK(resolve_errors("services:\n  a:\n    extends: a\n") ==
        "compose.yaml:3:5: services.a.extends: circular reference: a -> a");
}

TEST_CASE("extends: a missing base service is an error naming it and the file", "[compose][extends]") {
  CHECK(resolve_errors("services:\n  web:\n    extends: nope\n") ==
        "compose.yaml:3:5: services.web.extends: cannot extend service \"web\": service \"nope\" not found in "
        "compose.yaml");
  CHECK(resolve_errors("services:\n  web:\n    extends: {file: other.yml, service: nope}\n",
                       {{"/project/other.yml", "services: {app: {image: a}}"}}) ==
        "compose.yaml:3:5: services.web.extends: cannot extend service \"web\": service \"nope\" not found in "
        "other.yml");
  CHECK(resolve_errors("services:\n  web:\n    extends: {file: missing.yml, service: app}\n") ==
        "compose.yaml:3:5: cannot read /project/missing.yml");
}

TEST_CASE("extends: malformed extends values are reported", "[compose][extends]") {
  CHECK(resolve_errors("services:\n  web:\n    extends: [a]\n") ==
        "compose.yaml:3:14: services.web.extends: must be a service name or a mapping with service and file, not a "
        "sequence");
  CHECK(resolve_errors("services:\n  a: {}\n  web:\n    extends: {service: a, path: x}\n") ==
        "compose.yaml:4:27: services.web.extends: unknown key \"path\"");
  CHECK(resolve_errors("services:\n  web:\n    extends: {file: x.yml}\n") ==
        "compose.yaml:3:5: services.web.extends: missing required key \"service\"");
}

TEST_CASE("extends: a service from another file has its relative paths rebased", "[compose][extends]") {
  std::string common = R"(
services:
  app:
    build: .
    env_file: [.env, {path: ./extra.env}]
    label_file: labels.txt
    volumes:
      - ./data:/data
      - ../shared:/shared
      - ~/cache:/cache
      - named:/named
      - {type: bind, source: ./conf, target: /conf}
      - {type: volume, source: vol, target: /vol}
)";
  CHECK(resolve_ok(R"(
services:
  web:
    extends: {file: common/base.yml, service: app}
    env_file: local.env
)",
                   {{"/project/common/base.yml", common}}) ==
        R"({"web":{"build":"/project/common","env_file":["/project/common/.env",{"path":"/project/common/extra.env"},)"
        R"("local.env"],"label_file":"/project/common/labels.txt","volumes":["/project/common/data:/data",)"
        R"("/project/shared:/shared","~/cache:/cache","named:/named",)"
        R"({"type":"bind","source":"/project/common/conf","target":"/conf"},)"
        R"({"type":"volume","source":"vol","target":"/vol"}]}})");
}

TEST_CASE("extends: nested across files, each file relative to the file naming it", "[compose][extends]") {
  std::map<std::string, std::string> files = {
      {"/project/sub/a.yml", "services: {a: {extends: {file: ../lib/b.yml, service: b}, env_file: a.env}}"},
      {"/project/lib/b.yml", "services: {b: {build: {context: ctx}, env_file: b.env}}"},
  };
  CHECK(resolve_ok("services: {web: {extends: {file: sub/a.yml, service: a}}}", files) ==
        R"({"web":{"build":{"context":"/project/lib/ctx"},"env_file":["/project/lib/b.env","/project/sub/a.env"]}})");
}

TEST_CASE("extends: a circular reference across files names the chain", "[compose][extends]") {
  std::map<std::string, std::string> files = {{"/project/other.yml", "services:\n  b:\n    extends: {file: compose.yaml, service: a}\n"}};
  CHECK(resolve_errors("services:\n  a:\n    extends: {file: other.yml, service: b}\n", files) ==
        "compose.yaml:3:5: services.a.extends: circular reference: a -> b (other.yml) -> a");
}

TEST_CASE("extends: the same file named explicitly is the same file", "[compose][extends]") {
  CHECK(resolve_ok("services: {a: {image: x}, b: {extends: {file: ./compose.yaml, service: a}, user: u}}") ==
        R"({"a":{"image":"x"},"b":{"image":"x","user":"u"}})");
}

TEST_CASE("extends: files extending each other without a cycle", "[compose][extends]") {
  std::map<std::string, std::string> files = {
      {"/project/other.yml", "services:\n  b: {extends: {file: compose.yaml, service: a}, user: b}\n  c: {image: c}\n"}};
  CHECK(resolve_ok("services:\n  a: {extends: {file: other.yml, service: c}, user: a}\n", files) ==
        R"({"a":{"image":"c","user":"a"}})");
  CHECK(resolve_ok("services:\n  a: {image: a}\n  d: {extends: {file: other.yml, service: b}}\n", files) ==
        R"({"a":{"image":"a"},"d":{"image":"a","user":"b"}})");
}
