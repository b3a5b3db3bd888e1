// Top-level secrets.
#include "compose_test_util.h"

using namespace stack::compose;
using namespace stack::compose::testing;

namespace {

const char* kServices = "services:\n  web:\n    image: nginx\n";

// Compose drops secrets no service uses, so `web` uses every one a test checks.
const char* kServicesUsingAll =
    "services:\n  web:\n    image: nginx\n    secrets: [db_password, token, vault, outside, legacy, home]\n";

}  // namespace

TEST_CASE("top_secrets: sources, names and attributes in canonical form", "[compose][top_secrets]") {
  Project p = load_ok(std::string(kServicesUsingAll) +
                      "secrets:\n"
                      "  db_password:\n"
                      "    file: ./secrets/../db.txt\n"
                      "    labels: [tier=db]\n"
                      "    template_driver: golang\n"
                      "  token:\n"
                      "    environment: API_TOKEN\n"
                      "    name: api-token\n"
                      "  vault:\n"
                      "    driver: vault\n"
                      "    driver_opts:\n"
                      "      path: kv/app\n"
                      "  outside:\n"
                      "    external: true\n"
                      "  legacy:\n"
                      "    external:\n"
                      "      name: old-secret\n"
                      "  home:\n"
                      "    file: ~/key.pem\n"
                      "    x-rotate: weekly\n",
                      {{"HOME", "/home/me"}});
  CHECK(project_to_json(p).at("secrets").dump() ==
        R"({"db_password":{"name":"project_db_password","file":"/project/db.txt","labels":{"tier":"db"},)"
        R"("template_driver":"golang"},)"
        R"("home":{"name":"project_home","file":"/home/me/key.pem","x-rotate":"weekly"},)"
        R"("legacy":{"name":"old-secret","external":true},)"
        R"("outside":{"name":"outside","external":true},)"
        R"("token":{"name":"api-token","environment":"API_TOKEN"},)"
        R"("vault":{"name":"project_vault","driver":"vault","driver_opts":{"path":"kv/app"}}})");
  check_round_trip(p, {{"HOME", "/home/me"}});
}

TEST_CASE("top_secrets: a missing or doubled source and wrong keys are all reported", "[compose][top_secrets]") {
  std::string err = load_error(std::string(kServices) +
                               "secrets:\n"
                               "  none:\n"
                               "    labels: {a: b}\n"
                               "  two:\n"
                               "    file: a.txt\n"
                               "    environment: A\n"
                               "  inline:\n"
                               "    content: hello\n"
                               "  empty:\n"
                               "  typed:\n"
                               "    file: [a.txt]\n");
  CHECK(err ==
        "compose.yaml:6:5: secrets.none: one of file|environment must be set\n"
        "compose.yaml:9:5: secrets.two: file|environment attributes are mutually exclusive\n"
        "compose.yaml:11:5: secrets.inline: unknown key \"content\"\n"
        "compose.yaml:11:5: secrets.inline: one of file|environment must be set\n"
        "compose.yaml:12:3: secrets.empty: one of file|environment must be set\n"
        "compose.yaml:14:11: secrets.typed.file: must be a string, not a sequence");
}
