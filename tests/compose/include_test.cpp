// include: entries, requests passed to the loader, imported resources and conflicts; end to end
// through the loader for relative paths and include cycles.
#include "compose_test_util.h"
#include "include.h"
#include "merge_test_util.h"

using namespace stack::compose;
using namespace stack::compose::testing;

namespace {

struct FakeIncludes {
  std::map<std::string, std::string> files;  // first path of a request → document
  std::vector<IncludeRequest> requests;
  Diagnostics diags;

  std::string resolve(const std::string& yaml) {
    Node doc = parse_node(yaml);
    IncludeLoader loader = [this](const IncludeRequest& r) -> std::optional<Node> {
      requests.push_back(r);
      auto it = files.find(r.paths.front());
      if (it == files.end()) {
        diags.error(r.at, "", "cannot read " + r.paths.front());
        return std::nullopt;
      }
      return parse_node(it->second, "included.yaml");
    };
    resolve_includes(doc, "/project/compose.yaml", loader, diags);
    return node_to_json(doc).dump();
  }
};

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

}  // namespace

TEST_CASE("include: resources of included files are imported and the key removed", "[compose][include]") {
  FakeIncludes f;
  f.files["/project/sub/db.yaml"] = R"(
services: {db: {image: postgres}}
networks: {back: {driver: bridge}}
volumes: {data: {}}
secrets: {pw: {file: /project/sub/pw.txt}}
configs: {conf: {file: /project/sub/c.conf}}
x-ignored: 1
)";
  CHECK(f.resolve("include: [sub/db.yaml]\nservices: {web: {image: nginx}}\n") ==
        R"({"services":{"web":{"image":"nginx"},"db":{"image":"postgres"}},"networks":{"back":{"driver":"bridge"}},)"
        R"("volumes":{"data":{}},"secrets":{"pw":{"file":"/project/sub/pw.txt"}},)"
        R"("configs":{"conf":{"file":"/project/sub/c.conf"}}})");
  CHECK(f.diags.empty());
  REQUIRE(f.requests.size() == 1);
  CHECK(join(f.requests[0].paths) == "/project/sub/db.yaml");
  CHECK(f.requests[0].project_directory.empty());
  CHECK(f.requests[0].env_files.empty());
  CHECK(f.requests[0].at.to_string() == "compose.yaml:1:11");
}

TEST_CASE("include: the long syntax sets paths, project directory and env files", "[compose][include]") {
  FakeIncludes f;
  f.files["/project/a.yaml"] = "services: {a: {image: a}}";
  f.resolve(R"(
include:
  - path: [a.yaml, ../b/override.yaml]
    project_directory: ./app
    env_file: [.env, /etc/app.env]
  - path: /abs/c.yaml
    env_file: c.env
)");
  CHECK(f.diags.to_string() == "compose.yaml:6:5: cannot read /abs/c.yaml");
  REQUIRE(f.requests.size() == 2);
  CHECK(join(f.requests[0].paths) == "/project/a.yaml,/b/override.yaml");
  CHECK(f.requests[0].project_directory == "/project/app");
  CHECK(join(f.requests[0].env_files) == "/project/.env,/etc/app.env");
  CHECK(join(f.requests[1].paths) == "/abs/c.yaml");
  CHECK(join(f.requests[1].env_files) == "/project/c.env");
}

TEST_CASE("include: a resource defined differently by both files conflicts", "[compose][include]") {
  FakeIncludes f;
  f.files["/project/inc.yaml"] = "services: {web: {image: nginx, ports: ['80:80']}, db: {image: pg}}\n"
                                 "networks: {front: {}, back: {}}";
  f.resolve(R"(include: [inc.yaml]
services:
  web:
    ports: ["80:80"]
    image: nginx
  db:
    image: mysql
networks:
  front: {driver: overlay}
  back:
)");
  CHECK(f.diags.to_string() == "compose.yaml:6:3: services.db: conflicts with imported resource\n"
                               "compose.yaml:9:3: networks.front: conflicts with imported resource");
}

TEST_CASE("include: malformed entries are reported", "[compose][include]") {
  FakeIncludes f;
  f.resolve("include: inc.yaml\n");
  f.resolve("include:\n  - {env_file: x}\n  - {path: a.yaml, other: 1}\n  - [a]\n  - {path: ''}\n");
  CHECK(f.diags.to_string() ==
        "compose.yaml:1:10: include: must be a list of files to include, not a string\n"
        "compose.yaml:2:5: include[0]: missing required key \"path\"\n"
        "compose.yaml:3:20: include[1]: unknown key \"other\"\n"
        "compose.yaml:4:5: include[2]: must be a path or a mapping with path, project_directory and env_file, not "
        "a sequence\n"
        "compose.yaml:5:12: include[3].path: must be a non-empty string, not empty");
  CHECK(f.requests.empty());
}

TEST_CASE("include: end to end, paths relative to the including file", "[compose][include]") {
  Files files = {
      {"/project/sub/inc.yaml", "include: [../lib/db.yaml]\nservices: {api: {image: api, build: ./src}}\n"},
      {"/project/lib/db.yaml", "services: {db: {image: postgres}}\n"},
  };
  Project p = load_ok("include: [sub/inc.yaml]\nservices: {web: {image: nginx}}\n", {}, files);
  std::vector<std::string> names;
  for (const auto& s : p.services) names.push_back(s.name);
  CHECK(join(names) == "api,db,web");
  const Service* api = p.find_service("api");
  REQUIRE(api != nullptr);
  REQUIRE(api->build.has_value());
  CHECK(service_to_json(*api)["build"]["context"] == "/project/sub/src");
}

TEST_CASE("include: end to end, a conflict and an include cycle are errors", "[compose][include]") {
  CHECK(load_error("include: [inc.yaml]\nservices:\n  web:\n    image: a\n", {},
                   {{"/project/inc.yaml", "services: {web: {image: b}}"}}) ==
        "compose.yaml:3:3: services.web: conflicts with imported resource");
  std::string cycle = load_error("include: [a.yaml]\nservices: {web: {image: a}}\n", {},
                                 {{"/project/a.yaml", "include: [b.yaml]\n"},
                                  {"/project/b.yaml", "include:\n  - compose.yaml\n"}});
  CHECK(cycle == "b.yaml:2:5: include cycle: compose.yaml -> a.yaml -> b.yaml -> compose.yaml");
}
