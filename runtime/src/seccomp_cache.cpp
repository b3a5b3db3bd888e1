// A content-addressed cache of compiled seccomp filters. Compiling Docker's profile with
// libseccomp costs milliseconds; reading the exported BPF back costs one small file read.
//
// File <cache_dir>/<key>.bpf: an 88-byte header, then the BPF.
//   0  8  magic "STKBPF01"
//   8  4  filter flags (SECCOMP_FILTER_FLAG_*), little-endian
//   12 4  wants_listener (0 or 1)
//   16 4  BPF length in bytes
//   20 4  reserved, 0
//   24 64 sha256 hex of the BPF
// Anything that does not match exactly is treated as absent and recompiled.
#include <fcntl.h>
#include <seccomp.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "stack/common/atomic_file.h"
#include "stack/common/log.h"
#include "stack/common/sha256.h"
#include "stack/common/unique_fd.h"
#include "stack/runtime/security.h"

namespace stack::runtime {
namespace {

constexpr std::string_view kMagic = "STKBPF01";
constexpr size_t kHeaderSize = 88;

void put_u32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint32_t get_u32(std::string_view in, size_t at) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t{static_cast<unsigned char>(in[at + i])} << (8 * i);
  return v;
}

// Length-prefixed fields, so that no two different sections serialize alike.
void put_str(std::string& out, std::string_view s) {
  out += std::to_string(s.size());
  out += ':';
  out += s;
  out += ';';
}

void put_num(std::string& out, uint64_t v) { put_str(out, std::to_string(v)); }

void put_opt(std::string& out, const std::optional<unsigned>& v) {
  put_str(out, v ? std::to_string(*v) : std::string("-"));
}

void put_list(std::string& out, const std::vector<std::string>& list) {
  put_num(out, list.size());
  for (const auto& s : list) put_str(out, s);
}

std::string canonical(const Seccomp& s) {
  std::string out;
  put_str(out, s.default_action);
  put_opt(out, s.default_errno_ret);
  put_list(out, s.architectures);
  put_list(out, s.flags);
  put_str(out, s.listener_path);
  put_num(out, s.syscalls.size());
  for (const auto& rule : s.syscalls) {
    put_list(out, rule.names);
    put_str(out, rule.action);
    put_opt(out, rule.errno_ret);
    put_num(out, rule.args.size());
    for (const auto& a : rule.args) {
      put_num(out, a.index);
      put_num(out, a.value);
      put_num(out, a.value_two);
      put_str(out, a.op);
    }
  }
  return out;
}

// The BPF depends on the section, on libseccomp (its syscall tables and code generator) and on
// the native architecture (which libseccomp always includes).
std::string cache_key(const Seccomp& seccomp) {
  std::string text = "stack-seccomp-cache-v1;";
  text += canonical(seccomp);
  const scmp_version* v = seccomp_version();
  put_str(text, v ? std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
                        std::to_string(v->micro)
                  : std::string("?"));
  utsname u{};
  put_str(text, ::uname(&u) == 0 ? u.machine : "?");
  return sha256_hex(text);
}

std::string encode(const SeccompFilter& f) {
  std::string out(kMagic);
  put_u32(out, f.flags);
  put_u32(out, f.wants_listener ? 1 : 0);
  put_u32(out, static_cast<uint32_t>(f.bpf.size()));
  put_u32(out, 0);
  out += sha256_hex(f.bpf);
  out += f.bpf;
  return out;
}

std::optional<SeccompFilter> decode(std::string_view data) {
  if (data.size() <= kHeaderSize || data.substr(0, kMagic.size()) != kMagic) return std::nullopt;
  SeccompFilter f;
  f.flags = get_u32(data, 8);
  uint32_t listener = get_u32(data, 12);
  uint32_t length = get_u32(data, 16);
  if (listener > 1 || get_u32(data, 20) != 0 || length != data.size() - kHeaderSize ||
      length % 8 != 0) {
    return std::nullopt;
  }
  f.wants_listener = listener == 1;
  f.bpf = std::string(data.substr(kHeaderSize));
  if (sha256_hex(f.bpf) != data.substr(24, 64)) return std::nullopt;
  return f;
}

// Temporary file and rename, without fsync: a torn entry after a crash fails validation and is
// recompiled, so durability is not worth a disk flush on the container start path.
Status write_entry(const std::string& path, const std::string& content) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) return errno_error("writing " + tmp);
  std::string_view rest = content;
  while (!rest.empty()) {
    ssize_t n = ::write(fd.get(), rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Error e = errno_error("writing " + tmp);
      ::unlink(tmp.c_str());
      return e;
    }
    rest.remove_prefix(static_cast<size_t>(n));
  }
  fd.reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Error e = errno_error("renaming " + tmp + " to " + path);
    ::unlink(tmp.c_str());
    return e;
  }
  return {};
}

Status make_dirs(const std::string& dir) {
  for (size_t pos = 1; pos <= dir.size(); ++pos) {
    if (pos != dir.size() && dir[pos] != '/') continue;
    std::string part = dir.substr(0, pos);
    if (::mkdir(part.c_str(), 0700) != 0 && errno != EEXIST) return errno_error("mkdir " + part);
  }
  return {};
}

}  // namespace

Result<SeccompFilter> load_seccomp(const Seccomp& seccomp, const std::string& cache_dir) {
  const std::string path = cache_dir + "/" + cache_key(seccomp) + ".bpf";
  if (auto data = read_file(path); data.ok()) {
    if (auto cached = decode(*data)) return std::move(*cached);
    log::warn("seccomp cache " + path + ": invalid entry; recompiling");
  }
  STACK_TRY(SeccompFilter filter, compile_seccomp(seccomp));
  // The cache only saves time: failing to write it must not fail the container.
  Status st = make_dirs(cache_dir);
  if (st.ok()) st = write_entry(path, encode(filter));
  if (!st.ok()) log::warn("seccomp cache: " + st.error().to_string());
  return filter;
}

}  // namespace stack::runtime
