// `stack-runtime`: an OCI runtime with runc's command line, so tools written for runc can call
// it: create, start, state, kill, delete, run, exec, list, ps, spec, features, pause, resume,
// update. Exit status: the container's for run and exec, else 0 or 1 (2 for usage errors).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstring>

#include "runtime_cli.h"
#include "stack/common/log.h"
#include "stack/common/syscalls.h"
#include "stack/runtime/container.h"
#include "stack/runtime/features.h"

using namespace stack;
using namespace stack::runtime;
using stack::cli::RuntimeGlobals;

int main(int argc, char** argv) {
  CLI::App app{"stack-runtime: run OCI containers (runc-compatible command line)"};
  app.name("stack-runtime");
  app.require_subcommand(1);
  app.set_version_flag("-v,--version", std::string("stack-runtime version ") + STACK_VERSION + "\nspec: 1.2.0");
  RuntimeGlobals g;
  app.add_option("--root", g.root, "State directory")->capture_default_str();
  app.add_option("--log", g.log, "Also write errors to this file");
  app.add_option("--log-format", g.log_format, "Log format: text or json")->check(CLI::IsMember({"text", "json"}));
  app.add_flag("--debug", g.debug, "Debug output");
  app.add_flag("--systemd-cgroup", g.systemd_cgroup, "Use systemd to manage cgroups (not supported)");
  app.add_option("--rootless", g.rootless, "Rootless mode: true, false or auto (only false is supported)");
  app.add_option("--criu", g.criu, "Path to criu (checkpoints are not supported)");

  CreateOptions create;
  auto add_create_flags = [&](CLI::App* cmd) {
    cmd->add_option("-b,--bundle", create.bundle, "Bundle directory (default: current directory)");
    cmd->add_option("--pid-file", create.pid_file, "Write the init's pid to this file");
    cmd->add_option("--console-socket", create.console_socket, "AF_UNIX socket receiving the pty master");
    cmd->add_flag("--no-pivot", create.no_pivot, "Use MS_MOVE and chroot instead of pivot_root");
    cmd->add_flag("--no-new-keyring", g.no_new_keyring, "Do not create a new session keyring");
    cmd->add_option("--preserve-fds", create.preserve_fds, "Pass this many fds after 3 to the container");
    cmd->add_option("id", create.id, "Container id")->required();
  };
  CLI::App* c_create = app.add_subcommand("create", "Create a container");
  add_create_flags(c_create);
  CLI::App* c_run = app.add_subcommand("run", "Create and start a container, wait for it");
  add_create_flags(c_run);
  bool detach = false, keep = false;
  c_run->add_flag("-d,--detach", detach, "Return once started");
  c_run->add_flag("--keep", keep, "Keep the container's state after it exits");

  std::string id;
  CLI::App* c_start = app.add_subcommand("start", "Start a created container");
  c_start->add_option("id", id)->required();
  CLI::App* c_state = app.add_subcommand("state", "Print a container's state as JSON");
  c_state->add_option("id", id)->required();
  CLI::App* c_kill = app.add_subcommand("kill", "Send a signal to a container's init");
  std::string signal = "SIGTERM";
  bool all = false;
  c_kill->add_option("id", id)->required();
  c_kill->add_option("signal", signal, "Signal name or number (default SIGTERM)");
  c_kill->add_flag("-a,--all", all, "Signal every process in the container");
  CLI::App* c_delete = app.add_subcommand("delete", "Delete a container");
  bool force = false;
  c_delete->add_option("id", id)->required();
  c_delete->add_flag("-f,--force", force, "Kill a running container first");
  CLI::App* c_pause = app.add_subcommand("pause", "Freeze every process of a container");
  c_pause->add_option("id", id)->required();
  CLI::App* c_resume = app.add_subcommand("resume", "Thaw a paused container");
  c_resume->add_option("id", id)->required();

  stack::cli::ListOptions list;
  CLI::App* c_list = app.add_subcommand("list", "List containers");
  c_list->alias("ls");
  c_list->add_option("-f,--format", list.format, "table or json")->check(CLI::IsMember({"table", "json"}));
  c_list->add_flag("-q,--quiet", list.quiet, "Only ids");
  CLI::App* c_ps = app.add_subcommand("ps", "List a container's processes");
  c_ps->add_option("-f,--format", list.format, "table or json")->check(CLI::IsMember({"table", "json"}));
  c_ps->add_option("id", id)->required();

  stack::cli::SpecOptions spec;
  CLI::App* c_spec = app.add_subcommand("spec", "Write a default config.json");
  c_spec->add_option("-b,--bundle", spec.bundle, "Directory to write config.json into");
  c_spec->add_flag("--rootless", spec.rootless, "A spec for a user without privileges");
  CLI::App* c_features = app.add_subcommand("features", "Print what this runtime supports as JSON");

  stack::cli::ExecCliOptions exec;
  CLI::App* c_exec = app.add_subcommand("exec", "Run a process in a running container");
  c_exec->add_option("-p,--process", exec.process_file, "process.json describing the process");
  c_exec->add_flag("-t,--tty", exec.tty, "Allocate a pty");
  c_exec->add_option("-e,--env", exec.env, "Set an environment variable")->allow_extra_args(false);
  c_exec->add_option("--cwd", exec.cwd, "Working directory");
  c_exec->add_option("-u,--user", exec.user, "UID[:GID]");
  c_exec->add_option("-g,--additional-gids", exec.additional_gids, "Additional group ids")->allow_extra_args(false);
  c_exec->add_option("-c,--cap", exec.caps, "Add a capability")->allow_extra_args(false);
  c_exec->add_flag("--no-new-privs", exec.no_new_privs, "Set no_new_privileges");
  c_exec->add_flag("-d,--detach", exec.options.detach, "Do not wait for the process");
  c_exec->add_option("--pid-file", exec.options.pid_file, "Write the process's pid to this file");
  c_exec->add_option("--console-socket", exec.options.console_socket, "AF_UNIX socket receiving the pty master");
  c_exec->add_option("--preserve-fds", exec.options.preserve_fds, "Pass this many fds after 3");
  c_exec->add_option("id", exec.id)->required();
  c_exec->add_option("command", exec.command, "Command and arguments");
  c_exec->positionals_at_end();

  stack::cli::UpdateCliOptions update;
  CLI::App* c_update = app.add_subcommand("update", "Change a container's resource limits");
  stack::cli::add_update_flags(c_update, update);
  c_update->add_option("id", id)->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  if (g.systemd_cgroup) return cli::runtime_fail(g, Error(ENOTSUP, "--systemd-cgroup is not supported: stack-runtime manages cgroups itself (use a cgroupsPath without \"slice:prefix:name\")"));
  if (!g.criu.empty()) return cli::runtime_fail(g, Error(ENOTSUP, "--criu: checkpoint/restore is not supported"));
  if (g.rootless == "true") return cli::runtime_fail(g, Error(ENOTSUP, "--rootless=true is not supported yet"));
  if (g.debug) stack::log::set_level(stack::log::Level::kDebug);

  RealSyscalls sys;
  Runtime rt(g.root, sys);
  auto done = [&](Status st) { return st.ok() ? 0 : cli::runtime_fail(g, st.error()); };

  if (c_create->parsed()) {
    auto pid = rt.create(create);
    return pid.ok() ? 0 : cli::runtime_fail(g, pid.error());
  }
  if (c_run->parsed()) {
    auto code = rt.run(create, detach, keep);
    return code.ok() ? *code : cli::runtime_fail(g, code.error());
  }
  if (c_start->parsed()) return done(rt.start(id));
  if (c_state->parsed()) {
    auto st = rt.state(id);
    if (!st.ok()) return cli::runtime_fail(g, st.error());
    std::printf("%s\n", state_to_json(*st).c_str());
    return 0;
  }
  if (c_kill->parsed()) {
    auto sig = cli::parse_signal(signal);
    if (!sig.ok()) return cli::runtime_fail(g, sig.error());
    return done(rt.kill(id, *sig, all));
  }
  if (c_delete->parsed()) return done(rt.remove(id, force));
  if (c_pause->parsed()) return done(rt.pause(id));
  if (c_resume->parsed()) return done(rt.resume(id));
  if (c_list->parsed()) return cli::run_list(g, rt, list);
  if (c_ps->parsed()) return cli::run_ps(g, rt, id, list);
  if (c_spec->parsed()) return cli::run_spec(g, spec);
  if (c_features->parsed()) {
    std::printf("%s\n", features_json().c_str());
    return 0;
  }
  if (c_exec->parsed()) return cli::run_exec(g, rt, exec);
  if (c_update->parsed()) return cli::run_update(g, rt, id, update);
  return 2;
}
