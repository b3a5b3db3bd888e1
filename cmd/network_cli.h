// `stack network ls|inspect|create|rm|prune`: Docker's network verbs over the local host's
// bridge networks (<state root>/networks). `connect`/`disconnect` are not offered.
#pragma once

#include <iostream>
#include <string>
#include <vector>

#include "cli.h"

namespace CLI {
class App;
}

namespace stack::cli {

// The parsed flags of the network verbs, and where the verbs write.
struct NetworkCli {
  // Set by add_network_commands; run_network_cli runs the one that was parsed.
  CLI::App *network = nullptr, *ls = nullptr, *inspect = nullptr, *create = nullptr, *rm = nullptr,
           *prune = nullptr;
  bool quiet = false;                     // ls -q: ids only
  bool no_trunc = false;                  // ls --no-trunc: full ids
  std::string format;                     // ls --format: "", "table" or "json"; inspect: "json"
  std::vector<std::string> filters;       // ls, prune: -f/--filter key=value
  std::vector<std::string> names;         // inspect, rm: NETWORK...; create: NAME
  std::string driver = "bridge";          // create -d/--driver (bridge only)
  std::string ipam_driver;                // create --ipam-driver (default only)
  std::vector<std::string> subnets;       // create --subnet CIDR
  std::vector<std::string> gateways;      // create --gateway IP
  std::vector<std::string> ip_ranges;     // create --ip-range CIDR
  std::vector<std::string> aux_addresses; // create --aux-address name=IP
  std::vector<std::string> labels;        // create --label k=v
  std::vector<std::string> opts;          // create -o/--opt k=v (driver options)
  bool internal = false, attachable = false, ipv6 = false;
  bool force = false;  // rm -f (missing networks are no error), prune -f (no prompt)

  std::ostream* out = &std::cout;
  std::ostream* err = &std::cerr;
};

// Adds `network` with its verbs to app, binding their flags to state (which must outlive app).
void add_network_commands(CLI::App& app, NetworkCli& state);

// Runs the parsed network verb against the local host at state_root: its exit status (0, or 1
// after printing the errors to state.err), or -1 when no network verb was parsed.
int run_network_cli(const std::string& state_root, NetworkCli& state);

}  // namespace stack::cli
