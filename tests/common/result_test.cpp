#include <catch2/catch.hpp>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "stack/common/atomic_file.h"
#include "stack/common/path.h"
#include "stack/common/result.h"
#include "stack/common/sha256.h"
#include "stack/common/syscalls.h"

using namespace stack;

namespace {
Result<int> half(int x) {
  if (x % 2) return Error(EINVAL, "odd: " + std::to_string(x));
  return x / 2;
}
Result<int> quarter(int x) {
  STACK_TRY(int h, half(x));
  STACK_TRY(int q, half(h));
  return q;
}
}  // namespace

TEST_CASE("Result propagates the first error with its context", "[common]") {
  REQUIRE(quarter(8).ok());
  CHECK(*quarter(8) == 2);
  auto r = quarter(6);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == "odd: 3");
  Error e = r.error();
  e.wrap("loading").wrap("up");
  CHECK(e.to_string() == "up: loading: odd: 3");
}

TEST_CASE("write_file_atomic replaces content and leaves no temporary file", "[common]") {
  char dir[] = "/tmp/stack-atomic-XXXXXX";
  REQUIRE(::mkdtemp(dir) != nullptr);
  std::string path = std::string(dir) + "/state.json";
  REQUIRE(write_file_atomic(path, "one").ok());
  REQUIRE(write_file_atomic(path, "two", 0600).ok());
  auto content = read_file(path);
  REQUIRE(content.ok());
  CHECK(*content == "two");
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  std::string listing = std::string("ls -A ") + dir + " | wc -l";
  FILE* f = ::popen(listing.c_str(), "r");
  int n = 0;
  REQUIRE(std::fscanf(f, "%d", &n) == 1);
  ::pclose(f);
  CHECK(n == 1);
  CHECK_FALSE(write_file_atomic(std::string(dir) + "/missing/x", "y").ok());
  std::system((std::string("rm -rf ") + dir).c_str());
}

TEST_CASE("sha256_hex matches the known digest", "[common]") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("clean_path cleans lexically as Go's path.Clean", "[common]") {
  CHECK(clean_path("") == ".");
  CHECK(clean_path("/") == "/");
  CHECK(clean_path("/a/./b/../c/") == "/a/c");
  CHECK(clean_path("/../x") == "/x");
  CHECK(clean_path("a/../../x") == "../x");
  CHECK(clean_path("./a//b/") == "a/b");
  CHECK(clean_path("a/..") == ".");
  CHECK(clean_path("../../a/b/../..") == "../..");
}

TEST_CASE("Sha256 streams to the same digest as one call", "[common]") {
  Sha256 hasher;
  hasher.update("ab");
  hasher.update(std::string_view("c"));
  CHECK(hasher.hex_digest() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // 1 MiB in uneven pieces, against the one-shot digest.
  std::string big(1 << 20, 'x');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7);
  Sha256 pieces;
  for (size_t at = 0; at < big.size(); at += 4099) pieces.update(big.data() + at, std::min<size_t>(4099, big.size() - at));
  CHECK(pieces.hex_digest() == sha256_hex(big));
}

TEST_CASE("RecordingSyscalls records calls and injects failures", "[common]") {
  RecordingSyscalls sys;
  sys.fail_on("pivot_root", EINVAL);
  REQUIRE(sys.sethostname("web-1").ok());
  auto st = sys.pivot_root("/rootfs", "/rootfs/.old");
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().code == EINVAL);
  CHECK(sys.transcript() == "sethostname(web-1)\npivot_root(/rootfs, /rootfs/.old) = -22\n");
}
