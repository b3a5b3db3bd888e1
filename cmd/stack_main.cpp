// `stack`: the command line. Exit status: 0 success, 1 failure, 2 usage error.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli.h"

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
  if (version->parsed()) {
    std::printf(version_short ? "%s\n" : "stack version %s\n", STACK_VERSION);
    return 0;
  }
  return 2;
}
