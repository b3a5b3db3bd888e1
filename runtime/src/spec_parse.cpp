// parse_spec() and parse_process(): config.json's top level, process, root, mounts and hooks.
// Every problem is collected with its JSON path; the caller gets them all in one Error, one per
// line, in document order.
#include <algorithm>
#include <cerrno>
#include <exception>
#include <set>

#include "spec_internal.h"
#include "stack/common/path.h"

namespace stack::runtime {
namespace spec_detail {
namespace {

// (uid_t)-1 tells setresuid(2)/setresgid(2) "leave unchanged": as an ID it would silently keep
// the runtime's own (root) identity.
constexpr uint32_t kUnchangedId = 0xFFFFFFFFu;

void check_id(Reader& r, const std::string& path, uint32_t id) {
  if (id == kUnchangedId)
    r.fail(path, "4294967295 is not a valid ID (setresuid(2) reads it as \"unchanged\")");
}

void parse_user(Reader& r, const Json& j, const std::string& path, User& out) {
  // uid and gid are REQUIRED by the spec, but runc takes a missing one as 0: so do we.
  if (r.field(j, path, "uid", out.uid)) check_id(r, join_path(path, "uid"), out.uid);
  if (r.field(j, path, "gid", out.gid)) check_id(r, join_path(path, "gid"), out.gid);
  uint32_t umask = 0;
  if (r.field(j, path, "umask", umask)) {
    if (umask > 0777)
      r.fail(join_path(path, "umask"), std::to_string(umask) + " is out of range (0..511, 0777)");
    else
      out.umask = umask;
  }
  if (r.field(j, path, "additionalGids", out.additional_gids))
    for (size_t i = 0; i < out.additional_gids.size(); ++i)
      check_id(r, index_path(join_path(path, "additionalGids"), i), out.additional_gids[i]);
}

bool is_capability_name(const std::string& name) {
  if (name.size() <= 4 || name.compare(0, 4, "CAP_") != 0) return false;
  return std::all_of(name.begin() + 4, name.end(),
                     [](char c) { return (c >= 'A' && c <= 'Z') || c == '_'; });
}

void parse_capabilities(Reader& r, const Json& j, const std::string& path, Capabilities& out) {
  const std::pair<const char*, std::vector<std::string>*> sets[] = {
      {"bounding", &out.bounding},
      {"effective", &out.effective},
      {"inheritable", &out.inheritable},
      {"permitted", &out.permitted},
      {"ambient", &out.ambient}};
  for (const auto& [key, names] : sets) {
    if (!r.field(j, path, key, *names)) continue;
    for (size_t i = 0; i < names->size(); ++i)
      if (!is_capability_name((*names)[i]))
        r.fail(index_path(join_path(path, key), i),
               "invalid capability name \"" + (*names)[i] + "\"");
  }
}

void parse_rlimits(Reader& r, const Json& j, const std::string& path, std::vector<Rlimit>& out) {
  std::set<std::string> seen;
  r.each(j, path, "rlimits", [&](const Json& e, const std::string& at) {
    Rlimit limit;
    bool ok = r.required(e, at, "type", limit.type);
    ok = r.required(e, at, "soft", limit.soft) && ok;
    ok = r.required(e, at, "hard", limit.hard) && ok;
    if (!ok) return;
    std::optional<int> resource = rlimit_resource(limit.type);
    if (!resource) {
      r.fail(join_path(at, "type"), "unknown rlimit \"" + limit.type + "\"");
      return;
    }
    if (!seen.insert(limit.type).second) {
      r.fail(join_path(at, "type"), "duplicate rlimit \"" + limit.type + "\"");
      return;
    }
    if (limit.soft > limit.hard) {
      r.fail(join_path(at, "soft"),
             std::to_string(limit.soft) + " exceeds hard limit " + std::to_string(limit.hard));
      return;
    }
    limit.resource = *resource;
    out.push_back(std::move(limit));
  });
}

void parse_process_strings(Reader& r, const Json& j, const std::string& path, Process& out) {
  if (r.required(j, path, "cwd", out.cwd) && !is_absolute(out.cwd))
    r.fail(join_path(path, "cwd"), "must be an absolute path");
  if (r.field(j, path, "env", out.env)) {
    for (size_t i = 0; i < out.env.size(); ++i) {
      // execve(2) takes any string, but runc refuses an entry it cannot split into NAME=VALUE.
      size_t eq = out.env[i].find('=');
      if (eq == std::string::npos || eq == 0)
        r.fail(index_path(join_path(path, "env"), i),
               "\"" + out.env[i] + "\" is not of the form NAME=VALUE");
    }
  }
  const Json* args = Reader::member(j, "args");
  if (args == nullptr || (args->is_array() && args->empty()))
    r.fail(join_path(path, "args"), "must not be empty");
  else
    r.read(*args, join_path(path, "args"), out.args);
  r.field(j, path, "apparmorProfile", out.apparmor_profile);
  r.field(j, path, "selinuxLabel", out.selinux_label);
}

}  // namespace

void parse_process_object(Reader& r, const Json& j, const std::string& path, Process& out) {
  r.field(j, path, "terminal", out.terminal);
  r.object(j, path, "consoleSize", [&](const Json& o, const std::string& at) {
    // struct winsize holds unsigned shorts (tty_ioctl(4)).
    uint16_t height = 0, width = 0;
    r.field(o, at, "height", height);
    r.field(o, at, "width", width);
    out.console_size = ConsoleSize{height, width};
  });
  parse_process_strings(r, j, path, out);
  r.object(j, path, "user",
           [&](const Json& o, const std::string& at) { parse_user(r, o, at, out.user); });
  r.object(j, path, "capabilities", [&](const Json& o, const std::string& at) {
    out.capabilities.emplace();
    parse_capabilities(r, o, at, *out.capabilities);
  });
  parse_rlimits(r, j, path, out.rlimits);
  r.field(j, path, "noNewPrivileges", out.no_new_privileges);
  int adj = 0;
  if (r.field(j, path, "oomScoreAdj", adj)) {
    // proc(5): /proc/pid/oom_score_adj takes -1000..1000.
    if (adj < -1000 || adj > 1000)
      r.fail(join_path(path, "oomScoreAdj"),
             std::to_string(adj) + " is out of range (-1000..1000)");
    else
      out.oom_score_adj = adj;
  }
}

namespace {

std::string resolve_in_bundle(const std::string& path, const std::string& bundle_dir) {
  if (is_absolute(path) || bundle_dir.empty()) return clean_path(path);
  return clean_path(bundle_dir + "/" + path);
}

bool is_bind_mount(const Mount& m) {
  if (m.type == "bind") return true;
  return std::any_of(m.options.begin(), m.options.end(),
                     [](const std::string& o) { return o == "bind" || o == "rbind"; });
}

void parse_mounts(Reader& r, const Json& doc, const std::string& bundle_dir,
                  std::vector<Mount>& out) {
  r.each(doc, "", "mounts", [&](const Json& e, const std::string& at) {
    Mount m;
    if (r.required(e, at, "destination", m.destination)) {
      if (is_absolute(m.destination))
        m.destination = clean_path(m.destination);
      else
        r.fail(join_path(at, "destination"), "must be an absolute path");
    }
    r.field(e, at, "type", m.type);
    r.field(e, at, "source", m.source);
    r.field(e, at, "options", m.options);
    for (const char* key : {"uidMappings", "gidMappings"}) {
      const Json* maps = Reader::member(e, key);
      if (maps != nullptr && !(maps->is_array() && maps->empty()))
        r.fail(join_path(at, key), "idmapped mounts are not supported");
    }
    // config.md: a relative bind source is relative to the bundle; other sources ("proc",
    // "tmpfs") name no file.
    if (is_bind_mount(m) && !m.source.empty()) m.source = resolve_in_bundle(m.source, bundle_dir);
    out.push_back(std::move(m));
  });
}

void parse_hook_list(Reader& r, const Json& j, const std::string& path, const char* key,
                     std::vector<Hook>& out) {
  r.each(j, path, key, [&](const Json& e, const std::string& at) {
    Hook hook;
    if (r.required(e, at, "path", hook.path) && !is_absolute(hook.path))
      r.fail(join_path(at, "path"), "must be an absolute path");
    r.field(e, at, "args", hook.args);
    r.field(e, at, "env", hook.env);
    int timeout = 0;
    if (r.field(e, at, "timeout", timeout)) {
      if (timeout <= 0)
        r.fail(join_path(at, "timeout"), "must be greater than zero");
      else
        hook.timeout_s = timeout;
    }
    out.push_back(std::move(hook));
  });
}

void parse_hooks(Reader& r, const Json& j, const std::string& path, Hooks& out) {
  parse_hook_list(r, j, path, "prestart", out.prestart);
  parse_hook_list(r, j, path, "createRuntime", out.create_runtime);
  parse_hook_list(r, j, path, "createContainer", out.create_container);
  parse_hook_list(r, j, path, "startContainer", out.start_container);
  parse_hook_list(r, j, path, "poststart", out.poststart);
  parse_hook_list(r, j, path, "poststop", out.poststop);
}

// config.md makes root optional only where the platform has none; on Linux it is required.
void parse_root(Reader& r, const Json& doc, const std::string& bundle_dir, Root& out) {
  if (Reader::member(doc, "root") == nullptr) {
    r.fail("root", "required");
    return;
  }
  r.object(doc, "", "root", [&](const Json& o, const std::string& at) {
    if (r.required(o, at, "path", out.path)) {
      if (out.path.empty())
        r.fail("root.path", "must not be empty");
      else
        out.path = resolve_in_bundle(out.path, bundle_dir);
    }
    r.field(o, at, "readonly", out.readonly);
  });
}

void parse_document(Reader& r, const Json& doc, const std::string& bundle_dir, Spec& spec) {
  if (r.required(doc, "", "ociVersion", spec.oci_version) && spec.oci_version.empty())
    r.fail("ociVersion", "must not be empty");
  parse_root(r, doc, bundle_dir, spec.root);
  r.object(doc, "", "process", [&](const Json& o, const std::string& at) {
    spec.process.emplace();
    parse_process_object(r, o, at, *spec.process);
  });
  r.field(doc, "", "hostname", spec.hostname);
  r.field(doc, "", "domainname", spec.domainname);
  parse_mounts(r, doc, bundle_dir, spec.mounts);
  r.object(doc, "", "hooks",
           [&](const Json& o, const std::string& at) { parse_hooks(r, o, at, spec.hooks); });
  r.field(doc, "", "annotations", spec.annotations);
  r.object(doc, "", "linux",
           [&](const Json& o, const std::string& at) { parse_linux_object(r, o, at, spec.linux); });
}

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) {
    if (!out.empty()) out += '\n';
    out += line;
  }
  return out;
}

// Parses text as one JSON object and hands it to fill(); exceptions stop here (§3).
template <class T, class Fill>
Result<T> parse_with(const std::string& text, const std::string& syntax_prefix,
                     const std::string& root_path, Fill&& fill) {
  try {
    Json doc;
    try {
      doc = Json::parse(text);
    } catch (const Json::parse_error& e) {
      return Error(EINVAL, syntax_prefix + describe_parse_error(text, e.byte, e.what()));
    }
    Reader r;
    T out{};
    if (!doc.is_object())
      r.expect_object(doc, root_path);
    else
      fill(r, doc, out);
    if (!r.errors().empty()) return Error(EINVAL, join_lines(r.errors()));
    return out;
  } catch (const std::exception& e) {
    return Error(EINVAL, syntax_prefix + e.what());
  }
}

}  // namespace
}  // namespace spec_detail

Result<Spec> parse_spec(const std::string& json_text, const std::string& bundle_dir) {
  using namespace spec_detail;
  return parse_with<Spec>(
      json_text, "config.json: ", "config.json",
      [&](Reader& r, const Json& doc, Spec& spec) { parse_document(r, doc, bundle_dir, spec); });
}

Result<Process> parse_process(const std::string& json_text) {
  using namespace spec_detail;
  return parse_with<Process>(json_text, "", "process",
                             [&](Reader& r, const Json& doc, Process& process) {
                               parse_process_object(r, doc, "process", process);
                             });
}

}  // namespace stack::runtime
