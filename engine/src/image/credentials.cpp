// CredentialStore: the "auths" section of Docker's config.json, rewritten atomically with every
// other key kept (and kept in place: ordered_json preserves the file's key order).
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "image/registry_internal.h"
#include "stack/common/atomic_file.h"

namespace stack::engine::image {
namespace {

using Json = nlohmann::ordered_json;

// Docker's own key for Docker Hub, written by `docker login`.
constexpr std::string_view kDockerHubKey = "https://index.docker.io/v1/";

bool is_docker_hub(std::string_view host) {
  return host == "docker.io" || host == "index.docker.io" ||
         host == registry_detail::api_host("docker.io");
}

// The host an "auths" key names: Docker accepts "host", "https://host" and "https://host/v1/".
std::string key_host(std::string_view key) {
  if (size_t scheme = key.find("://"); scheme != std::string_view::npos) {
    key.remove_prefix(scheme + 3);
  }
  return std::string(key.substr(0, key.find('/')));
}

bool key_matches(std::string_view key, std::string_view host) {
  std::string k = key_host(key);
  return k == host || (is_docker_hub(host) && is_docker_hub(k));
}

Result<Json> parse(const std::string& text, const std::string& path) {
  if (text.empty()) return Json::object();
  Json doc = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Error(EINVAL, path + ": not valid JSON");
  if (!doc.is_object()) return Error(EINVAL, path + ": expected a JSON object");
  if (auto it = doc.find("auths"); it != doc.end() && !it->is_object()) {
    return Error(EINVAL, path + ": \"auths\" must be an object");
  }
  return doc;
}

std::string string_field(const Json& entry, const char* name) {
  auto it = entry.find(name);
  return it != entry.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::optional<Credentials> decode_entry(const Json& entry) {
  if (!entry.is_object()) return std::nullopt;
  Credentials c;
  if (std::string auth = string_field(entry, "auth"); !auth.empty()) {
    auto decoded = registry_detail::base64_decode(auth);
    if (!decoded) return std::nullopt;
    size_t colon = decoded->find(':');
    if (colon == std::string::npos) return std::nullopt;
    c.username = decoded->substr(0, colon);
    c.password = decoded->substr(colon + 1);
  } else {
    c.username = string_field(entry, "username");
    c.password = string_field(entry, "password");
  }
  c.identity_token = string_field(entry, "identitytoken");
  if (c.empty()) return std::nullopt;
  return c;
}

std::string dir_of(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

std::string CredentialStore::default_path() {
  if (const char* dir = std::getenv("DOCKER_CONFIG"); dir != nullptr && *dir != '\0') {
    return std::string(dir) + "/config.json";
  }
  std::string home;
  if (const char* h = std::getenv("HOME"); h != nullptr && *h != '\0') {
    home = h;
  } else if (const passwd* pw = ::getpwuid(::getuid()); pw != nullptr && pw->pw_dir != nullptr) {
    home = pw->pw_dir;
  } else {
    home = "/root";
  }
  return home + "/.docker/config.json";
}

Result<CredentialStore> CredentialStore::load(const std::string& path) {
  CredentialStore store;
  store.path_ = path;
  auto text = read_file(path);
  if (!text.ok()) {
    if (text.error().code == ENOENT) return store;
    return std::move(text).error();
  }
  STACK_TRY(Json doc, parse(*text, path));  // validate now, so that set() never clobbers it
  (void)doc;
  store.json_ = std::move(*text);
  return store;
}

std::optional<Credentials> CredentialStore::get(std::string_view registry_host) const {
  auto doc = parse(json_, path_);
  if (!doc.ok() || !doc->contains("auths")) return std::nullopt;
  const Json& auths = (*doc)["auths"];
  // The exact key first, then Docker Hub's aliases and URL-shaped keys.
  if (auto it = auths.find(std::string(registry_host)); it != auths.end()) {
    if (auto c = decode_entry(*it)) return c;
  }
  for (const auto& [key, entry] : auths.items()) {
    if (key_matches(key, registry_host)) {
      if (auto c = decode_entry(entry)) return c;
    }
  }
  return std::nullopt;
}

Status CredentialStore::set(std::string_view registry_host, const Credentials& creds) {
  STACK_TRY(Json doc, parse(json_, path_));
  Json& auths = doc["auths"];
  if (!auths.is_object()) auths = Json::object();
  std::string key = is_docker_hub(registry_host) ? std::string(kDockerHubKey)
                                                 : std::string(registry_host);
  // One entry per registry: drop other spellings of the same host.
  for (auto it = auths.begin(); it != auths.end();) {
    if (it.key() != key && key_matches(it.key(), registry_host)) {
      it = auths.erase(it);
    } else {
      ++it;
    }
  }
  Json entry = Json::object();
  if (!creds.username.empty() || !creds.password.empty()) {
    entry["auth"] = registry_detail::base64_encode(creds.username + ":" + creds.password);
  }
  if (!creds.identity_token.empty()) entry["identitytoken"] = creds.identity_token;
  auths[key] = std::move(entry);

  std::string dir = dir_of(path_);
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return errno_error("create " + dir);
  }
  std::string text = doc.dump(1, '\t') + "\n";
  STACK_TRY_VOID(write_file_atomic(path_, text, 0600));
  json_ = std::move(text);
  return {};
}

Status CredentialStore::erase(std::string_view registry_host) {
  STACK_TRY(Json doc, parse(json_, path_));
  bool found = false;
  if (auto a = doc.find("auths"); a != doc.end()) {
    for (auto it = a->begin(); it != a->end();) {
      if (key_matches(it.key(), registry_host)) {
        it = a->erase(it);
        found = true;
      } else {
        ++it;
      }
    }
  }
  if (!found) return Error(ENOENT, "not logged in to " + std::string(registry_host));
  std::string text = doc.dump(1, '\t') + "\n";
  STACK_TRY_VOID(write_file_atomic(path_, text, 0600));
  json_ = std::move(text);
  return {};
}

}  // namespace stack::engine::image
