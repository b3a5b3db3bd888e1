// File access below cgroup directories; see cgroup_internal.h for the fake-tree rule.
#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <thread>

#include "cgroup_internal.h"
#include "stack/common/unique_fd.h"

namespace stack::runtime::cgroup_detail {
namespace {

// Kernel cgroup_rmdir returns EBUSY while exiting tasks still hold the css; runc retries for
// about a second in the same way (libcontainer/cgroups RemovePath / rmdir).
constexpr int kRmdirAttempts = 100;
constexpr auto kRmdirPause = std::chrono::milliseconds(10);

UniqueFd open_for_write(const std::string& dir, const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
  if (!fd && errno == ENOENT && !on_cgroup_fs(dir)) {
    fd.reset(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CREAT | O_CLOEXEC, 0644));
  }
  return fd;
}

}  // namespace

std::vector<std::string> subdirectories(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    if (e->d_type == DT_DIR) out.push_back(join_path(dir, name));
  }
  ::closedir(d);
  return out;
}

namespace {

void unlink_plain_files(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  while (struct dirent* e = ::readdir(d)) {
    if (e->d_type == DT_REG) ::unlinkat(::dirfd(d), e->d_name, 0);
  }
  ::closedir(d);
}

}  // namespace

std::string join_path(const std::string& a, const std::string& b) {
  if (b.empty()) return a;
  if (a.empty()) return b;
  std::string out = a;
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  size_t start = 0;
  while (start < b.size() && b[start] == '/') ++start;
  if (start == b.size()) return out;
  if (out != "/") out += '/';
  out += b.substr(start);
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

std::string parent_path(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return "/";
  return path.substr(0, slash);
}

bool on_cgroup_fs(const std::string& dir) {
  struct statfs st {};
  if (::statfs(dir.c_str(), &st) != 0) return false;
  return st.f_type == CGROUP_SUPER_MAGIC || st.f_type == CGROUP2_SUPER_MAGIC;
}

Result<std::string> read_file_in(const std::string& dir, const std::string& file) {
  std::string path = join_path(dir, file);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    int err = errno;
    if (err == ENOENT && !on_cgroup_fs(dir)) return std::string();
    return errno_error("reading " + file, err);
  }
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("reading " + file);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Status write_lines(const std::string& dir, const std::string& file,
                   const std::vector<std::string>& lines) {
  std::vector<FieldLine> entries;
  for (const auto& l : lines) entries.push_back({l, ""});
  return write_entries(dir, file, entries);
}

Status write_entries(const std::string& dir, const std::string& file,
                     const std::vector<FieldLine>& entries) {
  auto fail = [&](Error e, size_t i) -> Status {
    if (i < entries.size() && !entries[i].field.empty()) e.wrap(entries[i].field);
    return e;
  };
  std::string path = join_path(dir, file);
  UniqueFd fd = open_for_write(dir, path);
  if (!fd) return fail(errno_error("writing " + file), 0);
  for (size_t i = 0; i < entries.size(); ++i) {
    std::string data = entries[i].line + "\n";
    ssize_t n;
    do {
      n = ::write(fd.get(), data.data(), data.size());
    } while (n < 0 && errno == EINTR);
    if (n < 0) return fail(errno_error("writing " + file), i);
    if (static_cast<size_t>(n) != data.size())
      return fail(Error(EIO, "writing " + file + ": short write"), i);
  }
  return {};
}

bool file_exists(const std::string& dir, const std::string& file) {
  struct stat st {};
  return ::stat(join_path(dir, file).c_str(), &st) == 0;
}

Status write_field(const std::string& dir, const std::string& file, const std::string& value,
                   const std::string& field) {
  return write_field_lines(dir, file, {value}, field);
}

Status write_field_lines(const std::string& dir, const std::string& file,
                         const std::vector<std::string>& lines, const std::string& field) {
  auto st = write_lines(dir, file, lines);
  if (!st) return std::move(st).error().wrap(field);
  return {};
}

Status write_pair(const std::string& dir, const FieldWrite& first, const FieldWrite& second) {
  auto st = write_field(dir, first.file, first.value, first.field);
  if (!st && st.error().code != EINVAL) return st;
  STACK_TRY_VOID(write_field(dir, second.file, second.value, second.field));
  if (!st) return write_field(dir, first.file, first.value, first.field);
  return {};
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
  size_t start = 0;
  while (start < s.size() && (s[start] == ' ' || s[start] == '\t')) ++start;
  return s.substr(start);
}

std::optional<uint64_t> keyed_value(const std::string& text, const std::string& key) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.size() > key.size() && line.compare(0, key.size(), key) == 0 &&
        line[key.size()] == ' ') {
      try {
        return std::stoull(line.substr(key.size() + 1));
      } catch (...) {
        return std::nullopt;
      }
    }
  }
  return std::nullopt;
}

Status remove_dir(const std::string& dir) {
  if (!on_cgroup_fs(dir)) unlink_plain_files(dir);
  for (int attempt = 0;; ++attempt) {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return {};
    if (errno != EBUSY || attempt + 1 >= kRmdirAttempts) return errno_error("removing " + dir);
    std::this_thread::sleep_for(kRmdirPause);
  }
}

Status remove_tree(const std::string& dir) {
  // Sub-cgroups made inside the container (a nested runtime, systemd) must go first: rmdir of a
  // cgroup with children fails with EBUSY.
  for (const auto& child : subdirectories(dir)) STACK_TRY_VOID(remove_tree(child));
  return remove_dir(dir);
}

void remove_if_empty(const std::string& dir) {
  if (!subdirectories(dir).empty()) return;
  if (!on_cgroup_fs(dir)) unlink_plain_files(dir);
  (void)::rmdir(dir.c_str());
}

}  // namespace stack::runtime::cgroup_detail
