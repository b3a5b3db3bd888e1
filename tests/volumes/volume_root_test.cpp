// The local driver's mounts and copy-up as root, each test case in its own private mount
// namespace: tmpfs and bind volumes mounted on the first acquire and unmounted on the last
// release (checked in /proc/self/mountinfo), copy-up of owners, devices and xattrs, and removal
// that neither follows symlinks nor empties a mount left inside a volume.
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "stack/common/syscalls.h"
#include "stack/volumes/local.h"
#include "stack/volumes/tree.h"
#include "volumes/volume_test_util.h"

using namespace stack;
using namespace stack::volumes;
using volume_test::TempDir;

namespace {

// Mounts made here die with the namespace; the host's mount table is never touched.
void enter_private_mount_ns() {
  REQUIRE(::unshare(CLONE_NEWNS) == 0);
  REQUIRE(::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0);
}

// The file system types mounted at `path`, innermost last ("" entries for none).
std::vector<std::string> mounts_at(const std::string& path) {
  std::ifstream in("/proc/self/mountinfo");
  std::vector<std::string> types;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string id, parent, dev, root, point;
    f >> id >> parent >> dev >> root >> point;
    if (point != path) continue;
    auto dash = line.find(" - ");
    std::istringstream rest(line.substr(dash + 3));
    std::string type;
    rest >> type;
    types.push_back(type);
  }
  return types;
}

// Mount points strictly below `dir`.
std::vector<std::string> mount_points_under(const std::string& dir) {
  std::ifstream in("/proc/self/mountinfo");
  std::vector<std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string id, parent, dev, root, point;
    f >> id >> parent >> dev >> root >> point;
    if (point.rfind(dir + "/", 0) == 0) out.push_back(point);
  }
  return out;
}

LocalDriver open_driver(const std::string& dir, Syscalls& sys) {
  auto d = LocalDriver::open(dir, sys);
  VOL_REQUIRE_OK(d);
  return std::move(d).value();
}

VolumeSpec spec(std::string name, std::map<std::string, std::string> opts) {
  VolumeSpec s;
  s.name = std::move(name);
  s.driver_opts = std::move(opts);
  return s;
}

}  // namespace

TEST_CASE("a tmpfs volume is mounted by the first acquire and unmounted by the last release") {
  enter_private_mount_ns();
  TempDir t;
  RealSyscalls sys;
  auto d = open_driver(t / "volumes", sys);
  auto v = d.create(spec("scratch", {{"type", "tmpfs"}, {"device", "tmpfs"}, {"o", "size=1m"}}));
  VOL_REQUIRE_OK(v);
  CHECK(mounts_at(v->mountpoint).empty());  // create mounts nothing

  auto p = d.acquire("scratch", "c1");
  VOL_REQUIRE_OK(p);
  CHECK(*p == v->mountpoint);
  CHECK(mounts_at(v->mountpoint) == std::vector<std::string>{"tmpfs"});
  struct statvfs sv {};
  REQUIRE(::statvfs(v->mountpoint.c_str(), &sv) == 0);
  CHECK(sv.f_blocks * sv.f_frsize == 1024 * 1024);
  volume_test::write(v->mountpoint + "/f", "in tmpfs");

  VOL_REQUIRE_OK(d.acquire("scratch", "c2"));
  // Another process (the next CLI call, or the engine after a crash) finds the mount in
  // mountinfo and does not stack a second one.
  auto later = open_driver(t / "volumes", sys);
  VOL_REQUIRE_OK(later.acquire("scratch", "c1"));
  CHECK(mounts_at(v->mountpoint).size() == 1);

  VOL_REQUIRE_OK(d.release("scratch", "c1"));
  CHECK(mounts_at(v->mountpoint).size() == 1);
  CHECK(volume_test::read(v->mountpoint + "/f") == "in tmpfs");
  VOL_REQUIRE_OK(d.release("scratch", "c2"));
  CHECK(mounts_at(v->mountpoint).empty());
  CHECK_FALSE(volume_test::exists(v->mountpoint + "/f"));
  VOL_REQUIRE_OK(d.remove("scratch", false));
}

TEST_CASE("a failed mount leaves no consumer behind") {
  enter_private_mount_ns();
  TempDir t;
  RealSyscalls sys;
  auto d = open_driver(t.path, sys);
  VOL_REQUIRE_OK(d.create(spec("broken", {{"type", "none"}, {"device", t / "missing"},
                                          {"o", "bind"}})));
  auto p = d.acquire("broken", "c1");
  REQUIRE_FALSE(p.ok());
  CHECK(p.error().to_string().find("volume broken: failed to mount local volume: ") == 0);
  auto users = d.consumers("broken");
  VOL_REQUIRE_OK(users);
  CHECK(users->empty());
}

TEST_CASE("a bind volume shows the device directory, removal never empties it") {
  enter_private_mount_ns();
  TempDir t;
  RealSyscalls sys;
  REQUIRE(::mkdir((t / "host").c_str(), 0755) == 0);
  volume_test::write(t / "host/site.conf", "listen 80");
  auto d = open_driver(t / "volumes", sys);
  auto v = d.create(spec("site", {{"type", "none"}, {"device", t / "host"}, {"o", "bind"}}));
  VOL_REQUIRE_OK(v);
  VOL_REQUIRE_OK(d.acquire("site", "web1"));
  CHECK(mounts_at(v->mountpoint).size() == 1);
  CHECK(volume_test::read(v->mountpoint + "/site.conf") == "listen 80");
  volume_test::write(v->mountpoint + "/written", "by the container");
  CHECK(volume_test::read(t / "host/written") == "by the container");

  SECTION("the last release unmounts") {
    VOL_REQUIRE_OK(d.release("site", "web1"));
    CHECK(mounts_at(v->mountpoint).empty());
    CHECK_FALSE(volume_test::exists(v->mountpoint + "/site.conf"));
  }
  SECTION("a forced remove unmounts before it deletes") {
    VOL_REQUIRE_OK(d.remove("site", true));
    CHECK_FALSE(volume_test::exists(t / "volumes/site"));
  }
  CHECK(volume_test::read(t / "host/site.conf") == "listen 80");
  CHECK(volume_test::read(t / "host/written") == "by the container");
}

TEST_CASE("a read-only bind volume is remounted read-only") {
  enter_private_mount_ns();
  TempDir t;
  RealSyscalls sys;
  REQUIRE(::mkdir((t / "host").c_str(), 0755) == 0);
  auto d = open_driver(t / "volumes", sys);
  auto v = d.create(spec("ro", {{"type", "none"}, {"device", t / "host"}, {"o", "bind,ro"}}));
  VOL_REQUIRE_OK(v);
  VOL_REQUIRE_OK(d.acquire("ro", "c"));
  int fd = ::open((v->mountpoint + "/x").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  CHECK(fd < 0);
  CHECK(errno == EROFS);
  if (fd >= 0) ::close(fd);
  VOL_REQUIRE_OK(d.release("ro", "c"));
}

TEST_CASE("copy_up keeps owners, set-id modes, xattrs, hard links, symlinks and devices") {
  TempDir t;
  std::string src = t / "src", dst = t / "dst";
  REQUIRE(::mkdir(src.c_str(), 0755) == 0);
  REQUIRE(::mkdir(dst.c_str(), 0755) == 0);
  REQUIRE(::chown(src.c_str(), 70, 70) == 0);  // postgres' /var/lib/postgresql/data
  REQUIRE(::chmod(src.c_str(), 0700) == 0);
  volume_test::write(src + "/su", "#!");
  REQUIRE(::chown((src + "/su").c_str(), 1234, 5678) == 0);
  REQUIRE(::chmod((src + "/su").c_str(), 04755) == 0);
  REQUIRE(::setxattr((src + "/su").c_str(), "trusted.t", "tv", 2, 0) == 0);
  // A VFS_CAP_REVISION_2 capability set: cap_net_bind_service permitted and effective.
  const std::string cap("\x01\x00\x00\x02\x00\x04\x00\x00\x00\x00\x00\x00"
                        "\x00\x00\x00\x00\x00\x00\x00\x00", 20);
  REQUIRE(::setxattr((src + "/su").c_str(), "security.capability", cap.data(), cap.size(), 0) == 0);
  REQUIRE(::link((src + "/su").c_str(), (src + "/su2").c_str()) == 0);
  REQUIRE(::mknod((src + "/null").c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0);
  REQUIRE(::chmod((src + "/null").c_str(), 0666) == 0);
  REQUIRE(::lchown((src + "/null").c_str(), 0, 5) == 0);
  REQUIRE(::symlink("/etc", (src + "/escape").c_str()) == 0);
  REQUIRE(::lchown((src + "/escape").c_str(), 42, 43) == 0);

  int s = ::open(src.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int d = ::open(dst.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  VOL_REQUIRE_OK(copy_up(s, d));
  ::close(s);
  ::close(d);

  struct stat a {}, b {};
  REQUIRE(::stat(dst.c_str(), &a) == 0);
  CHECK(a.st_uid == 70);
  CHECK((a.st_mode & 07777) == 0700);
  REQUIRE(::stat((dst + "/su").c_str(), &a) == 0);
  CHECK(a.st_uid == 1234);
  CHECK(a.st_gid == 5678);
  CHECK((a.st_mode & 07777) == 04755);  // chown before chmod keeps the setuid bit
  REQUIRE(::stat((dst + "/su2").c_str(), &b) == 0);
  CHECK(a.st_ino == b.st_ino);
  char v[32] = {};
  CHECK(::getxattr((dst + "/su").c_str(), "trusted.t", v, sizeof v) == 2);
  CHECK(std::string(v) == "tv");
  CHECK(::getxattr((dst + "/su").c_str(), "security.capability", v, sizeof v) == 20);
  REQUIRE(::lstat((dst + "/null").c_str(), &a) == 0);
  CHECK(S_ISCHR(a.st_mode));
  CHECK(a.st_rdev == makedev(1, 3));
  CHECK((a.st_mode & 07777) == 0666);
  CHECK(a.st_gid == 5);
  REQUIRE(::lstat((dst + "/escape").c_str(), &a) == 0);
  CHECK(S_ISLNK(a.st_mode));
  CHECK(a.st_uid == 42);
  CHECK_FALSE(volume_test::exists(dst + "/escape/passwd.copied"));
}

TEST_CASE("remove follows no symlink out of the volume and never empties a mount inside") {
  enter_private_mount_ns();
  TempDir t;
  RealSyscalls sys;
  REQUIRE(::mkdir((t / "outside").c_str(), 0755) == 0);
  volume_test::write(t / "outside/precious", "keep");
  auto d = open_driver(t / "volumes", sys);
  auto v = d.create(spec("victim", {}));
  VOL_REQUIRE_OK(v);
  REQUIRE(::symlink((t / "outside").c_str(), (v->mountpoint + "/dir-link").c_str()) == 0);
  REQUIRE(::symlink("../../../outside/precious", (v->mountpoint + "/file-link").c_str()) == 0);

  SECTION("symlinks are unlinked, their targets stay") {
    VOL_REQUIRE_OK(d.remove("victim", false));
    CHECK_FALSE(volume_test::exists(t / "volumes/victim"));
  }
  SECTION("a mount inside _data stops the delete before it is entered") {
    REQUIRE(::mkdir((v->mountpoint + "/m").c_str(), 0755) == 0);
    REQUIRE(::mount((t / "outside").c_str(), (v->mountpoint + "/m").c_str(), nullptr, MS_BIND,
                    nullptr) == 0);
    auto r = d.remove("victim", false);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == EBUSY);
    CHECK(r.error().to_string().find("remove victim: ") == 0);
    auto listed = d.list();
    VOL_REQUIRE_OK(listed);
    CHECK(listed->empty());  // renamed away before the delete began: no half volume is listed
    CHECK(volume_test::read(t / "outside/precious") == "keep");
    // The operator unmounts it; the next create or remove finishes the delete.
    for (auto& m : mount_points_under(t.path)) REQUIRE(::umount2(m.c_str(), MNT_DETACH) == 0);
    VOL_REQUIRE_OK(d.create(spec("next", {})));
    auto names = volume_test::list(t / "volumes");
    CHECK(names == std::vector<std::string>{".lock", "next"});
  }
  CHECK(volume_test::read(t / "outside/precious") == "keep");
}
