// The container's process: args (entrypoint/command), environment, working directory, user and
// groups, terminal, rlimits and oom_score_adj — Docker's rules (moby daemon/container.go merge,
// container/container.go CreateDaemonEnvironment, runc libcontainer/user GetExecUser).
#include <sys/resource.h>

#include <charconv>
#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "container/spec_internal.h"
#include "stack/common/path.h"

namespace stack::engine {
namespace {

constexpr const char* kDefaultPath =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

std::string env_key(const std::string& entry) { return entry.substr(0, entry.find('=')); }

bool has_key(const std::vector<std::string>& env, const std::string& key) {
  for (const auto& e : env)
    if (env_key(e) == key) return true;
  return false;
}

// Docker's ReplaceOrAppendEnvValues: an override replaces the default of the same key in place
// or is appended; a bare key removes the default.
std::vector<std::string> replace_or_append(std::vector<std::string> defaults,
                                           const std::vector<std::string>& overrides) {
  for (const auto& o : overrides) {
    const std::string key = env_key(o);
    bool bare = o.find('=') == std::string::npos;
    bool replaced = false;
    for (auto it = defaults.begin(); it != defaults.end(); ++it) {
      if (env_key(*it) != key) continue;
      if (bare) {
        defaults.erase(it);
      } else {
        *it = o;
      }
      replaced = true;
      break;
    }
    if (!replaced && !bare) defaults.push_back(o);
  }
  return defaults;
}

// Ids are non-negative 32-bit numbers below 2^31, as runc accepts them.
std::optional<uint32_t> parse_id(const std::string& text) {
  if (text.empty() || text.size() > 10) return std::nullopt;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || v > 0x7fffffff) return std::nullopt;
  return static_cast<uint32_t>(v);
}

struct PasswdEntry {
  std::string name, home;
  uint32_t uid = 0, gid = 0;
};
struct GroupEntry {
  std::string name;
  uint32_t gid = 0;
  std::vector<std::string> members;
};

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string part;
  std::istringstream in(s);
  while (std::getline(in, part, sep)) out.push_back(part);
  if (!s.empty() && s.back() == sep) out.emplace_back();
  return out;
}

// /etc/passwd: name:password:uid:gid:gecos:home:shell; malformed lines are skipped as libc does.
std::vector<PasswdEntry> parse_passwd(const std::string& text) {
  std::vector<PasswdEntry> out;
  for (const auto& line : split(text, '\n')) {
    auto f = split(line, ':');
    if (f.size() < 4 || f[0].empty()) continue;
    auto uid = parse_id(f[2]);
    auto gid = parse_id(f[3]);
    if (!uid || !gid) continue;
    out.push_back(PasswdEntry{f[0], f.size() > 5 ? f[5] : "", *uid, *gid});
  }
  return out;
}

// /etc/group: name:password:gid:member,member.
std::vector<GroupEntry> parse_group(const std::string& text) {
  std::vector<GroupEntry> out;
  for (const auto& line : split(text, '\n')) {
    auto f = split(line, ':');
    if (f.size() < 3 || f[0].empty()) continue;
    auto gid = parse_id(f[2]);
    if (!gid) continue;
    GroupEntry g{f[0], *gid, {}};
    if (f.size() > 3 && !f[3].empty()) g.members = split(f[3], ',');
    out.push_back(std::move(g));
  }
  return out;
}

const GroupEntry* find_group(const std::vector<GroupEntry>& groups, const std::string& arg) {
  auto id = parse_id(arg);
  for (const auto& g : groups)
    if (g.name == arg || (id && g.gid == *id)) return &g;
  return nullptr;
}

Result<uint32_t> group_id(const std::string& arg, const std::optional<std::string>& group_text,
                          const std::vector<GroupEntry>& groups) {
  if (auto id = parse_id(arg)) return *id;
  if (!group_text)
    return Error(EINVAL, "group \"" + arg + "\": group names need the image's /etc/group");
  if (const GroupEntry* g = find_group(groups, arg)) return g->gid;
  return Error(ENOENT, "group \"" + arg + "\": no such group in the image's /etc/group");
}

}  // namespace

std::vector<std::string> effective_command(const compose::Service& service,
                                           const image::ImageConfig& image) {
  std::vector<std::string> entrypoint = service.entrypoint ? *service.entrypoint : image.entrypoint;
  std::vector<std::string> cmd;
  if (service.command) {
    cmd = *service.command;  // explicitly empty clears the image's Cmd (compose model contract)
  } else if (!service.entrypoint || service.entrypoint->empty()) {
    // moby merge(): the image's Cmd applies only when no (non-empty) entrypoint overrides it.
    cmd = image.cmd;
  }
  entrypoint.insert(entrypoint.end(), cmd.begin(), cmd.end());
  return entrypoint;
}

std::vector<std::string> effective_environment(const compose::Service& service,
                                               const image::ImageConfig& image) {
  std::vector<std::string> user;
  for (const auto& [key, value] : service.environment)
    user.push_back(value ? key + "=" + *value : key);
  std::vector<std::string> out;
  for (const auto& u : user)
    if (u.find('=') != std::string::npos) out.push_back(u);
  for (const auto& e : image.env)
    if (!has_key(user, env_key(e))) out.push_back(e);
  return out;
}

Result<runtime::User> resolve_user(const std::string& user,
                                   const std::vector<std::string>& group_add,
                                   const std::optional<std::string>& passwd,
                                   const std::optional<std::string>& group, std::string* home) {
  const auto colon = user.find(':');
  std::string user_arg = user.substr(0, colon);
  const std::string group_arg = colon == std::string::npos ? "" : user.substr(colon + 1);
  if (colon != std::string::npos && (user_arg.empty() || group_arg.empty()))
    return Error(EINVAL, "user \"" + user + "\": expected uid[:gid] or name[:group]");
  if (user_arg.empty()) user_arg = "0";

  const auto users = passwd ? parse_passwd(*passwd) : std::vector<PasswdEntry>{};
  const auto groups = group ? parse_group(*group) : std::vector<GroupEntry>{};
  runtime::User out;
  const PasswdEntry* entry = nullptr;
  auto uid = parse_id(user_arg);
  for (const auto& u : users)
    if (uid ? u.uid == *uid : u.name == user_arg) {
      entry = &u;
      break;
    }
  if (uid) {
    out.uid = *uid;
  } else if (!passwd) {
    return Error(EINVAL, "user \"" + user_arg + "\": user names need the image's /etc/passwd");
  } else if (!entry) {
    return Error(ENOENT, "user \"" + user_arg + "\": no such user in the image's /etc/passwd");
  } else {
    out.uid = entry->uid;
  }
  if (entry) {
    out.gid = entry->gid;
    if (home != nullptr) *home = entry->home;
  }
  if (!group_arg.empty()) {
    STACK_TRY(out.gid, group_id(group_arg, group, groups));
  } else if (entry) {
    // Supplementary groups only in the implicit form (runc GetExecUser).
    for (const auto& g : groups)
      for (const auto& m : g.members)
        if (m == entry->name) {
          out.additional_gids.push_back(g.gid);
          break;
        }
  }
  for (const auto& g : group_add) {
    auto id = group_id(g, group, groups);
    if (!id.ok()) return std::move(id).error().wrap("group_add");
    out.additional_gids.push_back(*id);
  }
  return out;
}

namespace container_detail {

Result<std::vector<runtime::Rlimit>> ulimits_to_rlimits(
    const std::map<std::string, compose::Ulimit>& ulimits) {
  // moby's go-units ulimit names.
  static const std::map<std::string, std::pair<const char*, int>> kNames = {
      {"as", {"RLIMIT_AS", RLIMIT_AS}},
      {"core", {"RLIMIT_CORE", RLIMIT_CORE}},
      {"cpu", {"RLIMIT_CPU", RLIMIT_CPU}},
      {"data", {"RLIMIT_DATA", RLIMIT_DATA}},
      {"fsize", {"RLIMIT_FSIZE", RLIMIT_FSIZE}},
      {"locks", {"RLIMIT_LOCKS", RLIMIT_LOCKS}},
      {"memlock", {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}},
      {"msgqueue", {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}},
      {"nice", {"RLIMIT_NICE", RLIMIT_NICE}},
      {"nofile", {"RLIMIT_NOFILE", RLIMIT_NOFILE}},
      {"nproc", {"RLIMIT_NPROC", RLIMIT_NPROC}},
      {"rss", {"RLIMIT_RSS", RLIMIT_RSS}},
      {"rtprio", {"RLIMIT_RTPRIO", RLIMIT_RTPRIO}},
      {"rttime", {"RLIMIT_RTTIME", RLIMIT_RTTIME}},
      {"sigpending", {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING}},
      {"stack", {"RLIMIT_STACK", RLIMIT_STACK}},
  };
  std::vector<runtime::Rlimit> out;
  for (const auto& [name, u] : ulimits) {
    const std::string at = "ulimits." + name;
    auto it = kNames.find(name);
    if (it == kNames.end()) return Error(EINVAL, at + ": unknown ulimit \"" + name + "\"");
    int64_t soft = u.single != 0 ? u.single : u.soft;
    int64_t hard = u.single != 0 ? u.single : u.hard;
    // -1 is "unlimited" in Docker's syntax.
    auto value = [](int64_t v) { return v < 0 ? uint64_t{RLIM_INFINITY} : uint64_t(v); };
    if ((soft < 0 && soft != -1) || (hard < 0 && hard != -1))
      return Error(EINVAL, at + ": limits must be -1 (unlimited) or non-negative");
    if (value(soft) > value(hard))
      return Error(EINVAL, at + ": soft limit " + std::to_string(soft) + " above hard limit " +
                               std::to_string(hard));
    out.push_back(runtime::Rlimit{it->second.first, it->second.second, value(soft), value(hard)});
  }
  return out;
}

Status apply_process(const compose::Service& svc, const image::ImageConfig& image,
                     const ContainerContext& ctx, runtime::Spec& spec) {
  runtime::Process& p = *spec.process;
  p.args = effective_command(svc, image);
  if (p.args.empty()) return Error(EINVAL, "no command specified");
  p.terminal = svc.tty;

  std::string cwd = !svc.working_dir.empty() ? svc.working_dir : image.working_dir;
  if (cwd.empty()) cwd = "/";
  if (cwd.front() != '/')
    return Error(EINVAL, "working_dir \"" + cwd + "\": must be an absolute path");
  p.cwd = clean_path(cwd);

  std::string home;
  const std::string& user = !svc.user.empty() ? svc.user : image.user;
  auto ids = resolve_user(user, svc.group_add, ctx.passwd, ctx.group, &home);
  if (!ids.ok()) return std::move(ids).error().wrap(svc.user.empty() ? "image user" : "user");
  p.user = std::move(*ids);

  // CreateDaemonEnvironment: PATH unless configured, HOSTNAME, TERM with a tty, then the
  // configured environment over them.
  const std::vector<std::string> configured = effective_environment(svc, image);
  std::vector<std::string> daemon;
  if (!has_key(configured, "PATH")) daemon.push_back(kDefaultPath);
  if (!spec.hostname.empty()) daemon.push_back("HOSTNAME=" + spec.hostname);  // not uts host
  if (svc.tty) daemon.push_back("TERM=xterm");
  p.env = replace_or_append(std::move(daemon), configured);
  // runc's init sets HOME from /etc/passwd when unset; our runtime leaves it to us.
  if (!has_key(p.env, "HOME") && !home.empty()) p.env.push_back("HOME=" + home);

  STACK_TRY(p.rlimits, ulimits_to_rlimits(svc.ulimits));
  if (svc.oom_score_adj < -1000 || svc.oom_score_adj > 1000)
    return Error(EINVAL, "oom_score_adj " + std::to_string(svc.oom_score_adj) +
                             ": must be between -1000 and 1000");
  if (svc.oom_score_adj != 0) p.oom_score_adj = static_cast<int>(svc.oom_score_adj);
  return {};
}

}  // namespace container_detail
}  // namespace stack::engine
