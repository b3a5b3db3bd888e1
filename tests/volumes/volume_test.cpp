// The volumes library without privileges: Docker's names and options, the mount sequence on the
// recording seam, volume.json, the local driver on a temporary directory, removal that never
// follows symlinks, and copy-up of what an unprivileged user can create.
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include <catch2/catch.hpp>
#include <regex>

#include "stack/common/syscalls.h"
#include "stack/volumes/local.h"
#include "stack/volumes/tree.h"
#include "stack/volumes/volume.h"
#include "volumes/volume_test_util.h"

using namespace stack;
using namespace stack::volumes;
using volume_test::TempDir;

namespace {

std::string error_of(const Status& s) { return s.ok() ? "ok" : s.error().to_string(); }
template <class T>
std::string error_of(const Result<T>& r) {
  return r.ok() ? "ok" : r.error().to_string();
}

LocalDriver open_driver(const std::string& dir, Syscalls& sys) {
  auto d = LocalDriver::open(dir, sys);
  VOL_REQUIRE_OK(d);
  return std::move(d).value();
}

VolumeSpec spec(std::string name, std::map<std::string, std::string> labels = {},
                std::map<std::string, std::string> opts = {}) {
  VolumeSpec s;
  s.name = std::move(name);
  s.labels = std::move(labels);
  s.driver_opts = std::move(opts);
  return s;
}

}  // namespace

TEST_CASE("volume names follow Docker's rule and texts") {
  CHECK(valid_volume_name("db"));
  CHECK(valid_volume_name("my_vol-1.data"));
  CHECK(valid_volume_name("0x"));
  CHECK_FALSE(valid_volume_name(""));
  CHECK_FALSE(valid_volume_name("a"));
  CHECK_FALSE(valid_volume_name("_data"));
  CHECK_FALSE(valid_volume_name(".hidden"));
  CHECK_FALSE(valid_volume_name("a/b"));
  CHECK_FALSE(valid_volume_name(".."));
  CHECK_FALSE(valid_volume_name("hello world"));
  CHECK(error_of(validate_volume_name("~")) ==
        "volume name is too short, names should be at least two alphanumeric characters");
  CHECK(error_of(validate_volume_name("hello world")) ==
        R"("hello world" includes invalid characters for a local volume name, only )"
        R"("[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, )"
        R"(use absolute path)");
  CHECK(validate_volume_name("ok").ok());
}

TEST_CASE("anonymous names are 64 fresh hex digits") {
  std::string a = anonymous_volume_name(), b = anonymous_volume_name();
  CHECK(std::regex_match(a, std::regex("[0-9a-f]{64}")));
  CHECK(a != b);
  CHECK(valid_volume_name(a));
  CHECK(std::string(kAnonymousLabel) == "com.docker.volume.anonymous");
}

TEST_CASE("o= splits into MS_* flags and data as Docker's ParseOptions") {
  auto m = parse_mount_options("size=1m,uid=1000");
  CHECK(m.flags == 0);
  CHECK(m.data == "size=1m,uid=1000");
  m = parse_mount_options("ro,nosuid,nodev,noexec,sync,size=1m,mode=1777");
  CHECK(m.flags == (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_SYNCHRONOUS));
  CHECK(m.data == "size=1m,mode=1777");
  CHECK(parse_mount_options("bind").flags == MS_BIND);
  CHECK(parse_mount_options("rbind,ro").flags == (MS_BIND | MS_REC | MS_RDONLY));
  CHECK(parse_mount_options("ro,rw").flags == 0);          // a later negation clears
  CHECK(parse_mount_options("noatime,atime").flags == 0);
  CHECK(parse_mount_options("rprivate").flags == (MS_PRIVATE | MS_REC));
  // "defaults" has no flag: Docker keeps it as data, as it does an NFS addr=.
  m = parse_mount_options("defaults,addr=10.0.0.1,nfsvers=4");
  CHECK(m.flags == 0);
  CHECK(m.data == "defaults,addr=10.0.0.1,nfsvers=4");
  CHECK(parse_mount_options("").data.empty());
}

TEST_CASE("driver options are checked at create with Docker's texts") {
  CHECK(validate_local_options({}).ok());
  CHECK(validate_local_options({{"type", "tmpfs"}, {"device", "tmpfs"}, {"o", "size=1m"}}).ok());
  CHECK(error_of(validate_local_options({{"foo", "bar"}})) == R"(invalid option: "foo")");
  CHECK(error_of(validate_local_options({{"o", "bind"}, {"type", "none"}})) ==
        R"(missing required option: "device")");
  CHECK(error_of(validate_local_options({{"device", "/x"}})) ==
        R"(missing required option: "type")");
  CHECK(error_of(validate_local_options({{"type", "tmpfs"}})) ==
        R"(missing required option: "device")");
  CHECK(error_of(validate_local_options({{"size", "1g"}})) ==
        "quota size requested but no quota support");
  CHECK(needs_mount({{"type", "tmpfs"}, {"device", "tmpfs"}}));
  CHECK_FALSE(needs_mount({}));
}

TEST_CASE("mount_volume makes moby's calls in moby's order") {
  SECTION("tmpfs: one mount with the data") {
    RecordingSyscalls sys;
    VOL_REQUIRE_OK(mount_volume(sys,
                                {{"type", "tmpfs"}, {"device", "tmpfs"}, {"o", "size=1m,nodev"}},
                            "/v/x/_data"));
    CHECK(sys.transcript() == "mount(tmpfs, /v/x/_data, tmpfs, 0x4, size=1m)\n");
  }
  SECTION("read-only private bind: mount, propagation, read-only remount") {
    RecordingSyscalls sys;
    VOL_REQUIRE_OK(mount_volume(sys,
                                {{"type", "none"}, {"device", "/srv"}, {"o", "bind,ro,rprivate"}},
                            "/v/x/_data"));
    CHECK(sys.transcript() ==
          "mount(/srv, /v/x/_data, none, 0x5001, )\n"   // MS_BIND|MS_REC|MS_RDONLY
          "mount(, /v/x/_data, , 0x44000, )\n"          // MS_PRIVATE|MS_REC
          "mount(, /v/x/_data, , 0x5021, )\n");           // + MS_REMOUNT
  }
  SECTION("no device is Docker's error; a failed mount names the volume mount") {
    RecordingSyscalls sys;
    CHECK(error_of(mount_volume(sys, {{"type", "tmpfs"}}, "/t")) ==
          "missing device in volume options");
    sys.fail_on("mount(", EPERM);
    auto s = mount_volume(sys, {{"type", "tmpfs"}, {"device", "tmpfs"}}, "/t");
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().to_string().rfind("failed to mount local volume: ", 0) == 0);
  }
}

TEST_CASE("inspect JSON is Docker's object and array") {
  VolumeInfo v;
  v.name = "data";
  v.mountpoint = "/var/lib/stack/volumes/data/_data";
  v.created_at = "2024-05-01T12:00:00Z";
  v.labels = {{"com.example", "1"}};
  CHECK(volume_info_to_json(v) ==
        R"({"CreatedAt":"2024-05-01T12:00:00Z","Driver":"local","Labels":{"com.example":"1"},)"
        R"("Mountpoint":"/var/lib/stack/volumes/data/_data","Name":"data","Options":{},)"
        R"("Scope":"local"})");
  CHECK(volumes_inspect_json({}) == "[]");
  CHECK(volumes_inspect_json({v}) == R"([
    {
        "CreatedAt": "2024-05-01T12:00:00Z",
        "Driver": "local",
        "Labels": {
            "com.example": "1"
        },
        "Mountpoint": "/var/lib/stack/volumes/data/_data",
        "Name": "data",
        "Options": {},
        "Scope": "local"
    }
])");
  CHECK(rfc3339_utc(0) == "1970-01-01T00:00:00Z");
  CHECK(rfc3339_utc(1714564800) == "2024-05-01T12:00:00Z");
}

TEST_CASE("volume.json round-trips and rejects what it cannot read") {
  VolumeMetadata m;
  m.created_at = "2024-05-01T12:00:00Z";
  m.labels = {{"a", "1"}, {"b", ""}};
  m.options = {{"type", "tmpfs"}, {"device", "tmpfs"}, {"o", "size=1m"}};
  std::string text = metadata_to_json(m);
  auto back = metadata_from_json(text, "v/volume.json");
  VOL_REQUIRE_OK(back);
  CHECK(back->driver == "local");
  CHECK(back->created_at == m.created_at);
  CHECK(back->labels == m.labels);
  CHECK(back->options == m.options);
  CHECK(error_of(metadata_from_json("{", "v/volume.json")) == "v/volume.json: not a JSON object");
  CHECK(error_of(metadata_from_json(R"({"labels":{"a":1}})", "f")) ==
        "f: labels.a is not a string");
}

TEST_CASE("prune takes unused anonymous volumes, or every unused one with all") {
  VolumeInfo named, anon;
  anon.labels[kAnonymousLabel] = "";
  CHECK(prune_selects(anon, 0, false));
  CHECK_FALSE(prune_selects(anon, 1, false));
  CHECK_FALSE(prune_selects(named, 0, false));
  CHECK(prune_selects(named, 0, true));
  CHECK_FALSE(prune_selects(named, 2, true));
}

TEST_CASE("the local driver creates, lists, gets and removes on a directory") {
  TempDir t;
  RecordingSyscalls sys;
  auto d = open_driver(t / "state/volumes", sys);
  CHECK(d.dir() == t / "state/volumes");
  struct stat st {};
  REQUIRE(::stat(d.dir().c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0701);

  auto made = d.create(spec("web10", {{"tier", "front"}}));
  VOL_REQUIRE_OK(made);
  CHECK(made->name == "web10");
  CHECK(made->driver == "local");
  CHECK(made->scope == "local");
  CHECK(made->mountpoint == t / "state/volumes/web10/_data");
  CHECK(made->labels == std::map<std::string, std::string>{{"tier", "front"}});
  CHECK(std::regex_match(made->created_at, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")));
  CHECK(volume_test::exists(t / "state/volumes/web10/volume.json"));
  REQUIRE(::stat(made->mountpoint.c_str(), &st) == 0);
  CHECK(S_ISDIR(st.st_mode));
  CHECK((st.st_mode & 07777) == 0755);
  VOL_REQUIRE_OK(d.create(spec("web9")));
  VOL_REQUIRE_OK(d.create(spec("alpha")));

  SECTION("list is sorted and get reads volume.json back in a new driver") {
    auto other = open_driver(t / "state/volumes", sys);
    auto all = other.list();
    VOL_REQUIRE_OK(all);
    REQUIRE(all->size() == 3);
    CHECK((*all)[0].name == "alpha");
    CHECK((*all)[1].name == "web10");
    auto got = other.get("web10");
    VOL_REQUIRE_OK(got);
    REQUIRE(got->has_value());
    CHECK((*got)->created_at == made->created_at);
    CHECK((*got)->labels == made->labels);
    auto none = other.get("nope");
    VOL_REQUIRE_OK(none);
    CHECK_FALSE(none->has_value());
    auto escape = other.get("../state");  // an invalid name is no volume, never a path
    VOL_REQUIRE_OK(escape);
    CHECK_FALSE(escape->has_value());
  }
  SECTION("create of an existing name returns it unchanged") {
    auto again = d.create(spec("web10", {{"tier", "back"}}));
    VOL_REQUIRE_OK(again);
    CHECK(again->labels == made->labels);
    CHECK(again->created_at == made->created_at);
  }
  SECTION("create refuses bad names, options and drivers with Docker's texts") {
    CHECK(error_of(d.create(spec("x"))) ==
          "create x: volume name is too short, names should be at least two alphanumeric "
          "characters");
    CHECK(error_of(d.create(spec("ok", {}, {{"foo", "1"}}))) ==
          R"(create ok: invalid option: "foo")");
    VolumeSpec s = spec("ok");
    s.driver = "nfs3";
    CHECK(error_of(d.create(s)) ==
          R"(create ok: error looking up volume plugin nfs3: plugin "nfs3" not found)");
    CHECK_FALSE(volume_test::exists(t / "state/volumes/ok"));
  }
  SECTION("remove deletes the data; a missing volume is Docker's not-found") {
    volume_test::write(made->mountpoint + "/f", "data");
    REQUIRE(::mkdir((made->mountpoint + "/sub").c_str(), 0755) == 0);
    volume_test::write(made->mountpoint + "/sub/g", "more");
    VOL_REQUIRE_OK(d.remove("web10", false));
    CHECK_FALSE(volume_test::exists(t / "state/volumes/web10"));
    auto again = d.remove("web10", false);
    REQUIRE_FALSE(again.ok());
    CHECK(again.error().code == ENOENT);
    CHECK(again.error().to_string() == "get web10: no such volume");
  }
}

TEST_CASE("consumers persist, and a volume in use is not removed unless forced") {
  TempDir t;
  RecordingSyscalls sys;
  auto d = open_driver(t.path, sys);
  VOL_REQUIRE_OK(d.create(spec("db")));
  auto path = d.acquire("db", "c2");
  VOL_REQUIRE_OK(path);
  CHECK(*path == t / "db/_data");
  VOL_REQUIRE_OK(d.acquire("db", "c1"));
  VOL_REQUIRE_OK(d.acquire("db", "c1"));  // idempotent
  CHECK(volume_test::exists(t / "db/consumers/c1"));
  auto other = open_driver(t.path, sys);  // the next CLI call sees them
  auto users = other.consumers("db");
  VOL_REQUIRE_OK(users);
  CHECK(*users == std::vector<std::string>{"c1", "c2"});
  CHECK(error_of(d.remove("db", false)) == "remove db: volume is in use - [c1, c2]");
  CHECK(d.remove("db", false).error().code == EBUSY);
  CHECK(error_of(d.acquire("db", "../x")) == R"(invalid consumer id "../x")");
  CHECK(error_of(d.acquire("nope", "c1")) == "get nope: no such volume");
  VOL_REQUIRE_OK(d.release("db", "c1"));
  VOL_REQUIRE_OK(d.release("db", "c1"));  // absent is fine
  CHECK(*d.consumers("db") == std::vector<std::string>{"c2"});
  // No mount option: nothing was mounted or unmounted.
  CHECK(sys.transcript().empty());
  SECTION("force removes it anyway") {
    VOL_REQUIRE_OK(d.remove("db", true));
    CHECK_FALSE(volume_test::exists(t / "db"));
  }
  SECTION("the last release leaves it removable") {
    VOL_REQUIRE_OK(d.release("db", "c2"));
    VOL_REQUIRE_OK(d.remove("db", false));
  }
}

TEST_CASE("half-created and half-removed volumes are never listed and are cleaned") {
  TempDir t;
  RecordingSyscalls sys;
  auto d = open_driver(t.path, sys);
  VOL_REQUIRE_OK(d.create(spec("kept")));
  // What a crash between mkdir and rename (or rename and delete) leaves behind.
  REQUIRE(::mkdir((t / ".tmp-0123456789abcdef").c_str(), 0755) == 0);
  REQUIRE(::mkdir((t / ".tmp-0123456789abcdef/_data").c_str(), 0755) == 0);
  REQUIRE(::mkdir((t / ".rm-fedcba9876543210").c_str(), 0755) == 0);
  volume_test::write(t / ".rm-fedcba9876543210/volume.json", "{}");
  auto all = d.list();
  VOL_REQUIRE_OK(all);
  REQUIRE(all->size() == 1);
  CHECK((*all)[0].name == "kept");
  VOL_REQUIRE_OK(d.create(spec("next")));
  CHECK_FALSE(volume_test::exists(t / ".tmp-0123456789abcdef"));
  CHECK_FALSE(volume_test::exists(t / ".rm-fedcba9876543210"));
  CHECK(volume_test::exists(t / "kept/_data"));
}

TEST_CASE("remove deletes a planted symlink, never what it points to") {
  TempDir t;
  RecordingSyscalls sys;
  REQUIRE(::mkdir((t / "outside").c_str(), 0755) == 0);
  volume_test::write(t / "outside/precious", "keep me");
  auto d = open_driver(t / "vols", sys);
  auto v = d.create(spec("evil"));
  VOL_REQUIRE_OK(v);
  REQUIRE(::symlink((t / "outside").c_str(), (v->mountpoint + "/link").c_str()) == 0);
  REQUIRE(::symlink((t / "outside/precious").c_str(), (v->mountpoint + "/file").c_str()) == 0);
  REQUIRE(::mkdir((v->mountpoint + "/d").c_str(), 0755) == 0);
  REQUIRE(::symlink("../../../../outside", (v->mountpoint + "/d/up").c_str()) == 0);
  auto size = d.size("evil");
  VOL_REQUIRE_OK(size);
  VOL_REQUIRE_OK(d.remove("evil", false));
  CHECK_FALSE(volume_test::exists(t / "vols/evil"));
  CHECK(volume_test::read(t / "outside/precious") == "keep me");
}

TEST_CASE("size counts files once per inode, as Docker's prune reports") {
  TempDir t;
  RecordingSyscalls sys;
  auto d = open_driver(t.path, sys);
  auto v = d.create(spec("sz"));
  VOL_REQUIRE_OK(v);
  volume_test::write(v->mountpoint + "/a", std::string(1000, 'a'));
  REQUIRE(::link((v->mountpoint + "/a").c_str(), (v->mountpoint + "/a2").c_str()) == 0);
  REQUIRE(::mkdir((v->mountpoint + "/d").c_str(), 0755) == 0);
  volume_test::write(v->mountpoint + "/d/b", std::string(234, 'b'));
  auto size = d.size("sz");
  VOL_REQUIRE_OK(size);
  CHECK(*size == 1234);
}

TEST_CASE("copy_up copies files, links, fifos, modes, times and xattrs fd-relative") {
  TempDir t;
  std::string src = t / "src", dst = t / "dst";
  REQUIRE(::mkdir(src.c_str(), 0750) == 0);
  REQUIRE(::mkdir(dst.c_str(), 0755) == 0);
  REQUIRE(::mkdir((src + "/etc").c_str(), 0700) == 0);
  volume_test::write(src + "/etc/conf", "hello");
  REQUIRE(::chmod((src + "/etc/conf").c_str(), 0640) == 0);
  REQUIRE(::link((src + "/etc/conf").c_str(), (src + "/hard").c_str()) == 0);
  REQUIRE(::symlink("/etc/passwd", (src + "/abs").c_str()) == 0);
  REQUIRE(::symlink("etc/conf", (src + "/rel").c_str()) == 0);
  REQUIRE(::mkfifo((src + "/pipe").c_str(), 0600) == 0);
  REQUIRE(::chmod((src + "/pipe").c_str(), 0620) == 0);
  bool xattrs = ::setxattr((src + "/etc/conf").c_str(), "user.k", "v", 1, 0) == 0;
  const timespec old[2] = {{1000000000, 0}, {1000000000, 0}};
  REQUIRE(::utimensat(AT_FDCWD, (src + "/etc/conf").c_str(), old, 0) == 0);
  REQUIRE(::utimensat(AT_FDCWD, (src + "/etc").c_str(), old, 0) == 0);

  int s = ::open(src.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int d = ::open(dst.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  VOL_REQUIRE_OK(copy_up(s, d));
  struct stat a {}, b {};
  REQUIRE(::stat(dst.c_str(), &a) == 0);
  CHECK((a.st_mode & 07777) == 0750);  // the mount path's mode
  CHECK(volume_test::read(dst + "/etc/conf") == "hello");
  REQUIRE(::stat((dst + "/etc/conf").c_str(), &a) == 0);
  REQUIRE(::stat((dst + "/hard").c_str(), &b) == 0);
  CHECK(a.st_ino == b.st_ino);
  CHECK(a.st_nlink == 2);
  CHECK((a.st_mode & 07777) == 0640);
  CHECK(a.st_mtim.tv_sec == 1000000000);
  REQUIRE(::stat((dst + "/etc").c_str(), &a) == 0);
  CHECK((a.st_mode & 07777) == 0700);
  CHECK(a.st_mtim.tv_sec == 1000000000);  // set after its children were written
  char buf[64] = {};
  REQUIRE(::readlink((dst + "/abs").c_str(), buf, sizeof buf) > 0);
  CHECK(std::string(buf) == "/etc/passwd");
  REQUIRE(::lstat((dst + "/pipe").c_str(), &a) == 0);
  CHECK(S_ISFIFO(a.st_mode));
  CHECK((a.st_mode & 07777) == 0620);
  if (xattrs) {
    char v[8] = {};
    CHECK(::getxattr((dst + "/etc/conf").c_str(), "user.k", v, sizeof v) == 1);
    CHECK(std::string(v) == "v");
  }
  SECTION("a volume that holds anything is not filled again") {
    volume_test::write(src + "/new", "x");
    VOL_REQUIRE_OK(copy_up(s, d));
    CHECK_FALSE(volume_test::exists(dst + "/new"));
  }
  ::close(s);
  ::close(d);
}

TEST_CASE("an unreadable volume.json hides only its volume from list, get reports it") {
  TempDir t;
  RecordingSyscalls sys;
  auto d = open_driver(t.path + "/", sys);  // a trailing slash is cleaned away
  CHECK(d.dir() == t.path);
  VOL_REQUIRE_OK(d.create(spec("good")));
  VOL_REQUIRE_OK(d.create(spec("bad")));
  volume_test::write(t / "bad/volume.json", "not json");
  auto all = d.list();
  VOL_REQUIRE_OK(all);
  REQUIRE(all->size() == 1);
  CHECK((*all)[0].name == "good");
  CHECK(error_of(d.get("bad")) == t / "bad/volume.json: not a JSON object");
}
