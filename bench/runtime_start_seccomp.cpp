// Prints an OCI document whose linux.seccomp is Docker's default profile, exactly as the engine
// builds it (stack::runtime::docker_default_seccomp with Docker's 14 default capabilities).
// bench/runtime_start.sh compiles this against the built libstack_runtime.a and splices the
// section into the benchmark bundle's config.json, so all runtimes load the same filter.
// Why not a CMake target: bench/ is outside the build tree's targets, and the profile must come
// from the runtime's own table rather than a hand-copied JSON that could drift from it.
#include <cstdio>

#include "stack/runtime/defaults.h"
#include "stack/runtime/spec.h"

int main() {
  stack::runtime::Spec spec;
  spec.oci_version = "1.2.0";
  spec.linux.seccomp =
      stack::runtime::docker_default_seccomp(stack::runtime::docker_default_capabilities());
  std::fputs(stack::runtime::spec_to_json(spec).c_str(), stdout);
  std::fputs("\n", stdout);
  return 0;
}
