// `stack pull`, `push`, `images`, `image …`, `login`, `logout`: the image commands.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "cli.h"

namespace stack::cli {

// Where images live: <root>/images. --root, else $STACK_ROOT, else /var/lib/stack.
struct ImageGlobals {
  std::string root;
  std::vector<std::string> insecure_registries;  // --insecure-registry, $STACK_INSECURE_REGISTRIES
};

struct PullOptions {
  std::vector<std::string> args;  // services of the project, or image references
  std::string platform;
  std::string policy;             // --policy: overrides every service's pull_policy
  bool quiet = false;
  bool ignore_pull_failures = false;
  bool ignore_buildable = false;
  bool references_only = false;   // `image pull`: arguments are image references
  bool as_configured = false;     // `up`: pull only what each service's pull_policy asks for
};
int run_pull(const GlobalOptions& g, const ImageGlobals& ig, const PullOptions& o);

// `up`/`run`/`create`: pulls what the services' pull_policy (or o.policy, `--pull`) asks for,
// then maps each service (o.args, else all) to its image's config digest. Errors name the
// service: an image missing after pulling, a service without an image.
Result<std::map<std::string, std::string>> ensure_service_images(const compose::Project& p,
                                                                 const ImageGlobals& ig,
                                                                 const PullOptions& o);

struct PushOptions {
  std::string reference;
  size_t chunk_size = 0;
  bool quiet = false;
};
int run_push(const ImageGlobals& ig, const PushOptions& o);

struct ImagesOptions {
  std::string repository;  // filter
  bool quiet = false;      // IDs only
  bool digests = false;
  std::string format;      // "" (table) or "json"
};
int run_images(const ImageGlobals& ig, const ImagesOptions& o);

int run_image_rm(const ImageGlobals& ig, const std::vector<std::string>& refs);
int run_image_prune(const ImageGlobals& ig);
int run_image_tag(const ImageGlobals& ig, const std::string& source, const std::string& target);
int run_image_inspect(const ImageGlobals& ig, const std::vector<std::string>& refs);
int run_image_load(const ImageGlobals& ig, const std::string& input, bool quiet);
int run_image_save(const ImageGlobals& ig, const std::string& output,
                   const std::vector<std::string>& refs);
struct ImportOptions {
  std::string source;
  std::string reference;
  std::vector<std::string> changes;
  std::string message;
  std::string platform;
};
int run_image_import(const ImageGlobals& ig, const ImportOptions& o);

struct LoginOptions {
  std::string server;  // default docker.io
  std::string username, password;
  bool password_stdin = false;
};
int run_login(const ImageGlobals& ig, const LoginOptions& o);
int run_logout(const std::string& server);

}  // namespace stack::cli
