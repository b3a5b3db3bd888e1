// Service keys of the Compose specification that stack does not support yet.
#include "compose_test_util.h"

using namespace stack::compose;
using namespace stack::compose::testing;

TEST_CASE("unsupported_keys: each is rejected by name, unknown keys stay unknown", "[compose][unsupported_keys]") {
  std::string err = load_error(
      "services:\n"
      "  web:\n"
      "    image: nginx\n"
      "    credential_spec: {file: spec.json}\n"
      "    isolation: hyperv\n"
      "    provider: {type: model}\n"
      "    models: [llm]\n"
      "    colour: blue\n");
  CHECK(err ==
        "compose.yaml:4:5: not supported yet: services.web.credential_spec\n"
        "compose.yaml:5:5: not supported yet: services.web.isolation\n"
        "compose.yaml:6:5: not supported yet: services.web.provider\n"
        "compose.yaml:7:5: not supported yet: services.web.models\n"
        "compose.yaml:8:5: services.web: unknown key \"colour\"");
}
