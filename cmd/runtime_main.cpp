// `stack-runtime`: the OCI runtime (runc-compatible command line). The runtime issue builds it;
// until then it answers --version and refuses everything else with a clear message.
#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
  if (argc == 2 && (std::strcmp(argv[1], "--version") == 0 || std::strcmp(argv[1], "-v") == 0)) {
    std::printf("stack-runtime version %s\nspec: 1.2.0\n", STACK_VERSION);
    return 0;
  }
  std::fprintf(stderr, "stack-runtime: not implemented yet (only --version)\n");
  return 2;
}
