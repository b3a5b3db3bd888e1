#include "compose_test_util.h"

using namespace stack::compose;
using namespace stack::compose::testing;

namespace {

const char kFullDeploy[] =
    "services:\n"
    "  web:\n"
      "    image: alpine\n"
    "    deploy:\n"
    "      mode: replicated\n"
    "      replicas: 6\n"
    "      labels: [FOO=BAR, EMPTY]\n"
    "      update_config:\n"
    "        parallelism: 3\n"
    "        delay: 10s\n"
    "        failure_action: continue\n"
    "        monitor: 60s\n"
    "        max_failure_ratio: 0.3\n"
    "        order: start-first\n"
    "      rollback_config:\n"
    "        parallelism: \"2\"\n"
    "        delay: 1m30s\n"
    "        failure_action: pause\n"
    "      resources:\n"
    "        limits:\n"
    "          cpus: '0.50'\n"
    "          memory: 50M\n"
    "          pids: 100\n"
    "        reservations:\n"
    "          cpus: 0.25\n"
    "          memory: 20m\n"
    "          generic_resources:\n"
    "            - discrete_resource_spec: {kind: gpu, value: 2}\n"
    "          devices:\n"
    "            - capabilities: [gpu]\n"
    "              driver: nvidia\n"
    "              count: all\n"
    "      restart_policy:\n"
    "        condition: on-failure\n"
    "        delay: 5s\n"
    "        max_attempts: 3\n"
    "        window: 120s\n"
    "      placement:\n"
    "        constraints: [node.role==manager]\n"
    "        preferences:\n"
    "          - spread: node.labels.az\n"
    "        max_replicas_per_node: 5\n"
    "      endpoint_mode: dnsrr\n"
    "      x-note: hi\n";

Json deploy_of(const std::string& body) {
  return service_json("services:\n  web:\n    image: alpine\n    deploy:" + body, "web").at("deploy");
}

}  // namespace

TEST_CASE("deploy: every attribute in its canonical form", "[compose][deploy]") {
  Json d = service_json(kFullDeploy, "web").at("deploy");
  CHECK(d.dump() ==
        R"({"mode":"replicated","replicas":6,"labels":{"EMPTY":"","FOO":"BAR"},)"
        R"("update_config":{"parallelism":3,"delay":"10s","failure_action":"continue","monitor":"1m0s",)"
        R"("max_failure_ratio":0.3,"order":"start-first"},)"
        R"("rollback_config":{"parallelism":2,"delay":"1m30s","failure_action":"pause"},)"
        R"("resources":{"limits":{"cpus":0.5,"memory":"52428800","pids":100},)"
        R"("reservations":{"cpus":0.25,"memory":"20971520",)"
        R"("devices":[{"capabilities":["gpu"],"count":-1,"driver":"nvidia"}],)"
        R"("generic_resources":[{"discrete_resource_spec":{"kind":"gpu","value":2}}]}},)"
        R"("restart_policy":{"condition":"on-failure","delay":"5s","max_attempts":3,"window":"2m0s"},)"
        R"("placement":{"constraints":["node.role==manager"],"preferences":[{"spread":"node.labels.az"}],)"
        R"("max_replicas_per_node":5},"endpoint_mode":"dnsrr","x-note":"hi"})");
}

// compose-go's DeployConfig holds Resources and Placement as plain structs; encoding/json ignores
// omitempty on structs, so `docker compose config --format json` prints both even when absent.
TEST_CASE("deploy: resources and placement are always printed, as Compose does", "[compose][deploy]") {
  CHECK(deploy_of(" {}\n").dump() == R"({"resources":{},"placement":{}})");
  CHECK(deploy_of(" {replicas: 2, resources: {limits: {cpus: \"0.5\", memory: 256M}}}\n").dump() ==
        R"({"replicas":2,"resources":{"limits":{"cpus":0.5,"memory":"268435456"}},"placement":{}})");
  CHECK(deploy_of("\n      replicas: 2\n      placement: {}\n").dump() ==
        R"({"replicas":2,"resources":{},"placement":{}})");
  CHECK(deploy_of("\n      resources:\n        limits: {}\n").dump() ==
        R"({"resources":{"limits":{}},"placement":{}})");
}

TEST_CASE("deploy: null is unset", "[compose][deploy]") {
  Project p = load_ok("services:\n  web:\n    image: alpine\n    deploy:\n");
  CHECK_FALSE(p.services[0].deploy.has_value());
  CHECK_FALSE(service_json("services:\n  web:\n    image: alpine\n    deploy: null\n", "web").contains("deploy"));
}

TEST_CASE("deploy: numbers written as strings and whole CPU counts", "[compose][deploy]") {
  Json d = deploy_of(
      "\n"
      "      replicas: \"3\"\n"
      "      resources:\n"
      "        limits: {cpus: \"2\", memory: \"1073741824\", pids: \"-1\"}\n"
      "      restart_policy: {max_attempts: \"0\"}\n"
      "      placement: {max_replicas_per_node: \"1\"}\n");
  CHECK(d.dump() ==
        R"({"replicas":3,"resources":{"limits":{"cpus":2,"memory":"1073741824","pids":-1}},)"
        R"("restart_policy":{"max_attempts":0},"placement":{"max_replicas_per_node":1}})");
}

TEST_CASE("deploy: model values", "[compose][deploy]") {
  Project p = load_ok(kFullDeploy);
  const Deploy& d = *p.services[0].deploy;
  CHECK(d.replicas == 6);
  CHECK(d.update_config->monitor == Duration{60'000'000'000});
  CHECK(d.limits->cpus == 0.5);
  CHECK(d.limits->memory == 50 * 1024 * 1024);
  CHECK(d.reservations->devices.at(0).count == -1);
  CHECK(d.restart_policy->window == Duration{120'000'000'000});
  CHECK(d.placement->preferences == std::vector<std::string>{"spread=node.labels.az"});
}

TEST_CASE("deploy: every invalid value is reported with its position", "[compose][deploy]") {
  std::string err = load_error(
      "services:\n"
      "  web:\n"
      "    image: alpine\n"
      "    deploy:\n"
      "      mode: swarm\n"
      "      replicas: -1\n"
      "      update_config:\n"
      "        delay: soon\n"
      "        failure_action: explode\n"
      "        order: first\n"
      "      resources:\n"
      "        limits:\n"
      "          devices: []\n"
      "          memory: lots\n"
      "        reservations:\n"
      "          devices:\n"
      "            - driver: nvidia\n"
      "              count: 1\n"
      "              device_ids: [\"0\"]\n"
      "          generic_resources:\n"
      "            - kind: ssd\n"
      "      restart_policy:\n"
      "        condition: always\n"
      "      placement:\n"
      "        preferences: [{zone: a}]\n"
      "      endpoint_mode: round-robin\n"
      "      bogus: 1\n");
  CHECK(err ==
        "compose.yaml:27:7: services.web.deploy: unknown key \"bogus\"\n"
        "compose.yaml:5:13: services.web.deploy.mode: invalid value \"swarm\" "
        "(expected one of: replicated, global, replicated-job, global-job)\n"
        "compose.yaml:6:17: services.web.deploy.replicas: must be a non-negative integer, not -1\n"
        "compose.yaml:8:16: services.web.deploy.update_config.delay: invalid duration \"soon\" "
        "(expected e.g. \"10s\", \"1m30s\", \"500ms\")\n"
        "compose.yaml:9:25: services.web.deploy.update_config.failure_action: invalid value \"explode\" "
        "(expected one of: continue, rollback, pause)\n"
        "compose.yaml:10:16: services.web.deploy.update_config.order: invalid value \"first\" "
        "(expected one of: start-first, stop-first)\n"
        "compose.yaml:13:11: services.web.deploy.resources.limits: unknown key \"devices\"\n"
        "compose.yaml:14:19: services.web.deploy.resources.limits.memory: invalid size \"lots\" "
        "(expected bytes or a number with a unit: b, k, m, g)\n"
        "compose.yaml:17:15: services.web.deploy.resources.reservations.devices[0]: "
        "missing required key \"capabilities\"\n"
        "compose.yaml:17:15: services.web.deploy.resources.reservations.devices[0]: "
        "\"count\" and \"device_ids\" are mutually exclusive\n"
        "compose.yaml:21:15: services.web.deploy.resources.reservations.generic_resources[0]: "
        "unknown key \"kind\"\n"
        "compose.yaml:21:15: services.web.deploy.resources.reservations.generic_resources[0]: "
        "missing required key \"discrete_resource_spec\"\n"
        "compose.yaml:23:20: services.web.deploy.restart_policy.condition: invalid value \"always\" "
        "(expected one of: none, on-failure, any)\n"
        "compose.yaml:25:24: services.web.deploy.placement.preferences[0]: unknown key \"zone\"\n"
        "compose.yaml:26:22: services.web.deploy.endpoint_mode: invalid value \"round-robin\" "
        "(expected one of: vip, dnsrr)");
}

TEST_CASE("deploy: round trip through the canonical JSON", "[compose][deploy]") {
  Project p = load_ok(std::string(kFullDeploy) +
                      "  empty:\n"
      "    image: alpine\n"
                      "    deploy: {}\n"
                      "  job:\n"
      "    image: alpine\n"
                      "    deploy:\n"
                      "      mode: global-job\n"
                      "      placement:\n"
                      "        preferences: [{}]\n"
                      "      resources:\n"
                      "        reservations:\n"
                      "          devices:\n"
                      "            - capabilities: [tpu]\n"
                      "              device_ids: [a, b]\n"
                      "              options: {x: \"1\"}\n");
  CHECK(p.find_service("empty")->deploy == Deploy{});
  check_round_trip(p);
}
