// Normalisation: profiles, the default network, env_file folding, references, unused objects.
#include <catch2/catch.hpp>

#include "compose/compose_test_util.h"

using namespace stack::compose;
using namespace stack::compose::testing;

namespace {
std::vector<std::string> names(const std::vector<Service>& v) {
  std::vector<std::string> out;
  for (const auto& s : v) out.push_back(s.name);
  return out;
}
}  // namespace

TEST_CASE("normalize: profiles enable services, COMPOSE_PROFILES and targeted services count", "[compose][profiles]") {
  std::string yaml =
      "services:\n"
      "  web: {image: nginx}\n"
      "  debug: {image: busybox, profiles: [debug]}\n"
      "  tools: {image: busybox, profiles: [tools, ops], depends_on: [helper]}\n"
      "  helper: {image: busybox, profiles: [never]}\n";
  Project p = load_ok(yaml);
  CHECK(names(p.services) == std::vector<std::string>{"web"});
  CHECK(names(p.disabled_services) == std::vector<std::string>{"debug", "helper", "tools"});

  LoadOptions o;
  o.profiles = {"debug"};
  CHECK(names(load_ok(yaml, {}, {}, o).services) == std::vector<std::string>{"debug", "web"});
  CHECK(names(load_ok(yaml, {{"COMPOSE_PROFILES", "debug, x"}}).services) == std::vector<std::string>{"debug", "web"});

  // A service named on the command line is enabled, and so is what it depends on.
  LoadOptions t;
  t.services = {"tools"};
  CHECK(names(load_ok(yaml, {}, {}, t).services) == std::vector<std::string>{"helper", "tools", "web"});
  LoadOptions all;
  all.profiles = {"*"};
  CHECK(load_ok(yaml, {}, {}, all).services.size() == 4);
}

TEST_CASE("normalize: a dependency on a service disabled by profiles is an error", "[compose][profiles]") {
  LoadOptions o;
  o.profiles = {"ops"};
  CHECK(load_error("services:\n  a:\n    image: x\n    profiles: [ops]\n    depends_on: [b]\n"
                   "  b:\n    image: y\n    profiles: [other]\n",
                   {}, {}, o) ==
        "compose.yaml:5:5: services.a.depends_on: depends on service \"b\", which is disabled by profiles");
}

TEST_CASE("normalize: services without networks join <project>_default", "[compose][networks]") {
  Project p = load_ok(
      "services:\n  web: {image: nginx}\n  host: {image: nginx, network_mode: host}\n"
      "  other: {image: nginx, networks: [front]}\nnetworks:\n  front: {}\n  unused: {}\n");
  Json j = project_to_json(p);
  CHECK(j["services"]["web"]["networks"].dump() == R"({"default":null})");
  CHECK_FALSE(j["services"]["host"].contains("networks"));
  CHECK(j["networks"].dump() == R"({"default":{"name":"project_default"},"front":{"name":"project_front"}})");
  check_round_trip(p);
}

TEST_CASE("normalize: references to undefined objects are located errors", "[compose][references]") {
  std::string err = load_error(
      "services:\n"
      "  web:\n"
      "    image: nginx\n"
      "    networks: [front]\n"
      "    volumes: [data:/data]\n"
      "    secrets: [token]\n"
      "    depends_on: [db]\n"
      "    links: [cache]\n"
      "    volumes_from: [store, 'container:abc']\n"
      "  side:\n"
      "    image: nginx\n"
      "    network_mode: service:nope\n"
      "  nothing: {}\n");
  // Services are checked in name order: nothing, side, web.
  CHECK(err ==
        "compose.yaml:12:5: services.side.network_mode: refers to undefined service \"nope\"\n"
        "compose.yaml:7:5: services.web.depends_on: depends on undefined service \"db\"\n"
        "compose.yaml:8:13: services.web.links[0]: undefined service \"cache\"\n"
        "compose.yaml:9:20: services.web.volumes_from[0]: undefined service \"store\"\n"
        "compose.yaml:13:3: services.nothing: has neither an image nor a build context specified\n"
        "compose.yaml:4:5: services.web.networks: undefined network \"front\"\n"
        "compose.yaml:5:15: services.web.volumes[0]: undefined volume \"data\"\n"
        "compose.yaml:6:15: services.web.secrets[0]: undefined secret \"token\"");
}

TEST_CASE("normalize: optional dependencies on missing services are dropped", "[compose][references]") {
  Project p = load_ok("services:\n  web:\n    image: x\n    depends_on:\n      db: {condition: service_started, required: false}\n");
  CHECK(p.services[0].depends_on.empty());
}

TEST_CASE("normalize: env_file folds into environment, environment wins, bare keys resolve", "[compose][env_file]") {
  Files files{{"/project/a.env", "A=from_a\nB=from_a\nEXPANDED=${HOST_VAR}-x\n"},
              {"/project/b.env", "B=from_b\nC=from_b\n"},
              {"/project/raw.env", "R=\"$HOST_VAR\" # kept\n"}};
  Project p = load_ok(
      "services:\n  web:\n    image: x\n"
      "    env_file: [a.env, {path: b.env}, {path: missing.env, required: false}, {path: raw.env, format: raw}]\n"
      "    environment:\n      C: from_environment\n      HOST_VAR:\n      UNSET:\n",
      {{"HOST_VAR", "h"}}, files);
  const auto& env = p.services[0].environment;
  CHECK(env.at("A") == "from_a");
  CHECK(env.at("B") == "from_b");
  CHECK(env.at("C") == "from_environment");
  CHECK(env.at("EXPANDED") == "h-x");
  CHECK(env.at("HOST_VAR") == "h");
  CHECK(env.at("R") == "\"$HOST_VAR\" # kept");
  CHECK_FALSE(env.at("UNSET").has_value());
  CHECK(p.services[0].env_file.empty());
  CHECK(project_to_json(p)["services"]["web"]["environment"]["UNSET"].is_null());
  check_round_trip(p, {{"HOST_VAR", "h"}});
}

TEST_CASE("normalize: a required env_file that is missing is a located error", "[compose][env_file]") {
  CHECK(load_error("services:\n  web:\n    image: x\n    env_file: ./nope.env\n") ==
        "compose.yaml:4:5: services.web.env_file: env file /project/nope.env not found");
}

TEST_CASE("normalize: --no-env-resolution keeps env_file and bare keys", "[compose][env_file]") {
  LoadOptions o;
  o.resolve_environment = false;
  Project p = load_ok("services:\n  web:\n    image: x\n    env_file: a.env\n    environment: [HOST_VAR]\n",
                      {{"HOST_VAR", "h"}}, {{"/project/a.env", "A=1\n"}}, o);
  CHECK(p.services[0].env_file.size() == 1);
  CHECK_FALSE(p.services[0].environment.at("HOST_VAR").has_value());
}

TEST_CASE("normalize: label_file folds into labels, labels win", "[compose][label_file]") {
  Project p = load_ok("services:\n  web:\n    image: x\n    label_file: ./l.txt\n    labels: {b: mine}\n", {},
                      {{"/project/l.txt", "a=1\nb=2\n"}});
  CHECK(p.services[0].labels == Mapping{{"a", "1"}, {"b", "mine"}});
  CHECK(p.services[0].label_file.empty());
}

TEST_CASE("normalize: unused top-level objects are dropped, used ones named", "[compose][references]") {
  Project p = load_ok(
      "services:\n  web:\n    image: x\n    volumes: [data:/d]\n    secrets: [s]\n"
      "volumes: {data: {}, spare: {}}\nsecrets: {s: {file: ./s.txt}, t: {file: ./t.txt}}\n");
  CHECK(p.volumes.size() == 1);
  CHECK(p.volumes.at("data").name == "project_data");
  CHECK(p.secrets.size() == 1);
  CHECK(p.secrets.at("s").file == "/project/s.txt");
}
