// `stack-netd --root R [--netns-dir D] [--runtime-root X] [--ready-fd N]`: the network helper of
// one state root (engine/include/stack/engine/netd.h). The engine starts it; users never do.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "stack/engine/netd.h"

int main(int argc, char** argv) {
  stack::engine::LocalHostOptions o;
  int ready_fd = -1;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--root") o.root = argv[i + 1];
    else if (flag == "--netns-dir") o.netns_dir = argv[i + 1];
    else if (flag == "--runtime-root") o.runtime_root = argv[i + 1];
    else if (flag == "--ready-fd") ready_fd = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "stack-netd: unknown flag %s\n", argv[i]);
      return 2;
    }
  }
  // Into the background, nobody's child: the process that started us waits only for the fork.
  pid_t child = ::fork();
  if (child < 0) {
    std::perror("stack-netd: fork");
    return 1;
  }
  if (child > 0) return 0;
  ::setsid();
  if (::chdir("/") != 0) return 1;
  return stack::engine::run_netd(o, ready_fd);
}
