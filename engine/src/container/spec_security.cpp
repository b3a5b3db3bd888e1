// security_opt and seccomp profiles. The one file of engine/src/container that uses
// nlohmann/json: its exceptions stop here. Profiles are Docker's format (moby
// profiles/seccomp/seccomp.go: archMap, name/names, includes/excludes), which is a superset of
// the OCI section; the result goes through the runtime's own parser so that the runtime
// accepts exactly what we hand it.
#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "container/spec_internal.h"
#include "stack/common/atomic_file.h"

namespace stack::engine::container_detail {
namespace {

using Json = nlohmann::json;

#if defined(__x86_64__)
constexpr const char* kNativeSeccompArch = "SCMP_ARCH_X86_64";
constexpr const char* kNativeGoArch = "amd64";
#elif defined(__aarch64__)
constexpr const char* kNativeSeccompArch = "SCMP_ARCH_AARCH64";
constexpr const char* kNativeGoArch = "arm64";
#else
#error "unsupported architecture"
#endif

Result<bool> parse_bool_opt(const std::string& key, const std::string& value) {
  if (value == "true") return true;
  if (value == "false") return false;
  return Error(EINVAL, "security_opt \"" + key + "\": expected true or false, got \"" + value +
                           "\"");
}

bool contains(const Json& list, const std::string& item) {
  if (!list.is_array()) return false;
  return std::any_of(list.begin(), list.end(),
                     [&](const Json& e) { return e.is_string() && e.get<std::string>() == item; });
}

// moby's Filter: includes need every listed cap and the native arch; excludes skip on any.
// minKernel is taken as met: the runtime requires kernels newer than any Docker profile names.
bool rule_applies(const Json& rule, const std::vector<std::string>& caps) {
  auto has_cap = [&](const Json& c) {
    return c.is_string() && std::find(caps.begin(), caps.end(), c.get<std::string>()) != caps.end();
  };
  if (auto in = rule.find("includes"); in != rule.end() && in->is_object()) {
    if (auto a = in->find("arches"); a != in->end() && !a->empty() && !contains(*a, kNativeGoArch))
      return false;
    if (auto c = in->find("caps"); c != in->end() && c->is_array())
      for (const auto& cap : *c)
        if (!has_cap(cap)) return false;
  }
  if (auto ex = rule.find("excludes"); ex != rule.end() && ex->is_object()) {
    if (auto a = ex->find("arches"); a != ex->end() && contains(*a, kNativeGoArch)) return false;
    if (auto c = ex->find("caps"); c != ex->end() && c->is_array())
      for (const auto& cap : *c)
        if (has_cap(cap)) return false;
  }
  return true;
}

// Docker profile → OCI linux.seccomp object (moby setupSeccomp).
Result<Json> to_oci(const Json& profile, const std::vector<std::string>& caps) {
  if (!profile.is_object()) return Error(EINVAL, "expected a JSON object");
  Json out = Json::object();
  for (const char* key : {"defaultAction", "defaultErrnoRet", "flags", "listenerPath",
                          "listenerMetadata"})
    if (auto it = profile.find(key); it != profile.end()) out[key] = *it;
  const bool has_arches = profile.contains("architectures") && !profile["architectures"].empty();
  const bool has_map = profile.contains("archMap") && !profile["archMap"].empty();
  if (has_arches && has_map)
    return Error(EINVAL, "both 'architectures' and 'archMap' are specified");
  if (has_arches) out["architectures"] = profile["architectures"];
  if (has_map && profile["archMap"].is_array()) {
    for (const auto& a : profile["archMap"]) {
      if (!a.is_object() || a.value("architecture", "") != kNativeSeccompArch) continue;
      Json arches = Json::array({kNativeSeccompArch});
      if (auto sub = a.find("subArchitectures"); sub != a.end() && sub->is_array())
        for (const auto& s : *sub) arches.push_back(s);
      out["architectures"] = arches;
    }
  }
  Json syscalls = Json::array();
  if (auto list = profile.find("syscalls"); list != profile.end() && list->is_array()) {
    for (const auto& rule : *list) {
      if (!rule.is_object()) return Error(EINVAL, "syscalls: expected objects");
      const bool has_name = rule.contains("name") && !rule["name"].empty();
      if (has_name && rule.contains("names") && !rule["names"].empty())
        return Error(EINVAL, "syscalls: use either 'name' or 'names'");
      if (!rule_applies(rule, caps)) continue;
      Json r = Json::object();
      for (const char* key : {"names", "action", "errnoRet", "args"})
        if (auto it = rule.find(key); it != rule.end()) r[key] = *it;
      if (has_name) r["names"] = Json::array({rule["name"]});
      syscalls.push_back(std::move(r));
    }
  }
  out["syscalls"] = std::move(syscalls);
  return out;
}

}  // namespace

Result<SecurityOptions> parse_security_opt(const std::vector<std::string>& opts) {
  SecurityOptions out;
  for (const auto& opt : opts) {
    // "key=value", or Docker's deprecated "key:value".
    auto sep = opt.find('=');
    if (sep == std::string::npos) sep = opt.find(':');
    const std::string key = opt.substr(0, sep);
    const std::string value = sep == std::string::npos ? "" : opt.substr(sep + 1);
    if (key == "no-new-privileges") {
      if (sep == std::string::npos) {
        out.no_new_privileges = true;
      } else {
        STACK_TRY(out.no_new_privileges, parse_bool_opt(key, value));
      }
    } else if (key == "seccomp" && !value.empty()) {
      out.seccomp_unconfined = value == "unconfined";
      out.seccomp_profile = out.seccomp_unconfined ? "" : value;
    } else if (key == "apparmor" && !value.empty()) {
      out.apparmor_profile = value == "unconfined" ? "" : value;
    } else if (key == "label" && !value.empty()) {
      // SELinux labels: accepted and ignored, as Docker does on hosts without SELinux.
    } else if (key == "systempaths" && value == "unconfined") {
      out.systempaths_unconfined = true;
    } else if (key == "writable-cgroups" && !value.empty()) {
      STACK_TRY(out.writable_cgroups, parse_bool_opt(key, value));
    } else {
      return Error(EINVAL, "security_opt \"" + opt + "\": unknown option");
    }
  }
  return out;
}

Result<runtime::Seccomp> load_seccomp_profile(const std::string& path,
                                              const std::vector<std::string>& caps) {
  const std::string where = "security_opt seccomp profile " + path;
  auto text = read_file(path);
  if (!text.ok()) return std::move(text).error().wrap(where);
  std::string document;
  try {
    Json profile = Json::parse(*text);
    auto oci = to_oci(profile, caps);
    if (!oci.ok()) return std::move(oci).error().wrap(where);
    Json spec = {{"ociVersion", "1.2.0"}, {"root", {{"path", "/"}}},
                 {"linux", {{"seccomp", std::move(*oci)}}}};
    document = spec.dump();
  } catch (const Json::exception& e) {
    return Error(EINVAL, where + ": " + e.what());
  }
  auto parsed = runtime::parse_spec(document, "/");
  if (!parsed.ok()) return std::move(parsed).error().wrap(where);
  return std::move(*parsed->linux.seccomp);
}

}  // namespace stack::engine::container_detail
