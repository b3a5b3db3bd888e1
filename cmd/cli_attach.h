// Following a project: `up` attached (logs until the containers exit or Ctrl-C), `up --wait`,
// `logs` and `wait`.
#pragma once

#include <string>
#include <vector>

#include "cli_session.h"
#include "project_cli.h"

namespace stack::cli {

// `up` without -d: prints the selected services' output with Compose's prefixes until every
// attached container has exited (or, with --abort-on-container-exit, the first one), then
// returns 0, the --exit-code-from service's code, or the first exited container's code. Ctrl-C
// stops the project's containers (a second Ctrl-C kills them) and returns 130.
int attach_project(Session& s, const UpOptions& o);

// `up --wait`: returns 0 once every selected service's containers run (and are healthy when
// they have a healthcheck); a one-shot that exited 0 counts when another service waits for it
// with service_completed_successfully. 1 with the reason when one exits, turns unhealthy or
// the timeout (seconds, 0 = none) passes.
int wait_project(Session& s, const std::vector<std::string>& services, int timeout_s);

struct LogsOptions {
  std::vector<std::string> services;
  bool follow = false;
  std::string tail = "all";
  std::string since, until;
  bool timestamps = false;
  bool no_prefix = false;
  bool no_color = false;
  int index = 0;  // 0 = every replica
};
int run_logs(const GlobalOptions& g, const ImageGlobals& ig, const LogsOptions& o);

// `stack wait SERVICE…`: blocks until the services' containers stop; prints each exit code.
int run_wait(const GlobalOptions& g, const ImageGlobals& ig, const std::vector<std::string>& services,
             bool down_project);

}  // namespace stack::cli
