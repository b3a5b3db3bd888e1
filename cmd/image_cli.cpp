#include "image_cli.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "pull_progress.h"
#include "stack/common/log.h"
#include "stack/common/unique_fd.h"
#include "stack/compose/loader.h"
#include "stack/engine/image/archive.h"
#include "stack/engine/image/pull.h"
#include "stack/engine/image/push.h"
#include "stack/engine/image/registry.h"
#include "stack/engine/image/store.h"
#include "stack/engine/image/unpack.h"

namespace stack::cli {

namespace img = engine::image;

std::string state_root(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("STACK_ROOT"); env && *env) return env;
  return "/var/lib/stack";
}

namespace {

int fail(const Error& e) {
  std::fprintf(stderr, "stack: %s\n", e.to_string().c_str());
  return 1;
}

Result<img::ContentStore> open_store(const ImageGlobals& ig) {
  return img::ContentStore::open(state_root(ig.root) + "/images");
}

img::RegistryOptions registry_options(const ImageGlobals& ig) {
  img::RegistryOptions o;
  o.insecure_registries = ig.insecure_registries;
  // A private registry's CA where Docker keeps it: <dir>/<host:port>/ca.crt.
  const char* certs = std::getenv("STACK_CERTS_DIR");
  o.certs_dir = certs && *certs ? certs : "/etc/docker/certs.d";
  if (const char* env = std::getenv("STACK_INSECURE_REGISTRIES"))
    for (auto& h : split_commas(env)) o.insecure_registries.push_back(h);
  // Read once per command; a malformed file is reported, then the pull goes on anonymously.
  auto creds = img::CredentialStore::load(img::CredentialStore::default_path());
  if (!creds.ok()) log::warn(creds.error().to_string());
  auto shared = std::make_shared<std::optional<img::CredentialStore>>(
      creds.ok() ? std::optional<img::CredentialStore>(std::move(creds).value()) : std::nullopt);
  o.credentials = [shared](const std::string& host) -> std::optional<img::Credentials> {
    if (!*shared) return std::nullopt;
    return (*shared)->get(host);
  };
  return o;
}

std::string short_id(const std::string& digest) {
  return digest.substr(digest.find(':') + 1, 12);
}

// One image pulled with the progress display and Docker's closing lines.
Result<img::PullResult> pull_one(const img::ContentStore& store, img::RegistryClient& client,
                                 const img::Reference& ref, const PullOptions& o, bool project) {
  img::PullOptions po;
  if (!o.platform.empty()) {
    STACK_TRY(auto p, img::parse_platform(o.platform));
    po.platform = p;
  }
  ProgressDisplay display(stdout, ProgressDisplay::mode_for(stdout, o.quiet),
                          ProgressDisplay::Verb::kPull);
  po.observer = &display;
  if (!o.quiet) {
    std::printf("%s: Pulling from %s\n", ref.tag.empty() ? ref.digest.c_str() : ref.tag.c_str(),
                ref.path.c_str());
    std::fflush(stdout);
  }
  auto r = img::pull_image(store, client, ref, po);
  display.finish();
  if (!r.ok()) return r;
  if (!o.quiet) {
    std::printf("Digest: %s\n", r->image.target_digest.c_str());
    std::printf("Status: %s for %s\n",
                r->downloaded ? "Downloaded newer image" : "Image is up to date",
                ref.familiar().c_str());
  }
  if (!project) std::printf("%s\n", ref.string().c_str());
  return r;
}

bool names_services(const compose::Project& p, const std::vector<std::string>& args) {
  for (const auto& a : args)
    if (!p.find_service(a)) return false;
  return true;
}

int pull_project(const compose::Project& p, const img::ContentStore& store,
                 img::RegistryClient& client, const PullOptions& o) {
  std::optional<img::PullPolicy> forced;
  if (!o.policy.empty()) {
    auto pol = img::parse_pull_policy(o.policy);
    if (!pol.ok()) return fail(pol.error());
    forced = *pol;
  }
  int failures = 0;
  std::set<std::string> done;
  for (const auto& s : p.services) {
    if (!o.args.empty() && std::find(o.args.begin(), o.args.end(), s.name) == o.args.end()) continue;
    if (s.image.empty()) continue;  // built, not pulled
    if (s.build && o.ignore_buildable) continue;
    auto policy = forced ? img::PullPolicy(*forced) : img::PullPolicy{};
    if (!forced) {
      auto pol = img::parse_pull_policy(s.pull_policy);
      if (!pol.ok()) return fail(std::move(pol).error().wrap("service " + s.name));
      policy = *pol;
      // `pull` of a project fetches every pullable image, as Compose does, unless the policy
      // forbids pulling or says the image is built.
      if (!o.as_configured && (policy.kind == img::PullPolicy::Kind::kMissing ||
                               policy.kind == img::PullPolicy::Kind::kPeriodic))
        policy.kind = img::PullPolicy::Kind::kAlways;
    }
    if (policy.kind == img::PullPolicy::Kind::kNever || policy.kind == img::PullPolicy::Kind::kBuild)
      continue;
    auto ref = img::parse_reference(s.image);
    if (!ref.ok()) {
      fail(std::move(ref).error().wrap("service " + s.name));
      ++failures;
      continue;
    }
    if (!done.insert(ref->string()).second) continue;
    auto local = store.resolve(ref->string());
    if (img::decide_pull(policy, local, static_cast<int64_t>(::time(nullptr))) !=
        img::PullDecision::kPull)
      continue;
    if (!o.quiet) std::printf("%s Pulling\n", s.name.c_str());
    PullOptions per = o;
    if (per.platform.empty()) per.platform = s.platform;
    auto r = pull_one(store, client, *ref, per, true);
    if (!r.ok()) {
      fail(std::move(r).error().wrap("service " + s.name));
      ++failures;
      continue;
    }
    if (!o.quiet) std::printf("%s Pulled\n", s.name.c_str());
  }
  if (failures > 0 && !o.ignore_pull_failures) return 1;
  return 0;
}

std::string created_ago(const std::string& rfc3339) {
  struct tm tm = {};
  if (rfc3339.empty() || !::strptime(rfc3339.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return "N/A";
  time_t t = ::timegm(&tm);
  int64_t secs = static_cast<int64_t>(::time(nullptr)) - static_cast<int64_t>(t);
  if (secs < 0) secs = 0;
  auto ago = [](int64_t n, const char* unit) {
    return std::to_string(n) + " " + unit + (n == 1 ? "" : "s") + " ago";
  };
  if (secs < 60) return "Less than a minute ago";
  if (secs < 3600) return ago(secs / 60, "minute");
  if (secs < 86400 * 2) return ago(secs / 3600, "hour");
  if (secs < 86400 * 14) return ago(secs / 86400, "day");
  if (secs < 86400 * 60) return ago(secs / (86400 * 7), "week");
  if (secs < 86400 * 730) return ago(secs / (86400 * 30), "month");
  return ago(secs / (86400 * 365), "year");
}

std::string normalize_server(std::string server) {
  for (const char* scheme : {"https://", "http://"})
    if (server.rfind(scheme, 0) == 0) server = server.substr(std::strlen(scheme));
  if (auto slash = server.find('/'); slash != std::string::npos) server.resize(slash);
  if (server.empty() || server == "index.docker.io" || server == "registry-1.docker.io")
    server = "docker.io";
  return server;
}

}  // namespace

int run_pull(const GlobalOptions& g, const ImageGlobals& ig, const PullOptions& o) {
  auto store = open_store(ig);
  if (!store.ok()) return fail(store.error());
  img::RegistryClient client(registry_options(ig));

  // Services of the project when there is a project and every argument names one of its
  // services (or none is given); image references otherwise.
  bool want_project = o.args.empty() || !g.files.empty();
  std::optional<compose::Project> project;
  if (!o.references_only) {
    auto lo = load_options(g);
    std::vector<std::string> warnings;
    lo.warnings = &warnings;
    auto loaded = compose::load(lo, compose::RealFileSource());
    if (loaded.ok()) {
      for (const auto& w : warnings) log::warn(w);
      if (names_services(*loaded, o.args)) project = std::move(loaded).value();
    } else if (want_project) {
      return fail(loaded.error());
    }
  }
  if (project) return pull_project(*project, *store, client, o);

  int failures = 0;
  for (const auto& arg : o.args) {
    auto ref = img::parse_reference(arg);
    if (!ref.ok()) {
      fail(ref.error());
      ++failures;
      continue;
    }
    auto r = pull_one(*store, client, *ref, o, false);
    if (!r.ok()) {
      fail(r.error());
      ++failures;
    }
  }
  return failures > 0 && !o.ignore_pull_failures ? 1 : 0;
}

Result<std::map<std::string, std::string>> ensure_service_images(const compose::Project& p,
                                                                 const ImageGlobals& ig,
                                                                 const PullOptions& o) {
  STACK_TRY(auto store, open_store(ig));
  PullOptions per = o;
  per.as_configured = true;
  bool pulling_needed = false;
  for (const auto& s : p.services) {
    if (s.image.empty()) continue;
    auto ref = img::parse_reference(s.image);
    if (!ref.ok() || !store.resolve(ref->string())) pulling_needed = true;
    auto pol = img::parse_pull_policy(o.policy.empty() ? s.pull_policy : o.policy);
    if (pol.ok() && pol->kind != img::PullPolicy::Kind::kMissing &&
        pol->kind != img::PullPolicy::Kind::kNever && pol->kind != img::PullPolicy::Kind::kBuild)
      pulling_needed = true;
  }
  if (pulling_needed) {
    img::RegistryClient client(registry_options(ig));
    if (pull_project(p, store, client, per) != 0)
      return Error(EIO, "pulling the project's images failed");
  }
  std::map<std::string, std::string> digests;
  for (const auto& s : p.services) {
    if (!o.args.empty() && std::find(o.args.begin(), o.args.end(), s.name) == o.args.end())
      continue;
    if (s.image.empty())
      return Error(ENOTSUP, "service " + s.name + ": has no image (building images is not supported)");
    auto ref = img::parse_reference(s.image);
    if (!ref.ok()) return std::move(ref).error().wrap("service " + s.name);
    auto entry = store.resolve(ref->string());
    if (!entry)
      return Error(ENOENT, "service " + s.name + ": image " + s.image + " is not in the local store" +
                               " (pull_policy: " + (s.pull_policy.empty() ? "missing" : s.pull_policy) + ")");
    digests[s.name] = entry->config_digest;
  }
  return digests;
}

int run_push(const ImageGlobals& ig, const PushOptions& o) {
  auto store = open_store(ig);
  if (!store.ok()) return fail(store.error());
  auto ref = img::parse_reference(o.reference);
  if (!ref.ok()) return fail(ref.error());
  img::RegistryClient client(registry_options(ig));
  ProgressDisplay display(stdout, ProgressDisplay::mode_for(stdout, o.quiet),
                          ProgressDisplay::Verb::kPush);
  img::PushOptions po;
  po.chunk_size = o.chunk_size;
  po.observer = &display;
  if (!o.quiet) {
    std::printf("The push refers to repository [%s]\n", ref->name().c_str());
    std::fflush(stdout);
  }
  auto r = img::push_image(*store, client, ref->string(), *ref, po);
  display.finish();
  if (!r.ok()) return fail(r.error());
  if (!o.quiet) {
    std::printf("%s: digest: %s size: %lld\n", ref->tag.empty() ? "latest" : ref->tag.c_str(),
                r->manifest_digest.c_str(), static_cast<long long>(r->manifest_size));
  } else {
    std::printf("%s\n", ref->string().c_str());
  }
  return 0;
}

int run_images(const ImageGlobals& ig, const ImagesOptions& o) {
  auto store = open_store(ig);
  if (!store.ok()) return fail(store.error());
  struct Row {
    std::string repo, tag, digest, id, created, size;
    img::IndexEntry entry;
  };
  std::vector<Row> rows;
  for (const auto& e : store->list()) {
    auto ref = img::parse_reference(e.reference);
    if (!ref.ok()) continue;
    Row r;
    r.repo = img::Reference{ref->domain, ref->path, "", ""}.familiar();
    if (!o.repository.empty() && r.repo != o.repository && ref->name() != o.repository) continue;
    r.tag = ref->tag.empty() ? "<none>" : ref->tag;
    r.digest = e.target_digest;
    r.id = short_id(e.config_digest);
    r.entry = e;
    uint64_t size = 0;
    if (auto stored = img::read_stored_image(*store, e); stored.ok()) {
      for (const auto& l : stored->manifest.layers) size += static_cast<uint64_t>(l.size);
      auto cfg = nlohmann::json::parse(stored->config_json, nullptr, false);
      r.created = created_ago(cfg.is_object() && cfg.contains("created") && cfg["created"].is_string()
                                  ? cfg["created"].get<std::string>()
                                  : "");
    } else {
      r.created = "N/A";
    }
    r.size = human_size(static_cast<double>(size), 3);
    rows.push_back(std::move(r));
  }
  if (o.quiet) {  // one ID per row, as Docker prints them (a tagged-twice image twice)
    for (const auto& r : rows) std::printf("%s\n", r.id.c_str());
    return 0;
  }
  if (o.format == "json") {
    for (const auto& r : rows) {
      nlohmann::json j = {{"Repository", r.repo}, {"Tag", r.tag}, {"ID", r.id},
                          {"Digest", r.digest}, {"CreatedSince", r.created}, {"Size", r.size},
                          {"Reference", r.entry.reference},
                          {"Platform", r.entry.platform.to_string()}};
      std::printf("%s\n", j.dump().c_str());
    }
    return 0;
  }
  // Column widths from the content, like Docker's tabwriter with 3 spaces of padding.
  std::vector<std::vector<std::string>> table;
  std::vector<std::string> head = {"REPOSITORY", "TAG"};
  if (o.digests) head.push_back("DIGEST");
  for (const char* h : {"IMAGE ID", "CREATED", "SIZE"}) head.push_back(h);
  table.push_back(head);
  for (const auto& r : rows) {
    std::vector<std::string> cells = {r.repo, r.tag};
    if (o.digests) cells.push_back(r.digest);
    for (const auto& c : {r.id, r.created, r.size}) cells.push_back(c);
    table.push_back(cells);
  }
  std::vector<size_t> width(head.size(), 0);
  for (const auto& row : table)
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  for (const auto& row : table) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 3, ' ');
    }
    std::printf("%s\n", line.c_str());
  }
  return 0;
}

int run_image_rm(const ImageGlobals& ig, const std::vector<std::string>& refs) {
  auto store = open_store(ig);
  if (!store.ok()) return fail(store.error());
  int failures = 0;
  for (const auto& arg : refs) {
    auto ref = img::parse_reference(arg);
    std::string key = ref.ok() ? ref->string() : arg;
    auto st = store->untag(key);
    if (!st.ok()) {
      fail(st.error());
      ++failures;
      continue;
    }
    std::printf("Untagged: %s\n", ref.ok() ? ref->familiar().c_str() : arg.c_str());
  }
  // What no remaining image needs goes now; a pull in progress (EBUSY) defers that to prune.
  auto gc = store->collect_garbage();
  if (gc.ok()) {
    if (gc->blobs_removed + gc->layers_removed > 0) {
      std::printf("Deleted: %d blobs, %d layers, %s\n", gc->blobs_removed, gc->layers_removed,
                  human_size(static_cast<double>(gc->bytes_removed)).c_str());
    }
  } else if (gc.error().code != EBUSY) {
    fail(gc.error());
    ++failures;
  }
  return failures > 0 ? 1 : 0;
}

int run_image_prune(const ImageGlobals& ig) {
  auto store = open_store(ig);
  if (!store.ok()) return fail(store.error());
  auto gc = store->collect_garbage();
  if (!gc.ok()) return fail(gc.error());
  std::printf("Deleted %d blobs and %d layers\nTotal reclaimed space: %s\n", gc->blobs_removed,
              gc->layers_removed, human_size(static_cast<double>(gc->bytes_removed)).c_str());
  return 0;
}

int run_image_tag(const ImageGlobals& ig, const std::string& source, const std::string& target) {
  auto store = open_store(ig);
  if (!store.ok()) return fail(store.error());
  auto src = img::parse_reference(source);
  if (!src.ok()) return fail(src.error());
  auto dst = img::parse_reference(target);
  if (!dst.ok()) return fail(dst.error());
  auto entry = store->resolve(src->string());
  if (!entry) return fail(Error(ENOENT, "no such image: " + source));
  entry->reference = dst->string();
  auto st = store->tag(dst->string(), *entry);
  if (!st.ok()) return fail(st.error());
  return 0;
}

int run_image_inspect(const ImageGlobals& ig, const std::vector<std::string>& refs) {
  auto store = open_store(ig);
  if (!store.ok()) return fail(store.error());
  nlohmann::json out = nlohmann::json::array();
  for (const auto& arg : refs) {
    auto ref = img::parse_reference(arg);
    auto entry = store->resolve(ref.ok() ? ref->string() : arg);
    if (!entry) return fail(Error(ENOENT, "no such image: " + arg));
    auto stored = img::read_stored_image(*store, *entry);
    if (!stored.ok()) return fail(std::move(stored).error().wrap("image " + arg));
    auto lowers = img::image_lower_dirs(*store, *entry);
    nlohmann::json layers = nlohmann::json::array();
    for (const auto& l : stored->manifest.layers)
      layers.push_back({{"Digest", l.digest}, {"Size", l.size}, {"MediaType", l.media_type}});
    out.push_back({
        {"Reference", entry->reference},
        {"Id", entry->config_digest},
        {"Digest", entry->target_digest},
        {"ManifestDigest", entry->manifest_digest},
        {"Platform", entry->platform.to_string()},
        {"PulledAt", entry->pulled_at_unix},
        {"Layers", layers},
        {"LowerDirs", lowers.ok() ? nlohmann::json(*lowers) : nlohmann::json(nullptr)},
        {"Config", nlohmann::json::parse(stored->config_json, nullptr, false)},
    });
  }
  std::printf("%s\n", out.dump(4).c_str());
  return 0;
}

int run_image_load(const ImageGlobals& ig, const std::string& input, bool quiet) {
  auto store = open_store(ig);
  if (!store.ok()) return fail(store.error());
  UniqueFd owned;
  int fd = STDIN_FILENO;
  std::string name = "stdin";
  if (!input.empty() && input != "-") {
    owned = UniqueFd(::open(input.c_str(), O_RDONLY | O_CLOEXEC));
    if (!owned) return fail(errno_error("open " + input));
    fd = owned.get();
    name = input;
  } else if (::isatty(STDIN_FILENO)) {
    return fail(Error(EINVAL, "requested load from stdin, but stdin is a terminal (use -i FILE)"));
  }
  img::FdByteSource source(fd);
  auto r = img::load_archive(*store, source, name);
  if (!r.ok()) return fail(r.error());
  for (const auto& e : r->images) {
    if (quiet) continue;
    auto ref = img::parse_reference(e.reference);
    std::printf("Loaded image: %s\n", ref.ok() ? ref->familiar().c_str() : e.reference.c_str());
  }
  return 0;
}

int run_image_save(const ImageGlobals& ig, const std::string& output,
                   const std::vector<std::string>& refs) {
  auto store = open_store(ig);
  if (!store.ok()) return fail(store.error());
  std::vector<std::string> keys;
  for (const auto& arg : refs) {
    auto ref = img::parse_reference(arg);
    keys.push_back(ref.ok() ? ref->string() : arg);
  }
  if (output.empty() || output == "-") {
    if (::isatty(STDOUT_FILENO))
      return fail(Error(EINVAL, "refusing to write an archive to a terminal (use -o FILE)"));
    auto st = img::save_archive(*store, keys, STDOUT_FILENO);
    return st.ok() ? 0 : fail(st.error());
  }
  // Written beside the target and renamed: a failed save leaves no half archive.
  std::string tmp = output + ".tmp-XXXXXX";
  UniqueFd fd(::mkstemp(tmp.data()));
  if (!fd) return fail(errno_error("create " + output));
  auto st = img::save_archive(*store, keys, fd.get());
  if (st.ok() && ::fsync(fd.get()) != 0) st = errno_error("fsync " + tmp);
  if (st.ok() && ::fchmod(fd.get(), 0644) != 0) st = errno_error("chmod " + tmp);
  if (st.ok() && ::rename(tmp.c_str(), output.c_str()) != 0) st = errno_error("rename to " + output);
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return fail(st.error());
  }
  return 0;
}

int run_image_import(const ImageGlobals& ig, const ImportOptions& o) {
  auto store = open_store(ig);
  if (!store.ok()) return fail(store.error());
  std::string reference = o.reference;
  if (!reference.empty()) {
    auto ref = img::parse_reference(reference);
    if (!ref.ok()) return fail(ref.error());
    reference = ref->string();
  }
  img::ImportOptions io;
  io.changes = o.changes;
  io.message = o.message;
  if (!o.platform.empty()) {
    auto p = img::parse_platform(o.platform);
    if (!p.ok()) return fail(p.error());
    io.platform = *p;
  }
  auto r = img::import_image(*store, o.source, reference, io);
  if (!r.ok()) return fail(r.error());
  std::printf("%s\n", r->config_digest.c_str());
  return 0;
}

int run_login(const ImageGlobals& ig, const LoginOptions& o) {
  std::string server = normalize_server(o.server);
  img::Credentials creds;
  creds.username = o.username;
  creds.password = o.password;
  if (o.password_stdin) {
    if (!o.password.empty())
      return fail(Error(EINVAL, "--password and --password-stdin are mutually exclusive"));
    std::getline(std::cin, creds.password);
    if (!creds.password.empty() && creds.password.back() == '\r') creds.password.pop_back();
  }
  if (creds.username.empty()) return fail(Error(EINVAL, "login: a username is required (-u)"));
  if (creds.password.empty())
    return fail(Error(EINVAL, "login: a password is required (-p or --password-stdin)"));
  auto store = img::CredentialStore::load(img::CredentialStore::default_path());
  if (!store.ok()) return fail(store.error());
  img::RegistryClient client(registry_options(ig));
  auto st = client.check_login(server, creds);
  if (!st.ok()) return fail(img::without_subject(std::move(st).error(), server).wrap("login to " + server));
  auto saved = store->set(server, creds);
  if (!saved.ok()) return fail(saved.error());
  std::printf("Login Succeeded\n");
  return 0;
}

int run_logout(const std::string& server_arg) {
  std::string server = normalize_server(server_arg);
  auto store = img::CredentialStore::load(img::CredentialStore::default_path());
  if (!store.ok()) return fail(store.error());
  auto st = store->erase(server);
  if (!st.ok() && st.error().code == ENOENT) {
    std::printf("Not logged in to %s\n", server.c_str());  // as Docker: not an error
    return 0;
  }
  if (!st.ok()) return fail(st.error());
  std::printf("Removing login credentials for %s\n", server.c_str());
  return 0;
}

}  // namespace stack::cli
