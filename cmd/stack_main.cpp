// `stack`: the command line. Exit status: 0 success, 1 failure, 2 usage error.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli.h"
#include "cli_attach.h"
#include "exec_cli.h"
#include "image_cli.h"
#include "network_cli.h"
#include "project_cli.h"
#include "volume_cli.h"

int main(int argc, char** argv) {
  using stack::cli::ConfigOptions;
  using stack::cli::GlobalOptions;

  CLI::App app{"stack: deploy Compose stacks with stack's own container runtime"};
  app.name("stack");
  app.require_subcommand(1);
  GlobalOptions g;
  app.add_option("-f,--file", g.files, "Compose configuration files")->type_name("FILE");
  app.add_option("-p,--project-name", g.project_name, "Project name");
  app.add_option("--project-directory", g.project_directory,
                 "Alternate working directory (default: the directory of the first Compose file)");
  app.add_option("--env-file", g.env_files, "Alternate environment files")->type_name("FILE");
  app.add_option("--profile", g.profiles, "Profiles to enable")->type_name("PROFILE");

  stack::cli::ImageGlobals ig;
  app.add_option("--root", ig.root,
                 "State directory (default: $STACK_ROOT, else /var/lib/stack); images in <root>/images")
      ->type_name("DIR");
  app.add_option("--insecure-registry", ig.insecure_registries,
                 "Registry host[:port] that may be used over plain HTTP (localhost and 127.0.0.0/8 "
                 "always may)")
      ->type_name("HOST")
      ->allow_extra_args(false);

  ConfigOptions c;
  CLI::App* config = app.add_subcommand("config", "Parse, resolve and render the Compose file in canonical form");
  config->alias("convert");
  config->add_option("--format", c.format, "Output format: yaml or json")
      ->check(CLI::IsMember({"yaml", "json"}));
  config->add_flag("--services", c.services, "Print the service names, one per line");
  config->add_flag("--volumes", c.volumes, "Print the volume names, one per line");
  config->add_flag("--networks", c.networks, "Print the network names, one per line");
  config->add_flag("--profiles", c.profiles, "Print the profile names, one per line");
  config->add_flag("--images", c.images, "Print the image names, one per line");
  config->add_option("--hash", c.hash, "Print the config hash of SERVICE (\"*\" for all)")->type_name("SERVICE");
  config->add_flag("--no-interpolate", c.no_interpolate, "Don't interpolate environment variables");
  config->add_flag("--no-env-resolution", c.no_resolve_env, "Don't resolve env_file and bare environment keys");
  config->add_flag("-q,--quiet", c.quiet, "Only validate the configuration, don't print anything");
  config->add_option("-o,--output", c.output, "Save to a file instead of stdout");
  config->add_option("service", c.selected, "Services to render (default: all)");

  // --- images ---
  stack::cli::PullOptions pull_o;
  CLI::App* pull = app.add_subcommand(
      "pull", "Pull the images of the project's services, or the images named");
  pull->add_option("--platform", pull_o.platform, "Platform os/arch[/variant] (default: this host's)");
  pull->add_option("--policy", pull_o.policy, "Override the services' pull_policy (missing, always)");
  pull->add_flag("-q,--quiet", pull_o.quiet, "Print no progress");
  pull->add_flag("--ignore-pull-failures", pull_o.ignore_pull_failures,
                 "Pull what can be pulled and exit 0 even if some images fail");
  pull->add_flag("--ignore-buildable", pull_o.ignore_buildable, "Skip services that have a build section");
  pull->add_option("target", pull_o.args, "SERVICE... of the project, or image references");

  stack::cli::PushOptions push_o;
  CLI::App* push = app.add_subcommand("push", "Push an image from the local store to its registry");
  push->add_option("--chunk-size", push_o.chunk_size,
                   "Upload blobs in PATCH chunks of this many bytes (default: one PUT per blob)");
  push->add_flag("-q,--quiet", push_o.quiet, "Print no progress");
  push->add_option("reference", push_o.reference, "Image reference")->required();

  stack::cli::ImagesOptions images_o;
  auto add_images_flags = [&](CLI::App* cmd) {
    cmd->add_flag("-q,--quiet", images_o.quiet, "Only show image IDs");
    cmd->add_flag("--digests", images_o.digests, "Show digests");
    cmd->add_option("--format", images_o.format, "Output format: table or json")
        ->check(CLI::IsMember({"table", "json"}));
    cmd->add_option("repository", images_o.repository, "Only images of this repository");
  };
  CLI::App* images = app.add_subcommand("images", "List the images in the local store");
  add_images_flags(images);

  CLI::App* image = app.add_subcommand("image", "Manage images");
  image->require_subcommand(1);
  CLI::App* image_ls = image->add_subcommand("ls", "List images")->alias("list");
  add_images_flags(image_ls);
  std::vector<std::string> image_refs;
  CLI::App* image_rm = image->add_subcommand("rm", "Remove images (and the layers no image needs)");
  image_rm->alias("remove");
  image_rm->add_option("image", image_refs, "Images")->required();
  CLI::App* image_prune = image->add_subcommand("prune", "Remove blobs and layers no image needs");
  bool prune_force = false;
  image_prune->add_flag("-f,--force", prune_force, "Do not prompt (there is no prompt)");
  std::string tag_src, tag_dst;
  CLI::App* image_tag = image->add_subcommand("tag", "Give an image another reference");
  image_tag->add_option("source", tag_src, "SOURCE_IMAGE")->required();
  image_tag->add_option("target", tag_dst, "TARGET_IMAGE")->required();
  CLI::App* image_inspect = image->add_subcommand("inspect", "Show an image's details as JSON");
  image_inspect->add_option("image", image_refs, "Images")->required();
  std::string load_input;
  bool load_quiet = false;
  CLI::App* image_load = image->add_subcommand("load", "Load images from a docker-archive or OCI tarball");
  image_load->add_option("-i,--input", load_input, "Read from this file instead of stdin");
  image_load->add_flag("-q,--quiet", load_quiet, "Print nothing");
  std::string save_output;
  CLI::App* image_save = image->add_subcommand("save", "Save images to a tar archive (docker and OCI)");
  image_save->add_option("-o,--output", save_output, "Write to this file instead of stdout");
  image_save->add_option("image", image_refs, "Images")->required();
  stack::cli::ImportOptions import_o;
  CLI::App* image_import = image->add_subcommand("import", "Make a one-layer image from a rootfs directory or tarball");
  image_import->add_option("-c,--change", import_o.changes, "Dockerfile instruction for the config (CMD, ENV, …)")
      ->allow_extra_args(false);
  image_import->add_option("-m,--message", import_o.message, "Commit message for the history");
  image_import->add_option("--platform", import_o.platform, "Platform of the image");
  image_import->add_option("source", import_o.source, "Directory, tarball, or - for stdin")->required();
  image_import->add_option("reference", import_o.reference, "Reference to tag the image with");
  CLI::App* image_pull = image->add_subcommand("pull", "Pull an image (as `stack pull`)");
  image_pull->add_option("--platform", pull_o.platform, "Platform os/arch[/variant]");
  image_pull->add_flag("-q,--quiet", pull_o.quiet, "Print no progress");
  image_pull->add_option("reference", pull_o.args, "Image references")->required();
  CLI::App* image_push = image->add_subcommand("push", "Push an image (as `stack push`)");
  image_push->add_option("--chunk-size", push_o.chunk_size, "Upload in PATCH chunks of this many bytes");
  image_push->add_flag("-q,--quiet", push_o.quiet, "Print no progress");
  image_push->add_option("reference", push_o.reference, "Image reference")->required();

  stack::cli::LoginOptions login_o;
  CLI::App* login = app.add_subcommand("login", "Log in to a registry (saved in Docker's config.json)");
  login->add_option("-u,--username", login_o.username, "Username");
  login->add_option("-p,--password", login_o.password, "Password");
  login->add_flag("--password-stdin", login_o.password_stdin, "Read the password from stdin");
  login->add_option("server", login_o.server, "Registry (default: docker.io)");
  std::string logout_server;
  CLI::App* logout = app.add_subcommand("logout", "Log out from a registry");
  logout->add_option("server", logout_server, "Registry (default: docker.io)");


  // --- project ---
  stack::cli::UpOptions up_o;
  CLI::App* up = app.add_subcommand("up", "Create and start the project's containers");
  up->add_flag("-d,--detach", up_o.detach, "Run containers in the background");
  up->add_flag("--wait", up_o.wait, "Wait for services to be running|healthy (implies -d)");
  up->add_option("--wait-timeout", up_o.wait_timeout_s, "Seconds to wait with --wait");
  up->add_flag("--no-start", up_o.no_start, "Create the containers without starting them");
  up->add_flag("--force-recreate", up_o.force_recreate, "Recreate containers even if unchanged");
  up->add_flag("--no-recreate", up_o.no_recreate, "Never recreate existing containers");
  up->add_flag("--always-recreate-deps", up_o.always_recreate_deps, "Recreate dependent containers too");
  up->add_flag("--remove-orphans", up_o.remove_orphans, "Remove containers of services not in the file");
  up->add_flag("--no-deps", up_o.no_deps, "Don't start linked services");
  up->add_flag("--dry-run", up_o.dry_run, "Print the plan without changing anything");
  up->add_flag("--quiet-pull", up_o.quiet_pull, "Pull without printing progress");
  up->add_flag("--abort-on-container-exit", up_o.abort_on_container_exit,
               "Stop all containers if any container stops");
  up->add_option("--exit-code-from", up_o.exit_code_from, "Return the exit code of this service's container");
  up->add_option("--scale", up_o.scale, "SERVICE=NUM: scale a service, overriding the file")
      ->allow_extra_args(false);
  up->add_option("--pull", up_o.pull, "Pull images: always, missing, never, build")
      ->check(CLI::IsMember({"always", "missing", "never", "build"}));
  up->add_option("-t,--timeout", up_o.timeout_s, "Seconds to wait for containers to stop");
  up->add_flag("--no-color", up_o.no_color, "Monochrome output");
  up->add_flag("--no-log-prefix", up_o.no_log_prefix, "Don't print a prefix in logs");
  up->add_flag("--timestamps", up_o.timestamps, "Show timestamps");
  up->add_option("service", up_o.services, "Services (default: all)");

  stack::cli::DownOptions down_o;
  CLI::App* down = app.add_subcommand("down", "Stop and remove the project's containers and networks");
  down->add_flag("-v,--volumes", down_o.volumes, "Remove named volumes of the project and anonymous volumes");
  down->add_flag("--remove-orphans", down_o.remove_orphans, "Remove containers of services not in the file");
  down->add_option("--rmi", down_o.rmi, "Remove images used by services: local or all")
      ->check(CLI::IsMember({"local", "all"}));
  down->add_option("-t,--timeout", down_o.timeout_s, "Seconds to wait for containers to stop");
  down->add_flag("--dry-run", down_o.dry_run, "Print the plan without changing anything");
  down->add_option("service", down_o.services, "Services (default: all)");

  std::vector<std::string> scale_args;
  bool scale_no_deps = false, scale_dry_run = false;
  CLI::App* scale = app.add_subcommand("scale", "Set the number of containers of services");
  scale->add_flag("--no-deps", scale_no_deps, "Don't start linked services");
  scale->add_flag("--dry-run", scale_dry_run, "Print the plan without changing anything");
  scale->add_option("service=replicas", scale_args, "SERVICE=REPLICAS")->required();

  stack::cli::PsOptions ps_o;
  CLI::App* ps = app.add_subcommand("ps", "List the project's containers");
  ps->add_flag("-a,--all", ps_o.all, "Show all containers (default: running ones)");
  ps->add_flag("-q,--quiet", ps_o.quiet, "Only show IDs");
  ps->add_flag("--services", ps_o.list_services, "Show the services");
  ps->add_option("--format", ps_o.format, "table or json")->check(CLI::IsMember({"table", "json"}));
  ps->add_option("--status", ps_o.status, "Filter by status")->allow_extra_args(false);
  ps->add_option("--filter", ps_o.filters, "Filter: status=…")->allow_extra_args(false);
  ps->add_flag("--no-trunc", ps_o.no_trunc, "Don't truncate output");
  ps->add_option("service", ps_o.services, "Services");

  stack::cli::LifecycleOptions life_o;
  std::map<std::string, CLI::App*> life;
  for (auto [verb, help] : std::vector<std::pair<const char*, const char*>>{
           {"start", "Start the services' existing containers"},
           {"stop", "Stop the services' containers"},
           {"restart", "Restart the services' containers"},
           {"kill", "Kill the services' containers"},
           {"rm", "Remove stopped service containers"},
           {"pause", "Pause the services' containers"},
           {"unpause", "Unpause the services' containers"}}) {
    CLI::App* cmd = app.add_subcommand(verb, help);
    cmd->add_option("service", life_o.services, "Services (default: all)");
    life[verb] = cmd;
  }
  for (const char* v : {"stop", "restart"})
    life[v]->add_option("-t,--timeout", life_o.timeout_s, "Seconds to wait before killing");
  life["kill"]->add_option("-s,--signal", life_o.signal, "Signal to send (default SIGKILL)");
  life["rm"]->add_flag("-f,--force", life_o.force, "Don't ask to confirm removal");
  life["rm"]->add_flag("-s,--stop", life_o.stop_first, "Stop the containers first");
  life["rm"]->add_flag("-v,--volumes", life_o.volumes, "Remove anonymous volumes");
  for (const char* v : {"start", "stop", "restart"})
    life[v]->add_flag("--dry-run", life_o.dry_run, "Print the plan without changing anything");

  stack::cli::PortOptions port_o;
  CLI::App* port = app.add_subcommand("port", "Print the public port of a port binding");
  port->add_option("service", port_o.service, "Service")->required();
  port->add_option("private_port", port_o.private_port, "Container port")->required();
  port->add_option("--protocol", port_o.protocol, "tcp or udp")
      ->check(CLI::IsMember({"tcp", "udp"}));
  port->add_option("--index", port_o.index, "Replica index of the service");

  std::vector<std::string> top_services;
  CLI::App* top = app.add_subcommand("top", "Show the processes of the services' containers");
  top->add_option("service", top_services, "Services");

  stack::cli::LogsOptions logs_o;
  CLI::App* logs = app.add_subcommand("logs", "Show the output of the services' containers");
  logs->add_flag("-f,--follow", logs_o.follow, "Follow log output");
  logs->add_option("-n,--tail", logs_o.tail, "Number of lines from the end of each log (or \"all\")");
  logs->add_option("--since", logs_o.since, "Since a time (RFC 3339 or unix) or a duration (42m)");
  logs->add_option("--until", logs_o.until, "Until a time or a duration");
  logs->add_flag("-t,--timestamps", logs_o.timestamps, "Show timestamps");
  logs->add_flag("--no-log-prefix", logs_o.no_prefix, "Don't print a prefix");
  logs->add_flag("--no-color", logs_o.no_color, "Monochrome output");
  logs->add_option("--index", logs_o.index, "Replica index of the service");
  logs->add_option("service", logs_o.services, "Services");

  std::vector<std::string> wait_services;
  bool wait_down = false;
  CLI::App* wait = app.add_subcommand("wait", "Block until the services' containers stop");
  wait->add_flag("--down-project", wait_down, "Take the project down when the first container stops");
  wait->add_option("service", wait_services, "Services")->required();

  stack::cli::ServiceExecOptions exec_o;
  CLI::App* exec = app.add_subcommand("exec", "Execute a command in a running container");
  exec->add_flag("-d,--detach", exec_o.detach, "Run the command in the background");
  exec->add_flag("-T,--no-TTY", exec_o.no_tty, "Disable pseudo-TTY allocation");
  exec->add_flag("-i,--interactive", exec_o.interactive, "Keep STDIN open (default)");
  exec->add_flag("-t,--tty", exec_o.tty, "Allocate a pseudo-TTY (default when stdin is one)");
  exec->add_option("--index", exec_o.index, "Index of the container if the service has replicas");
  exec->add_option("-u,--user", exec_o.user, "Run the command as this user");
  exec->add_option("-w,--workdir", exec_o.workdir, "Working directory for the command");
  exec->add_option("-e,--env", exec_o.env, "Set environment variables (KEY=VAL)")
      ->allow_extra_args(false);
  exec->add_flag("--privileged", exec_o.privileged, "Give extended privileges to the process");
  exec->add_option("service", exec_o.service, "SERVICE")->required();
  // Everything after SERVICE is the command, flags included (`exec web sh -c …`).
  exec->prefix_command();

  stack::cli::ServiceRunOptions run_o;
  CLI::App* run = app.add_subcommand("run", "Run a one-off command on a service");
  run->add_flag("--rm", run_o.remove, "Remove the container when it exits");
  run->add_flag("-d,--detach", run_o.detach, "Run the container in the background");
  run->add_option("-e,--env", run_o.env, "Set environment variables (KEY=VAL)")
      ->allow_extra_args(false);
  run->add_option("-l,--label", run_o.labels, "Add or override a label (KEY=VAL)")
      ->allow_extra_args(false);
  run->add_option("--entrypoint", run_o.entrypoint, "Override the image's entrypoint");
  run->add_flag("--no-deps", run_o.no_deps, "Don't start linked services");
  run->add_option("--name", run_o.name, "Assign a name to the container");
  run->add_option("-u,--user", run_o.user, "Run as this user");
  run->add_option("-w,--workdir", run_o.workdir, "Working directory inside the container");
  run->add_flag("-T,--no-TTY", run_o.no_tty, "Disable pseudo-TTY allocation");
  run->add_flag("-i,--interactive", run_o.interactive, "Keep STDIN open");
  run->add_flag("--service-ports", run_o.service_ports, "Publish the service's ports");
  run->add_option("--pull", run_o.pull, "Pull the image: always, missing, never")
      ->check(CLI::IsMember({"always", "missing", "never"}));
  run->add_flag("--quiet-pull", run_o.quiet_pull, "Pull without printing progress");
  run->add_option("service", run_o.service, "SERVICE")->required();
  run->prefix_command();

  std::vector<std::string> events_services;
  bool events_json = false;
  CLI::App* events = app.add_subcommand("events", "Receive real time events from containers");
  events->add_flag("--json", events_json, "Output events as a stream of JSON objects");
  events->add_option("service", events_services, "Services");

  stack::cli::VolumeCli volume_o;
  stack::cli::add_volume_commands(app, volume_o);

  stack::cli::NetworkCli network_o;
  stack::cli::add_network_commands(app, network_o);

  bool version_short = false;
  CLI::App* version = app.add_subcommand("version", "Show the stack version");
  version->add_flag("--short", version_short, "Print the version number only");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }

  if (config->parsed()) return stack::cli::run_config(g, c);
  using namespace stack::cli;
  if (pull->parsed()) return run_pull(g, ig, pull_o);
  if (push->parsed() || image_push->parsed()) return run_push(ig, push_o);
  if (images->parsed() || image_ls->parsed()) return run_images(ig, images_o);
  if (image_rm->parsed()) return run_image_rm(ig, image_refs);
  if (image_prune->parsed()) return run_image_prune(ig);
  if (image_tag->parsed()) return run_image_tag(ig, tag_src, tag_dst);
  if (image_inspect->parsed()) return run_image_inspect(ig, image_refs);
  if (image_load->parsed()) return run_image_load(ig, load_input, load_quiet);
  if (image_save->parsed()) return run_image_save(ig, save_output, image_refs);
  if (image_import->parsed()) return run_image_import(ig, import_o);
  if (image_pull->parsed()) {
    pull_o.references_only = true;
    return run_pull(g, ig, pull_o);
  }
  if (up->parsed()) return run_up(g, ig, up_o);
  if (down->parsed()) return run_down(g, ig, down_o);
  if (scale->parsed()) return run_scale(g, ig, scale_args, scale_no_deps, scale_dry_run);
  if (ps->parsed()) return run_ps(g, ig, ps_o);
  for (const auto& [verb, cmd] : life)
    if (cmd->parsed()) return run_lifecycle(verb, g, ig, life_o);
  if (top->parsed()) return run_top(g, ig, top_services);
  if (port->parsed()) return run_port(g, ig, port_o);
  if (logs->parsed()) return run_logs(g, ig, logs_o);
  if (events->parsed()) return run_events(g, ig, events_services, events_json);
  if (wait->parsed()) return run_wait(g, ig, wait_services, wait_down);
  if (exec->parsed()) {
    exec_o.command = exec->remaining();
    return run_exec(g, ig, exec_o);
  }
  if (run->parsed()) {
    run_o.command = run->remaining();
    run_o.entrypoint_set = run->count("--entrypoint") > 0;
    return run_run(g, ig, run_o);
  }
  if (login->parsed()) return run_login(ig, login_o);
  if (logout->parsed()) return run_logout(logout_server);
  if (int rc = run_volume_cli(state_root(ig.root), volume_o); rc >= 0) return rc;
  if (int rc = run_network_cli(state_root(ig.root), network_o); rc >= 0) return rc;
  if (version->parsed()) {
    std::printf(version_short ? "%s\n" : "stack version %s\n", STACK_VERSION);
    return 0;
  }
  return 2;
}
