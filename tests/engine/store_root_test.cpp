// Content store on a full disk (needs root: a private 64 KiB tmpfs in a child's own mount
// namespace): the write fails naming the blob and nothing is left in the store.
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "stack/common/sha256.h"
#include "stack/engine/image/store.h"

namespace fs = std::filesystem;
using stack::engine::image::ContentStore;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/store_root_test.XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

size_t names_in(const std::string& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}

}  // namespace

namespace {

// In a child with its own mount namespace: a 64 KiB tmpfs as the store, a 1 MiB blob.
// Reports "<error>|<blobs entries>|<ingest entries>" through the pipe.
void enospc_child(int out_fd, const std::string& root) {
  std::string report;
  if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
      ::mount("tmpfs", root.c_str(), "tmpfs", 0, "size=64k") != 0) {
    report = "setup failed";
  } else {
    auto store = ContentStore::open(root + "/images");
    std::string big(1 << 20, 'x');
    std::string digest = "sha256:" + stack::sha256_hex(big);
    auto w = store->begin_blob(digest, static_cast<int64_t>(big.size()), "big");
    stack::Status st = w->write(big.data(), big.size());
    report = (st.ok() ? std::string("no error") : st.error().to_string()) + "|" +
             std::to_string(names_in(root + "/images/blobs/sha256")) + "|" +
             std::to_string(names_in(root + "/images/ingest")) + "|" + digest;
  }
  (void)!::write(out_fd, report.data(), report.size());
  ::_exit(0);
}

}  // namespace

TEST_CASE("a full disk fails the write naming the blob and leaves nothing behind") {
  REQUIRE(::geteuid() == 0);  // a private tmpfs needs root
  TempDir dir;
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) enospc_child(fds[1], dir.path);
  ::close(fds[1]);
  std::string report;
  char buf[512];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) report.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  std::string digest = report.substr(report.rfind('|') + 1);
  CHECK(report == "write blob " + digest + ": No space left on device|0|0|" + digest);
}
