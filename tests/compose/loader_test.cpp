// The loader's orchestration: which files, which environment, which project name.
#include <catch2/catch.hpp>

#include "compose/compose_test_util.h"

using namespace stack::compose;
using namespace stack::compose::testing;

namespace {
stack::Result<Project> load_in(const std::string& cwd, const Files& files, LoadOptions o = {}, const Env& env = {}) {
  MemoryFileSource fs(files);
  o.working_dir = cwd;
  o.environment = env;
  return load(o, fs);
}
}  // namespace

TEST_CASE("loader: discovery finds compose.yaml upward and merges the override beside it", "[compose][loader]") {
  Files files{{"/src/app/compose.yaml", "services:\n  web: {image: a}\n  db: {image: b}\n"},
              {"/src/app/compose.override.yaml", "services:\n  debug: {image: c}\n"},
              {"/src/app/docker-compose.yml", "services:\n  ignored: {image: d}\n"}};
  auto r = load_in("/src/app/deep/er", files);
  REQUIRE(r.ok());
  CHECK(r->working_dir == "/src/app");
  CHECK(r->name == "app");
  REQUIRE(r->services.size() == 3);
  CHECK(r->services[0].name == "db");
  CHECK(r->services[1].name == "debug");
  CHECK(r->config_files == std::vector<std::string>{"/src/app/compose.yaml", "/src/app/compose.override.yaml"});
}

TEST_CASE("loader: discovery order prefers compose.yaml over docker-compose.yml", "[compose][loader]") {
  auto r = load_in("/w", {{"/w/docker-compose.yml", "services:\n  old: {image: a}\n"}, {"/w/compose.yml", "services:\n  new: {image: b}\n"}});
  REQUIRE(r.ok());
  CHECK(r->config_files == std::vector<std::string>{"/w/compose.yml"});
}

TEST_CASE("loader: no file found is a clear error", "[compose][loader]") {
  auto r = load_in("/empty", {});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().to_string().find("no configuration file provided") == 0);
}

TEST_CASE("loader: COMPOSE_FILE lists files with the path separator", "[compose][loader]") {
  Files files{{"/w/a.yml", "services:\n  a: {image: a}\n"}, {"/w/b.yml", "services:\n  b: {image: b}\n"}};
  auto r = load_in("/w", files, {}, {{"COMPOSE_FILE", "a.yml:b.yml"}});
  REQUIRE(r.ok());
  CHECK(r->config_files == std::vector<std::string>{"/w/a.yml", "/w/b.yml"});
  // COMPOSE_FILE may also come from the working directory's .env.
  files["/w/.env"] = "COMPOSE_FILE=b.yml\n";
  auto r2 = load_in("/w", files);
  REQUIRE(r2.ok());
  CHECK(r2->config_files == std::vector<std::string>{"/w/b.yml"});
}

TEST_CASE("loader: a missing -f file is reported by name", "[compose][loader]") {
  LoadOptions o;
  o.files = {"nope.yml"};
  auto r = load_in("/w", {}, o);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().to_string() == "nope.yml: cannot read nope.yml: /w/nope.yml: No such file or directory");
}

TEST_CASE("loader: project name precedence -p, COMPOSE_PROJECT_NAME, name:, directory", "[compose][loader]") {
  Files files{{"/w/My_App.d/compose.yaml", "name: fromfile\nservices: {}\n"}};
  LoadOptions o;
  o.project_name = "cli";
  CHECK(load_in("/w/My_App.d", files, o, {{"COMPOSE_PROJECT_NAME", "env"}})->name == "cli");
  CHECK(load_in("/w/My_App.d", files, {}, {{"COMPOSE_PROJECT_NAME", "env"}})->name == "env");
  CHECK(load_in("/w/My_App.d", files)->name == "fromfile");
  files["/w/My_App.d/compose.yaml"] = "services: {}\n";
  // The directory name is normalised: lower case, only [a-z0-9_-].
  CHECK(load_in("/w/My_App.d", files)->name == "my_appd");
}

TEST_CASE("loader: invalid explicit project names are rejected", "[compose][loader]") {
  Files files{{"/w/compose.yaml", "name: Bad.Name\nservices: {}\n"}};
  auto r = load_in("/w", files);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().to_string().find("compose.yaml:1:7: invalid project name \"Bad.Name\"") == 0);
  LoadOptions o;
  o.project_name = "-x";
  CHECK_FALSE(load_in("/w", {{"/w/compose.yaml", "services: {}\n"}}, o).ok());
}

TEST_CASE("loader: unknown top-level keys are errors, x- keys are kept", "[compose][loader]") {
  std::string err = load_error("services: {}\nservice: {}\nx-extra: {a: 1}\nmodels: {}\n");
  CHECK(err ==
        "compose.yaml:2:1: unknown top-level key \"service\"\n"
        "compose.yaml:4:1: not supported yet: models");
  Project p = load_ok("services: {}\nx-extra: {a: 1}\nversion: '3.8'\n");
  CHECK(project_to_json(p)["x-extra"].dump() == R"({"a":1})");
}

TEST_CASE("loader: the top level must be a mapping", "[compose][loader]") {
  CHECK(load_error("- a\n- b\n") ==
        "compose.yaml:1:1: a Compose file must be a mapping at the top level, not a sequence");
  CHECK(load_error("services: [web]\n") == "compose.yaml:1:11: services: must be a mapping, not a sequence");
}

TEST_CASE("loader: -f - reads the content given as stdin", "[compose][loader]") {
  LoadOptions o;
  o.files = {"-"};
  o.stdin_content = "name: piped\nservices:\n  web: {image: a}\n";
  auto r = load_in("/w", {}, o);
  REQUIRE(r.ok());
  CHECK(r->name == "piped");
  CHECK(r->working_dir == "/w");
}

TEST_CASE("loader: unknown service keys are errors naming the key", "[compose][loader]") {
  CHECK(load_error("services:\n  web:\n    imag: nginx\n") == "compose.yaml:3:5: services.web: unknown key \"imag\"");
}

TEST_CASE("loader: unset variables substituted by blanks are warned about once each", "[compose][loader]") {
  std::vector<std::string> warnings;
  LoadOptions o;
  o.warnings = &warnings;
  Project p = load_ok("services:\n  web:\n    image: nginx:${TAG}\n    environment:\n      - A=$TAG\n      - B=${B:-x}\n      - C=${C-}\n",
                      {}, {}, o);
  CHECK(p.services[0].image == "nginx:");
  CHECK(warnings == std::vector<std::string>{"The \"TAG\" variable is not set. Defaulting to a blank string."});
}
