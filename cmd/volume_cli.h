// `stack volume ls|inspect|create|rm|prune`: Docker's volume verbs over the local driver in
// <state root>/volumes.
#pragma once

#include <iostream>
#include <string>
#include <vector>

#include "cli.h"

namespace CLI {
class App;
}
namespace stack {
class Syscalls;
}

namespace stack::cli {

// The parsed flags of the volume verbs, and where the verbs write.
struct VolumeCli {
  // Set by add_volume_commands; run_volume_cli runs the one that was parsed.
  CLI::App *volume = nullptr, *ls = nullptr, *inspect = nullptr, *create = nullptr, *rm = nullptr,
           *prune = nullptr;
  bool quiet = false;                // ls -q
  std::string format;                // ls --format: "", "table" or "json"
  std::vector<std::string> filters;  // ls -f/--filter key=value
  std::vector<std::string> names;    // inspect, rm: NAME...; create: [NAME]
  std::string create_name;           // create --name (a positional NAME wins)
  std::string driver = "local";      // create -d/--driver
  std::vector<std::string> opts;     // create -o/--opt k=v
  std::vector<std::string> labels;   // create --label k=v
  bool force = false;                // rm -f (missing volumes are no error), prune -f (no prompt)
  bool all = false;                  // prune -a

  std::ostream* out = &std::cout;
  std::ostream* err = &std::cerr;
  Syscalls* syscalls = nullptr;      // null: the real system calls (rm unmounts)
};

// Adds `volume` with its verbs to app, binding their flags to state (which must outlive app).
void add_volume_commands(CLI::App& app, VolumeCli& state);

// Runs the parsed volume verb against <state_root>/volumes: its exit status (0, or 1 after
// printing the errors to state.err), or -1 when no volume verb was parsed.
int run_volume_cli(const std::string& state_root, VolumeCli& state);

}  // namespace stack::cli
