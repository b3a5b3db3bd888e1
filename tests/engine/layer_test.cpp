// unpack_layer without device nodes or trusted xattrs (see layer_root_test.cpp for those).
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "engine/layer_test_util.h"
#include "stack/common/sha256.h"

using namespace layer_test;
using stack::engine::image::UnpackLimits;

namespace {

std::string readlink_str(const std::string& path) {
  char buf[4096];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf);
  return n < 0 ? "" : std::string(buf, static_cast<size_t>(n));
}

std::string error_of(const stack::Result<stack::engine::image::UnpackStats>& r) {
  return r.ok() ? "ok" : r.error().to_string();
}

}  // namespace

TEST_CASE("files, dirs, symlinks, modes and mtimes are restored exactly") {
  TempDir t;
  TarEntry etc = dir("etc", 0750);
  etc.mtime = 1'500'000'000;
  TarEntry hosts = file("etc/hosts", "127.0.0.1 localhost\n", 0640);
  hosts.mtime = 1'400'000'000;
  hosts.mtime_nsec = 123'456'789;
  TarEntry su = file("bin/su", "#!", 04755);  // "bin" has no entry of its own
  const std::string tar = make_tar({etc, hosts, sym("etc/link", "/etc/hosts"), su,
                                    dir("tmp", 01777), sym("abs", "../../../../outside")});
  auto r = unpack(tar, t / "l");
  REQUIRE(error_of(r) == "ok");
  CHECK(r->entries == 6);
  CHECK(r->bytes == 22);
  CHECK(r->diff_id == "sha256:" + stack::sha256_hex(tar));
  CHECK(list_dir(t.path()) == "l");
  CHECK(list_dir(t / "l") == "abs,bin,etc,tmp");
  CHECK(slurp(t / "l/etc/hosts") == "127.0.0.1 localhost\n");
  CHECK((lstat_or_zero(t / "l/etc/hosts").st_mode & 07777) == 0640);
  CHECK(lstat_or_zero(t / "l/etc/hosts").st_mtim.tv_sec == 1'400'000'000);
  CHECK(lstat_or_zero(t / "l/etc/hosts").st_mtim.tv_nsec == 123'456'789);
  CHECK((lstat_or_zero(t / "l/etc").st_mode & 07777) == 0750);
  CHECK(lstat_or_zero(t / "l/etc").st_mtim.tv_sec == 1'500'000'000);  // set after its children
  CHECK((lstat_or_zero(t / "l/bin/su").st_mode & 07777) == 04755);
  CHECK((lstat_or_zero(t / "l/bin").st_mode & 07777) == 0755);
  CHECK((lstat_or_zero(t / "l/tmp").st_mode & 07777) == 01777);
  CHECK((lstat_or_zero(t / "l").st_mode & 07777) == 0755);
  CHECK(S_ISLNK(lstat_or_zero(t / "l/etc/link").st_mode));
  CHECK(readlink_str(t / "l/etc/link") == "/etc/hosts");
  CHECK(readlink_str(t / "l/abs") == "../../../../outside");
}

TEST_CASE("plain, gzip and zstd layers give the same tree and the uncompressed DiffID") {
  const std::string tar = make_tar({dir("d"), file("d/f", std::string(100000, 'x')), file("g", "y")});
  const std::string diff_id = "sha256:" + stack::sha256_hex(tar);
  for (auto c : {Compression::kNone, Compression::kGzip, Compression::kZstd}) {
    TempDir t;
    const std::string blob = compress(tar, c);
    if (c != Compression::kNone) CHECK(blob.size() < 1000);
    StringSource source(blob, 777);  // odd chunks: the pipeline must not assume aligned reads
    auto r = stack::engine::image::unpack_layer(source, "sha256:abc", t / "l", {});
    REQUIRE(error_of(r) == "ok");
    CHECK(r->diff_id == diff_id);
    CHECK(r->entries == 3);
    CHECK(slurp(t / "l/d/f") == std::string(100000, 'x'));
    CHECK(slurp(t / "l/g") == "y");
  }
}

TEST_CASE("user xattrs are restored and trusted.overlay ones are never taken from the tar") {
  TempDir t;
  TarEntry f = file("f", "x");
  f.xattrs = {{"user.color", "blue"}};
  auto r = unpack(make_tar({f}), t / "l");
  REQUIRE(error_of(r) == "ok");
  char buf[64];
  ssize_t n = ::getxattr((t / "l/f").c_str(), "user.color", buf, sizeof buf);
  REQUIRE(n == 4);
  CHECK(std::string(buf, 4) == "blue");
}

TEST_CASE("hardlinks inside the layer share the inode") {
  TempDir t;
  auto r = unpack(make_tar({dir("a"), file("a/orig", "data"), hard("b", "a/orig"),
                            hard("c", "/a/../a/orig")}),
                  t / "l");
  REQUIRE(error_of(r) == "ok");
  struct stat a = lstat_or_zero(t / "l/a/orig");
  CHECK(a.st_nlink == 3);
  CHECK(lstat_or_zero(t / "l/b").st_ino == a.st_ino);
  CHECK(lstat_or_zero(t / "l/c").st_ino == a.st_ino);
}

TEST_CASE("paths climbing out of the layer are rejected and leave nothing") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"../x", "layer test: entry \"../x\": path escapes the layer"},
      {"a/../../x", "layer test: entry \"a/../../x\": path escapes the layer"},
      {"./a/b/../../../x", "layer test: entry \"./a/b/../../../x\": path escapes the layer"},
  };
  for (const auto& [path, message] : cases) {
    TempDir t;
    auto r = unpack(make_tar({file("ok", "1"), file(path, "evil")}), t / "l");
    CHECK(error_of(r) == message);
    CHECK(list_dir(t.path()).empty());  // no target, no temp dir, no x beside them
  }
}

TEST_CASE("hardlink targets outside the layer are rejected") {
  TempDir t;
  auto r = unpack(make_tar({hard("evil", "../../outside")}), t / "l");
  CHECK(error_of(r) ==
        "layer test: entry \"evil\": hardlink target \"../../outside\" escapes the layer");
  CHECK(list_dir(t.path()).empty());
}

TEST_CASE("absolute paths and symlinked parents stay confined to the layer") {
  // Docker and containerd resolve both inside the root: "/abs" is <root>/abs and "link/passwd"
  // through link -> /etc is <root>/etc/passwd. The host's /etc is never touched.
  TempDir t;
  const std::string host_name = "layer-test-abs-" + std::to_string(::getpid());
  auto r = unpack(make_tar({file("/" + host_name, "a"), dir("etc"), sym("link", "/etc"),
                            file("link/passwd", "root::0:0"), sym("up", "../../.."),
                            file("up/x", "x")}),
                  t / "l");
  REQUIRE(error_of(r) == "ok");
  CHECK(::access(("/" + host_name).c_str(), F_OK) != 0);
  CHECK(slurp(t / "l/" + host_name) == "a");
  CHECK(slurp(t / "l/etc/passwd") == "root::0:0");
  CHECK(slurp(t / "l/x") == "x");
  CHECK(list_dir(t.path()) == "l");
}

TEST_CASE("a parent through a dangling symlink is rejected, not created outside") {
  TempDir t;
  auto r = unpack(make_tar({sym("link", "/nonexistent"), file("link/f", "x")}), t / "l");
  CHECK(error_of(r) == "layer test: entry \"link/f\": mkdir \"link\": File exists");
  CHECK(list_dir(t.path()).empty());
}

TEST_CASE("a file larger than the per-entry limit is rejected before its data is read") {
  TempDir t;
  std::string tar = make_tar({file("small", "s"), file("big", std::string(5000, 'b'))});
  tar.resize(tar.size() - 4000);  // the data is not even there: the header alone must decide
  UnpackLimits limits;
  limits.max_entry_bytes = 1000;
  auto r = unpack(tar, t / "l", limits);
  CHECK(error_of(r) == "layer test: entry \"big\": size 5000 exceeds the per-entry limit of 1000 bytes");
  CHECK(list_dir(t.path()).empty());
}

TEST_CASE("total size, entry count and path length limits") {
  TempDir t;
  UnpackLimits total;
  total.max_total_bytes = 1000;
  auto r = unpack(make_tar({file("a", std::string(600, 'a')), file("b", std::string(600, 'b'))}),
                  t / "l", total);
  CHECK(error_of(r) == "layer test: entry \"b\": layer exceeds the total size limit of 1000 bytes");
  UnpackLimits count;
  count.max_entries = 2;
  r = unpack(make_tar({file("a", "1"), file("b", "2"), file("c", "3")}), t / "l", count);
  CHECK(error_of(r) == "layer test: more than 2 entries");
  UnpackLimits path;
  path.max_path_bytes = 10;
  r = unpack(make_tar({file("abcdef/ghijk", "1")}), t / "l", path);
  CHECK(error_of(r) == "layer test: entry \"abcdef/ghijk\": path longer than 10 bytes");
  CHECK(list_dir(t.path()).empty());
}

TEST_CASE("truncated layers are rejected and leave nothing") {
  const std::string tar = make_tar({dir("d"), file("d/f", std::string(20000, 'z'))});
  SECTION("plain tar cut inside the file data") {
    TempDir t;
    auto r = unpack(tar.substr(0, 4096), t / "l");
    CHECK(error_of(r) ==
          "layer test: truncated: entry \"d/f\": Truncated tar archive");
    CHECK(list_dir(t.path()).empty());
  }
  SECTION("plain tar cut inside a header") {
    TempDir t;
    auto r = unpack(tar.substr(0, 1024 + 100), t / "l");
    CHECK(error_of(r).rfind("layer test: truncated: ", 0) == 0);
    CHECK(list_dir(t.path()).empty());
  }
  SECTION("gzip and zstd streams cut short") {
    for (auto c : {Compression::kGzip, Compression::kZstd}) {
      TempDir t;
      std::string blob = compress(tar, c);
      auto r = unpack(blob.substr(0, blob.size() - 10), t / "l");
      INFO(error_of(r));
      CHECK(error_of(r).rfind("layer test: truncated: ", 0) == 0);
      CHECK(list_dir(t.path()).empty());
    }
  }
}

TEST_CASE("garbage is not a layer") {
  TempDir t;
  auto r = unpack(std::string(3000, '\x7f'), t / "l");
  CHECK(error_of(r).rfind("layer test: invalid tar: ", 0) == 0);
  CHECK(list_dir(t.path()).empty());
}

TEST_CASE("an error from the source aborts the unpack with that error") {
  TempDir t;
  StringSource source(make_tar({file("a", std::string(50000, 'a'))}), 4096);
  source.fail_after(8192, "blob sha256:abc: digest mismatch");
  auto r = stack::engine::image::unpack_layer(source, "sha256:abc", t / "l", {});
  CHECK(error_of(r) == "layer sha256:abc: blob sha256:abc: digest mismatch");
  CHECK(list_dir(t.path()).empty());
}

TEST_CASE("later entries replace earlier ones, directories merge") {
  TempDir t;
  auto r = unpack(make_tar({file("a", "one"), file("a", "two"), dir("d"), file("d/x", "x"),
                            file("d", "now a file"), file("s", "file"), sym("s", "a"),
                            dir("m", 0700), file("m/1", "1"), dir("m", 0755), file("m/2", "2")}),
                  t / "l");
  REQUIRE(error_of(r) == "ok");
  CHECK(slurp(t / "l/a") == "two");
  CHECK(slurp(t / "l/d") == "now a file");
  CHECK(readlink_str(t / "l/s") == "a");
  CHECK(list_dir(t / "l/m") == "1,2");
  CHECK((lstat_or_zero(t / "l/m").st_mode & 07777) == 0755);
}

TEST_CASE("an existing target is refused") {
  TempDir t;
  REQUIRE(::mkdir((t / "l").c_str(), 0755) == 0);
  auto r = unpack(make_tar({file("a", "1")}), t / "l");
  CHECK(error_of(r) == "layer test: target " + (t / "l") + " already exists");
  CHECK(list_dir(t.path()) == "l");
}
