// The project verbs: up, down, scale (convergence) and ps, start, stop, restart, kill, rm,
// pause, unpause, top (lifecycle). Each returns the process exit status; errors are
// printed as "stack: …" on stderr.
#pragma once

#include <string>
#include <vector>

#include "cli.h"
#include "image_cli.h"

namespace stack::cli {

struct UpOptions {
  std::vector<std::string> services;
  bool detach = false;
  bool wait = false;
  int wait_timeout_s = 0;
  bool no_start = false;
  bool force_recreate = false;
  bool no_recreate = false;
  bool always_recreate_deps = false;
  bool remove_orphans = false;
  bool no_deps = false;
  bool dry_run = false;
  bool quiet_pull = false;
  bool abort_on_container_exit = false;
  std::string exit_code_from;
  std::vector<std::string> scale;  // "svc=N"
  std::string pull;                // always | missing | never | build ("" = as configured)
  int timeout_s = -1;              // -t for the stops of a recreate / Ctrl-C
  bool no_color = false, no_log_prefix = false, timestamps = false;
};
int run_up(const GlobalOptions& g, const ImageGlobals& ig, const UpOptions& o);

struct DownOptions {
  std::vector<std::string> services;
  bool volumes = false;
  bool remove_orphans = false;
  std::string rmi;   // "", "local" or "all"
  int timeout_s = -1;
  bool dry_run = false;
};
int run_down(const GlobalOptions& g, const ImageGlobals& ig, const DownOptions& o);

// `stack scale web=3 db=1`: changes only the replica counts (no recreate, dependencies kept).
int run_scale(const GlobalOptions& g, const ImageGlobals& ig, const std::vector<std::string>& args,
              bool no_deps, bool dry_run);

struct PsOptions {
  std::vector<std::string> services;
  bool all = false;
  bool quiet = false;
  bool list_services = false;
  std::string format = "table";        // table | json
  std::vector<std::string> status;     // --status / --filter status=…
  std::vector<std::string> filters;    // --filter key=value
  bool no_trunc = false;
};
int run_ps(const GlobalOptions& g, const ImageGlobals& ig, const PsOptions& o);

// `stack port SERVICE PRIVATE_PORT`: the host address a container port is published on.
struct PortOptions {
  std::string service;
  uint32_t private_port = 0;
  std::string protocol = "tcp";
  int index = 1;
};
int run_port(const GlobalOptions& g, const ImageGlobals& ig, const PortOptions& o);

struct LifecycleOptions {
  std::vector<std::string> services;
  int timeout_s = -1;        // stop/restart -t
  std::string signal = "SIGKILL";  // kill -s
  bool force = false;        // rm -f
  bool stop_first = false;   // rm -s
  bool volumes = false;      // rm -v (anonymous volumes)
  bool dry_run = false;
};
// verb: start | stop | restart | kill | rm | pause | unpause
int run_lifecycle(const std::string& verb, const GlobalOptions& g, const ImageGlobals& ig,
                  const LifecycleOptions& o);

// `events [--json] [SERVICE…]`: container events until Ctrl-C (observed, see events_cli.cpp).
int run_events(const GlobalOptions& g, const ImageGlobals& ig,
               const std::vector<std::string>& services, bool json);

int run_top(const GlobalOptions& g, const ImageGlobals& ig, const std::vector<std::string>& services);

}  // namespace stack::cli
