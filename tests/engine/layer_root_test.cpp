// unpack_layer as root: ownership, device nodes, overlayfs whiteouts and opaque directories,
// and a real overlay mount of two unpacked layers (in a forked child with its own mount ns).
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>

#include "engine/layer_test_util.h"

using namespace layer_test;

namespace {

std::string error_of(const stack::Result<stack::engine::image::UnpackStats>& r) {
  return r.ok() ? "ok" : r.error().to_string();
}

std::string xattr_of(const std::string& path, const char* key) {
  char buf[256];
  ssize_t n = ::lgetxattr(path.c_str(), key, buf, sizeof buf);
  return n < 0 ? "<none>" : std::string(buf, static_cast<size_t>(n));
}

TarEntry node(std::string path, unsigned type, unsigned major, unsigned minor, unsigned mode) {
  TarEntry e;
  e.path = std::move(path);
  e.type = type;
  e.mode = mode;
  e.rdev_major = major;
  e.rdev_minor = minor;
  return e;
}

// Runs `fn` in a child in a fresh private mount namespace; returns what it wrote to the pipe.
template <class Fn>
std::string in_mount_ns(Fn fn) {
  int p[2];
  REQUIRE(::pipe(p) == 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(p[0]);
    std::string out;
    if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
      out = "unshare/mount failed";
    else
      out = fn();
    (void)!::write(p[1], out.data(), out.size());
    ::_exit(0);
  }
  ::close(p[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(p[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(p[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return out;
}

}  // namespace

TEST_CASE("ownership is restored and chown does not strip setuid") {
  TempDir t;
  TarEntry d = dir("d", 02750);
  d.uid = 1234;
  d.gid = 5678;
  TarEntry f = file("d/su", "x", 04755);
  f.uid = 1000;
  f.gid = 1001;
  TarEntry l = sym("d/l", "su");
  l.uid = 42;
  l.gid = 43;
  auto r = unpack(make_tar({d, f, l}), t / "l");
  REQUIRE(error_of(r) == "ok");
  struct stat sd = lstat_or_zero(t / "l/d"), sf = lstat_or_zero(t / "l/d/su"),
              sl = lstat_or_zero(t / "l/d/l");
  CHECK(sd.st_uid == 1234);
  CHECK(sd.st_gid == 5678);
  CHECK((sd.st_mode & 07777) == 02750);
  CHECK(sf.st_uid == 1000);
  CHECK(sf.st_gid == 1001);
  CHECK((sf.st_mode & 07777) == 04755);
  CHECK(sl.st_uid == 42);
  CHECK(sl.st_gid == 43);
}

TEST_CASE("device nodes and fifos are created") {
  TempDir t;
  auto r = unpack(make_tar({dir("dev"), node("dev/null", AE_IFCHR, 1, 3, 0666),
                            node("dev/loop9", AE_IFBLK, 7, 9, 0660), node("dev/fifo", AE_IFIFO, 0, 0, 0600)}),
                  t / "l");
  REQUIRE(error_of(r) == "ok");
  struct stat n = lstat_or_zero(t / "l/dev/null"), b = lstat_or_zero(t / "l/dev/loop9"),
              f = lstat_or_zero(t / "l/dev/fifo");
  CHECK(S_ISCHR(n.st_mode));
  CHECK(n.st_rdev == makedev(1, 3));
  CHECK((n.st_mode & 07777) == 0666);  // not reduced by the umask
  CHECK(S_ISBLK(b.st_mode));
  CHECK(b.st_rdev == makedev(7, 9));
  CHECK(S_ISFIFO(f.st_mode));
  CHECK((f.st_mode & 07777) == 0600);
}

TEST_CASE("OCI whiteouts become overlayfs whiteouts and opaque markers an xattr") {
  TempDir t;
  TarEntry forged = dir("forged");
  forged.xattrs = {{"trusted.overlay.opaque", "y"}, {"trusted.other", "kept"}};
  auto r = unpack(make_tar({dir("etc"), file("etc/.wh.passwd", ""), dir("opq"),
                            file("opq/.wh..wh..opq", ""), file("opq/new", "n"),
                            file(".wh..wh.plnk", ""), forged, file("same", "s"), file(".wh.same", "")}),
                  t / "l");
  REQUIRE(error_of(r) == "ok");
  struct stat w = lstat_or_zero(t / "l/etc/passwd");
  CHECK(S_ISCHR(w.st_mode));
  CHECK(w.st_rdev == makedev(0, 0));
  CHECK(list_dir(t / "l/etc") == "passwd");
  CHECK(list_dir(t / "l/opq") == "new");
  CHECK(xattr_of(t / "l/opq", "trusted.overlay.opaque") == "y");
  CHECK(xattr_of(t / "l/etc", "trusted.overlay.opaque") == "<none>");
  CHECK(xattr_of(t / "l/forged", "trusted.overlay.opaque") == "<none>");
  CHECK(xattr_of(t / "l/forged", "trusted.other") == "kept");
  CHECK(slurp(t / "l/same") == "s");  // a whiteout hides lower layers only
  CHECK(list_dir(t / "l") == "etc,forged,opq,same");
}

TEST_CASE("two unpacked layers mount as an overlay with deletions and opaque dirs applied") {
  TempDir t;
  auto r1 = unpack(make_tar({dir("etc"), file("etc/a", "A"), file("etc/b", "B"), dir("opq"),
                             file("opq/old", "O"), file("keep", "K")}),
                   t / "l1");
  REQUIRE(error_of(r1) == "ok");
  auto r2 = unpack(make_tar({dir("etc"), file("etc/.wh.a", ""), dir("opq"),
                             file("opq/.wh..wh..opq", ""), file("opq/new", "N")}),
                   t / "l2");
  REQUIRE(error_of(r2) == "ok");
  REQUIRE(::mkdir((t / "merged").c_str(), 0755) == 0);
  std::string seen = in_mount_ns([&] {
    std::string opts = "lowerdir=" + (t / "l2") + ":" + (t / "l1");
    if (::mount("overlay", (t / "merged").c_str(), "overlay", MS_RDONLY, opts.c_str()) != 0)
      return std::string("mount failed: ") + std::strerror(errno);
    return "/=" + list_dir(t / "merged") + " etc=" + list_dir(t / "merged/etc") +
           " opq=" + list_dir(t / "merged/opq") + " b=" + slurp(t / "merged/etc/b") +
           " new=" + slurp(t / "merged/opq/new");
  });
  CHECK(seen == "/=etc,keep,opq etc=b opq=new b=B new=N");
}

// Throughput of a ~200 MB gzip layer; prints MB/s. Run explicitly: test_layer_root "[.bench]".
TEST_CASE("unpack throughput of a large gzip layer", "[.bench]") {
  TempDir t;
  std::vector<TarEntry> entries{dir("data")};
  std::string content(1 << 20, '\0');
  uint64_t x = 88172645463325252ull;  // xorshift64: 4 bits of entropy per byte, like text
  for (int i = 0; i < 200; ++i) {
    for (auto& c : content) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      c = static_cast<char>('a' + (x & 15));
    }
    entries.push_back(file("data/f" + std::to_string(i), content));
  }
  for (int i = 0; i < 2000; ++i) entries.push_back(file("small/s" + std::to_string(i), "tiny file"));
  const std::string tar = make_tar(entries);
  const std::string blob = compress(tar, Compression::kGzip);
  auto start = std::chrono::steady_clock::now();
  auto r = unpack(blob, t / "l");
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  REQUIRE(error_of(r) == "ok");
  std::printf("unpack: %.1f MB tar (%.1f MB gzip), %llu entries in %.2f s = %.1f MB/s of tar\n",
              tar.size() / 1e6, blob.size() / 1e6, static_cast<unsigned long long>(r->entries), s,
              tar.size() / 1e6 / s);
}
