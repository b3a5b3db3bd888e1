// The pieces of stack-runtime's command line beyond dispatch (runtime_main.cpp).
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

#include "stack/common/result.h"
#include "stack/runtime/container.h"

namespace stack::cli {

struct RuntimeGlobals {
  std::string root = "/run/stack-runtime";
  std::string log;
  std::string log_format = "text";
  bool debug = false;
  bool systemd_cgroup = false;
  bool no_new_keyring = false;
  std::string rootless = "auto";
  std::string criu;
};

struct ListOptions {
  std::string format = "table";
  bool quiet = false;
};

struct SpecOptions {
  std::string bundle = ".";
  bool rootless = false;
};

struct ExecCliOptions {
  std::string id;
  std::string process_file;
  bool tty = false;
  std::vector<std::string> env;
  std::string cwd;
  std::string user;
  std::vector<unsigned> additional_gids;
  std::vector<std::string> caps;
  bool no_new_privs = false;
  std::vector<std::string> command;
  runtime::ExecOptions options;
};

struct UpdateCliOptions {
  std::string resources_file;
  std::optional<std::string> memory, memory_reservation, memory_swap, cpuset_cpus, cpuset_mems;
  std::optional<uint64_t> cpu_shares, cpu_period, blkio_weight;
  std::optional<int64_t> cpu_quota, pids_limit;
};
void add_update_flags(CLI::App* cmd, UpdateCliOptions& o);

// Prints the error to stderr (and to --log in the chosen format); returns 1.
int runtime_fail(const RuntimeGlobals& g, const Error& error);

// "KILL", "SIGKILL", "9" → 9.
Result<int> parse_signal(const std::string& text);

int run_list(const RuntimeGlobals& g, runtime::Runtime& rt, const ListOptions& o);
int run_ps(const RuntimeGlobals& g, runtime::Runtime& rt, const std::string& id, const ListOptions& o);
int run_spec(const RuntimeGlobals& g, const SpecOptions& o);
int run_exec(const RuntimeGlobals& g, runtime::Runtime& rt, const ExecCliOptions& o);
int run_update(const RuntimeGlobals& g, runtime::Runtime& rt, const std::string& id, const UpdateCliOptions& o);

}  // namespace stack::cli
