// `stack exec` (a process in a running service container) and `stack run` (a one-off container
// of a service), with Compose's flags, output and exit codes. Each returns the process exit
// status: the command's own exit code when it ran, 1 after printing "stack: …" otherwise.
#pragma once

#include <string>
#include <vector>

#include "cli.h"
#include "image_cli.h"

namespace stack::cli {

struct ServiceExecOptions {
  std::string service;
  std::vector<std::string> command;  // COMMAND [ARGS…]; non-empty
  bool detach = false;               // -d: start it and return 0
  bool no_tty = false;               // -T: never allocate a pty
  bool interactive = true;           // -i: accepted (stdin is always attached)
  bool tty = false;                  // -t: accepted (a pty is allocated when stdin is a tty)
  int index = 1;                     // --index: the replica
  std::string user;                  // -u: "name[:group]" or "uid[:gid]"
  std::string workdir;               // -w
  std::vector<std::string> env;      // -e K=V (or K: taken from our environment)
  bool privileged = false;           // --privileged: every capability
};
// `stack exec`: runs the command in replica `index` of the service and returns its exit code
// (0 with -d). `service "x" is not running` (1) when that replica is not running.
int run_exec(const GlobalOptions& g, const ImageGlobals& ig, const ServiceExecOptions& o);

struct ServiceRunOptions {
  std::string service;
  std::vector<std::string> command;  // replaces the service's command when non-empty
  bool remove = false;               // --rm
  bool detach = false;               // -d: print the container name, return 0
  std::vector<std::string> env;      // -e K=V
  std::vector<std::string> labels;   // -l K=V
  std::string entrypoint;            // --entrypoint (a shell-split command line)
  bool entrypoint_set = false;       // --entrypoint "" clears the image's
  bool no_deps = false;
  std::string name;                  // --name
  std::string user;                  // -u
  std::string workdir;               // -w
  bool no_tty = false;               // -T (accepted: the one-off has no pty)
  bool interactive = true;           // -i (accepted)
  bool service_ports = false;        // --service-ports (accepted)
  std::string pull;                  // --pull always|missing|never
  bool quiet_pull = false;
};
// `stack run`: dependencies up (unless --no-deps), then a one-off container
// <project>-<service>-run-<12 hex> attached to its output; returns its exit code.
int run_run(const GlobalOptions& g, const ImageGlobals& ig, const ServiceRunOptions& o);

}  // namespace stack::cli
