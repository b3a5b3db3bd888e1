// `stack`: the command line. Exit status: 0 success, 1 failure, 2 usage error.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli.h"
#include "image_cli.h"

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
  if (login->parsed()) return run_login(ig, login_o);
  if (logout->parsed()) return run_logout(logout_server);
  if (version->parsed()) {
    std::printf(version_short ? "%s\n" : "stack version %s\n", STACK_VERSION);
    return 0;
  }
  return 2;
}
