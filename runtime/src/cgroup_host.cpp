// Host layout detection: which cgroup filesystems are mounted where (proc(5) mountinfo) and the
// process's own cgroups (cgroups(7) /proc/[pid]/cgroup).
#include <algorithm>
#include <cctype>
#include <set>
#include <sstream>

#include "cgroup_internal.h"
#include "stack/runtime/cgroup.h"

namespace stack::runtime {
namespace {

using cgroup_detail::join_path;

// The v1 controllers a kernel can mount (Documentation/admin-guide/cgroup-v1); other super
// options of a cgroup mount (rw, noprefix, clone_children, xattr, release_agent=…) are not
// controllers. Named hierarchies ("name=systemd") are keys of their own.
const std::set<std::string>& v1_controller_names() {
  static const std::set<std::string> kNames = {
      "blkio", "cpu",     "cpuacct",  "cpuset",     "devices", "freezer", "hugetlb", "memory",
      "misc",  "net_cls", "net_prio", "perf_event", "pids",    "rdma",    "debug"};
  return kNames;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(s);
  while (std::getline(in, item, sep)) out.push_back(item);
  return out;
}

// mountinfo escapes space, tab, newline and backslash in paths as \ooo (proc(5)).
std::string unescape_octal(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isdigit(static_cast<unsigned char>(s[i + 2])) &&
        std::isdigit(static_cast<unsigned char>(s[i + 3]))) {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

struct MountLine {
  std::string mount_point, fs_type;
  std::vector<std::string> super_options;
};

// "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue": the
// optional fields end at the lone "-".
std::optional<MountLine> parse_mount_line(const std::string& line) {
  std::vector<std::string> fields;
  std::istringstream in(line);
  for (std::string f; in >> f;) fields.push_back(f);
  auto dash = std::find(fields.begin(), fields.end(), "-");
  if (fields.size() < 6 || dash == fields.end() || dash - fields.begin() < 6 ||
      fields.end() - dash < 4) {
    return std::nullopt;
  }
  MountLine m;
  m.mount_point = unescape_octal(fields[4]);
  m.fs_type = *(dash + 1);
  m.super_options = split(*(dash + 3), ',');
  return m;
}

void add_v1_mount(CgroupHost& host, const MountLine& m) {
  for (const auto& opt : m.super_options) {
    bool named = opt.rfind("name=", 0) == 0;
    if (!named && v1_controller_names().count(opt) == 0) continue;
    // The first mount of a hierarchy wins, as in runc's mountinfo scan; later ones are bind
    // mounts of the same hierarchy.
    host.v1.emplace(opt, m.mount_point);
  }
}

}  // namespace

Result<CgroupHost> detect_cgroup_host(const std::string& mountinfo_text,
                                      const std::string& fs_root) {
  CgroupHost host;
  bool have_v1 = false;
  std::istringstream in(mountinfo_text);
  for (std::string line; std::getline(in, line);) {
    auto m = parse_mount_line(line);
    if (!m) continue;
    if (m->fs_type == "cgroup2" && host.unified.empty()) {
      host.unified = m->mount_point;
    } else if (m->fs_type == "cgroup") {
      have_v1 = true;
      add_v1_mount(host, *m);
    }
  }
  if (host.unified.empty() && !have_v1) {
    return Error(ENOENT, "mountinfo: no cgroup or cgroup2 filesystem is mounted");
  }
  if (!host.unified.empty()) {
    std::string dir = join_path(fs_root, host.unified);
    auto controllers_text = cgroup_detail::read_file_in(dir, "cgroup.controllers");
    if (!controllers_text) return std::move(controllers_text).error().wrap("cgroup2 at " + dir);
    std::string controllers = *controllers_text;
    std::istringstream words(controllers);
    for (std::string w; words >> w;) host.unified_controllers.push_back(w);
  }
  if (host.unified.empty()) {
    host.layout = CgroupLayout::kV1;
  } else {
    host.layout = have_v1 ? CgroupLayout::kHybrid : CgroupLayout::kV2;
  }
  return host;
}

std::map<std::string, std::string> parse_proc_cgroup(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    // "hierarchy-ID:controller-list:cgroup-path"; the path may itself contain colons.
    auto first = line.find(':');
    if (first == std::string::npos) continue;
    auto second = line.find(':', first + 1);
    if (second == std::string::npos) continue;
    std::string controllers = line.substr(first + 1, second - first - 1);
    std::string path = line.substr(second + 1);
    if (controllers.empty()) {
      out[""] = path;
      continue;
    }
    for (const auto& c : split(controllers, ',')) out[c] = path;
  }
  return out;
}

}  // namespace stack::runtime
