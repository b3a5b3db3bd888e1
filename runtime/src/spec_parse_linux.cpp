// The "linux" object of config.json (config-linux.md): namespaces, ID mappings, time offsets,
// devices, propagation, sysctl, masked/readonly paths, personality. Resources and seccomp are in
// spec_parse_resources.cpp.
#include <set>

#include "spec_internal.h"

namespace stack::runtime::spec_detail {
namespace {

void parse_namespaces(Reader& r, const Json& j, const std::string& path,
                      std::vector<Namespace>& out) {
  std::set<std::string> seen;
  r.each(j, path, "namespaces", [&](const Json& e, const std::string& at) {
    Namespace ns;
    if (!r.required(e, at, "type", ns.type)) return;
    if (!is_namespace_type(ns.type)) {
      r.fail(join_path(at, "type"), "unknown namespace \"" + ns.type + "\"");
      return;
    }
    if (!seen.insert(ns.type).second) {
      // config-linux.md: a duplicated type is an error.
      r.fail(join_path(at, "type"), "duplicate namespace \"" + ns.type + "\"");
      return;
    }
    if (r.field(e, at, "path", ns.path) && !ns.path.empty() && !is_absolute(ns.path))
      r.fail(join_path(at, "path"), "must be an absolute path");
    out.push_back(std::move(ns));
  });
}

void parse_id_mappings(Reader& r, const Json& j, const std::string& path, const char* key,
                       std::vector<IdMapping>& out) {
  r.each(j, path, key, [&](const Json& e, const std::string& at) {
    IdMapping m;
    bool ok = r.required(e, at, "containerID", m.container_id);
    ok = r.required(e, at, "hostID", m.host_id) && ok;
    const Json* size = Reader::member(e, "size");
    if (size == nullptr) {
      r.fail(join_path(at, "size"), "required");
      return;
    }
    // user_namespaces(7): a zero-length line makes the whole uid_map write fail with EINVAL.
    if (!size->is_number_unsigned() || size->get<uint64_t>() == 0 ||
        size->get<uint64_t>() > 0xFFFFFFFFu) {
      r.fail(join_path(at, "size"), "must be a positive integer");
      return;
    }
    m.size = static_cast<uint32_t>(size->get<uint64_t>());
    if (ok) out.push_back(m);
  });
}

void parse_time_offsets(Reader& r, const Json& j, const std::string& path,
                        std::map<std::string, TimeOffset>& out) {
  r.object(j, path, "timeOffsets", [&](const Json& o, const std::string& at) {
    for (const auto& [clock, value] : o.items()) {
      std::string entry = join_path(at, clock);
      // time_namespaces(7): only these two clocks can be offset.
      if (clock != "monotonic" && clock != "boottime") {
        r.fail(entry, "unknown clock \"" + clock + "\" (expected monotonic or boottime)");
        continue;
      }
      if (!r.expect_object(value, entry)) continue;
      TimeOffset offset;
      r.field(value, entry, "secs", offset.secs);
      if (r.field(value, entry, "nanosecs", offset.nanosecs) && offset.nanosecs >= 1000000000u)
        r.fail(join_path(entry, "nanosecs"), "must be less than 1000000000");
      out[clock] = offset;
    }
  });
}

void parse_devices(Reader& r, const Json& j, const std::string& path, std::vector<Device>& out) {
  r.each(j, path, "devices", [&](const Json& e, const std::string& at) {
    Device d;
    if (r.required(e, at, "path", d.path) && !is_absolute(d.path))
      r.fail(join_path(at, "path"), "must be an absolute path");
    std::string type;
    if (r.required(e, at, "type", type)) {
      if (type.size() != 1 || std::string("cbup").find(type[0]) == std::string::npos)
        r.fail(join_path(at, "type"),
               "unknown device type \"" + type + "\" (expected c, b, u or p)");
      else
        d.type = type[0];
    }
    // mknod(2) ignores the numbers of a FIFO; every other type needs both.
    if (type != "p") {
      r.required(e, at, "major", d.major);
      r.required(e, at, "minor", d.minor);
    }
    r.optional(e, at, "fileMode", d.file_mode);
    r.optional(e, at, "uid", d.uid);
    r.optional(e, at, "gid", d.gid);
    out.push_back(std::move(d));
  });
}

void parse_path_list(Reader& r, const Json& j, const std::string& path, const char* key,
                     std::vector<std::string>& out) {
  if (!r.field(j, path, key, out)) return;
  for (size_t i = 0; i < out.size(); ++i)
    if (!is_absolute(out[i]))
      r.fail(index_path(join_path(path, key), i), "must be an absolute path");
}

void parse_misc(Reader& r, const Json& j, const std::string& path, Linux& out) {
  r.field(j, path, "cgroupsPath", out.cgroups_path);
  if (r.field(j, path, "rootfsPropagation", out.rootfs_propagation) &&
      !out.rootfs_propagation.empty() && !is_rootfs_propagation(out.rootfs_propagation))
    r.fail(join_path(path, "rootfsPropagation"),
           "unknown propagation \"" + out.rootfs_propagation +
               "\" (expected private, rprivate, slave, rslave, shared, rshared, unbindable or "
               "runbindable)");
  if (r.field(j, path, "sysctl", out.sysctl) && out.sysctl.count("") != 0)
    r.fail(join_path(path, "sysctl"), "keys must not be empty");
  parse_path_list(r, j, path, "maskedPaths", out.masked_paths);
  parse_path_list(r, j, path, "readonlyPaths", out.readonly_paths);
  r.field(j, path, "mountLabel", out.mount_label);
  r.object(j, path, "personality", [&](const Json& o, const std::string& at) {
    std::string domain;
    if (!r.required(o, at, "domain", domain)) return;
    if (domain != "LINUX" && domain != "LINUX32")
      r.fail(join_path(at, "domain"),
             "unknown domain \"" + domain + "\" (expected LINUX or LINUX32)");
    else
      out.personality_domain = domain;
  });
}

// Cross-field rules, after the fields themselves parsed. Same conditions as runc's
// libcontainer/configs/validate (usernamespace, timens).
void check_namespace_rules(Reader& r, const std::string& path, const Linux& l) {
  const Namespace* user = nullptr;
  const Namespace* time = nullptr;
  for (const auto& ns : l.namespaces) {
    if (ns.type == "user") user = &ns;
    if (ns.type == "time") time = &ns;
  }
  bool has_mappings = !l.uid_mappings.empty() || !l.gid_mappings.empty();
  if (user == nullptr) {
    if (!l.uid_mappings.empty())
      r.fail(join_path(path, "uidMappings"), "requires a user namespace in linux.namespaces");
    if (!l.gid_mappings.empty())
      r.fail(join_path(path, "gidMappings"), "requires a user namespace in linux.namespaces");
  } else if (user->path.empty() && !has_mappings) {
    r.fail(join_path(path, "namespaces"),
           "a new user namespace needs linux.uidMappings or linux.gidMappings");
  }
  if (time == nullptr && !l.time_offsets.empty())
    r.fail(join_path(path, "timeOffsets"), "requires a time namespace in linux.namespaces");
}

}  // namespace

void parse_linux_object(Reader& r, const Json& j, const std::string& path, Linux& out) {
  parse_namespaces(r, j, path, out.namespaces);
  parse_id_mappings(r, j, path, "uidMappings", out.uid_mappings);
  parse_id_mappings(r, j, path, "gidMappings", out.gid_mappings);
  parse_time_offsets(r, j, path, out.time_offsets);
  parse_devices(r, j, path, out.devices);
  r.object(j, path, "resources", [&](const Json& o, const std::string& at) {
    out.resources.emplace();
    parse_resources_object(r, o, at, *out.resources);
  });
  r.object(j, path, "seccomp", [&](const Json& o, const std::string& at) {
    out.seccomp.emplace();
    parse_seccomp_object(r, o, at, *out.seccomp);
  });
  parse_misc(r, j, path, out);
  check_namespace_rules(r, path, out);
}

}  // namespace stack::runtime::spec_detail
