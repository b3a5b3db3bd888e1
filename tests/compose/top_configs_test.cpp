// Top-level configs.
#include "compose_test_util.h"

using namespace stack::compose;
using namespace stack::compose::testing;

namespace {

const char* kServices = "services:\n  web:\n    image: nginx\n";

// Compose drops configs no service uses, so `web` uses every one a test checks.
const char* kServicesUsingAll =
    "services:\n  web:\n    image: nginx\n    configs: [nginx_conf, inline, from_env, outside]\n";

}  // namespace

TEST_CASE("top_configs: sources, names and attributes in canonical form", "[compose][top_configs]") {
  Project p = load_ok(std::string(kServicesUsingAll) +
                      "configs:\n"
                      "  nginx_conf:\n"
                      "    file: conf/nginx.conf\n"
                      "    labels:\n"
                      "      role: proxy\n"
                      "  inline:\n"
                      "    content: |\n"
                      "      listen 80;\n"
                      "      root /srv;\n"
                      "    template_driver: golang\n"
                      "  from_env:\n"
                      "    environment: APP_CONFIG\n"
                      "    name: app-config\n"
                      "  outside:\n"
                      "    external: true\n"
                      "    name: shared-config\n");
  CHECK(project_to_json(p).at("configs").dump() ==
        R"({"from_env":{"name":"app-config","environment":"APP_CONFIG"},)"
        R"("inline":{"name":"project_inline","content":"listen 80;\nroot /srv;\n","template_driver":"golang"},)"
        R"("nginx_conf":{"name":"project_nginx_conf","file":"/project/conf/nginx.conf","labels":{"role":"proxy"}},)"
        R"("outside":{"name":"shared-config","external":true}})");
  check_round_trip(p);
}

TEST_CASE("top_configs: a missing or doubled source and wrong keys are all reported", "[compose][top_configs]") {
  std::string err = load_error(std::string(kServices) +
                               "configs:\n"
                               "  none:\n"
                               "    template_driver: golang\n"
                               "  three:\n"
                               "    content: x\n"
                               "    file: a.conf\n"
                               "    environment: A\n"
                               "  drv:\n"
                               "    driver: custom\n"
                               "  typed:\n"
                               "    content: {a: b}\n");
  CHECK(err ==
        "compose.yaml:6:5: configs.none: one of file|environment|content must be set\n"
        "compose.yaml:9:5: configs.three: file|environment|content attributes are mutually exclusive\n"
        "compose.yaml:12:5: configs.drv: unknown key \"driver\"\n"
        "compose.yaml:14:14: configs.typed.content: must be a string, not a mapping");
}
