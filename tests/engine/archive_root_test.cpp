// image import / save / load with what only root can create: foreign owners, device nodes,
// setuid bits. The unit tests cover the rest.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

#include "layer_test_util.h"
#include "stack/engine/image/archive.h"
#include "stack/engine/image/unpack.h"

using namespace stack::engine::image;
using layer_test::TempDir;

TEST_CASE("import keeps owners, devices and setuid, save/load keeps them too") {
  REQUIRE(::geteuid() == 0);
  TempDir tmp;
  const std::string tree = tmp / "tree";
  REQUIRE(::mkdir(tree.c_str(), 0755) == 0);
  std::ofstream(tree + "/su") << "suid";
  REQUIRE(::chown((tree + "/su").c_str(), 1234, 5678) == 0);
  REQUIRE(::chmod((tree + "/su").c_str(), 04755) == 0);
  REQUIRE(::mknod((tree + "/null").c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0);
  REQUIRE(::symlink("/nonexistent", (tree + "/dangling").c_str()) == 0);
  REQUIRE(::lchown((tree + "/dangling").c_str(), 42, 43) == 0);

  auto a = ContentStore::open(tmp / "a");
  REQUIRE(a.ok());
  auto img = import_image(*a, tree, "owners:1");
  REQUIRE(img.ok());

  std::string out = tmp / "out.tar";
  {
    stack::UniqueFd fd(::open(out.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
    REQUIRE(save_archive(*a, {"owners:1"}, fd.get()).ok());
  }
  auto b = ContentStore::open(tmp / "b");
  REQUIRE(b.ok());
  layer_test::StringSource source(layer_test::slurp(out));
  REQUIRE(load_archive(*b, source, out).ok());

  for (const ContentStore* store : {&*a, &*b}) {
    auto entry = store->resolve("docker.io/library/owners:1");
    REQUIRE(entry);
    auto dirs = image_lower_dirs(*store, *entry);
    REQUIRE(dirs.ok());
    const std::string layer = dirs->front();
    struct stat su = layer_test::lstat_or_zero(layer + "/su");
    CHECK(su.st_uid == 1234);
    CHECK(su.st_gid == 5678);
    CHECK((su.st_mode & 07777) == 04755);
    struct stat null = layer_test::lstat_or_zero(layer + "/null");
    CHECK(S_ISCHR(null.st_mode));
    CHECK(null.st_rdev == makedev(1, 3));
    struct stat link = layer_test::lstat_or_zero(layer + "/dangling");
    CHECK(S_ISLNK(link.st_mode));
    CHECK(link.st_uid == 42);
  }
}
