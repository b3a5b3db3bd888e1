// Content store: verified blob ingestion, resume, index, chain ids and garbage collection.
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "stack/common/atomic_file.h"
#include "stack/common/sha256.h"
#include "stack/engine/image/store.h"

namespace fs = std::filesystem;
using stack::engine::image::ContentStore;
using stack::engine::image::IndexEntry;

namespace {

// "hello blob" and "a"/"b"/"c", digests computed with coreutils sha256sum.
const std::string kHello = "hello blob";
const std::string kHelloDigest =
    "sha256:e997afd18e5f6be004fc193aed2c90291e68ab2c7599a62538c935b7fca6ab0f";
const std::string kDigestA = "sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb";
const std::string kDigestB = "sha256:3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d";
const std::string kDigestC = "sha256:2e7d2c03a9507ae265ecf5b5356885a53393a2029d241394997265a1a25aefc6";

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/store_test.XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::set<std::string> names_in(const std::string& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.insert(e.path().filename().string());
  return out;
}

ContentStore open_store(const TempDir& dir) {
  auto store = ContentStore::open(dir.path + "/images");
  REQUIRE(store.ok());
  return std::move(store).value();
}

}  // namespace

TEST_CASE("open creates the layout below the root") {
  TempDir dir;
  auto store = open_store(dir);
  CHECK(names_in(dir.path + "/images") == std::set<std::string>{"blobs", "ingest", "layers"});
  CHECK(names_in(dir.path + "/images/blobs") == std::set<std::string>{"sha256"});
  CHECK(store.blob_path(kHelloDigest) == dir.path + "/images/blobs/sha256/" + kHelloDigest.substr(7));
  CHECK(store.blob_path("sha256:../../etc/passwd").empty());
  CHECK(store.blob_path("sha512:" + std::string(128, 'a')).empty());
  CHECK(store.layer_dir(kDigestA) == dir.path + "/images/layers/" + kDigestA.substr(7));
}

TEST_CASE("a streamed blob is verified, published read-only and the ingest area is emptied") {
  TempDir dir;
  auto store = open_store(dir);
  auto w = store.begin_blob(kHelloDigest, 10, "ref");
  REQUIRE(w.ok());
  CHECK_FALSE(store.has_blob(kHelloDigest));
  REQUIRE(w->write("hello", 5).ok());
  REQUIRE(w->write(" blob", 5).ok());
  CHECK(w->offset() == 10);
  CHECK_FALSE(store.has_blob(kHelloDigest));  // never visible before commit
  auto digest = w->commit();
  REQUIRE(digest.ok());
  CHECK(*digest == kHelloDigest);
  CHECK(store.has_blob(kHelloDigest));
  CHECK(*store.read_blob(kHelloDigest) == kHello);
  struct stat st;
  REQUIRE(::stat(store.blob_path(kHelloDigest).c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0444);
  CHECK(names_in(store.root() + "/ingest").empty());
}

TEST_CASE("a digest mismatch names both digests and leaves nothing behind") {
  TempDir dir;
  auto store = open_store(dir);
  auto w = store.begin_blob(kDigestA, 10, "ref");
  REQUIRE(w.ok());
  REQUIRE(w->write(kHello.data(), kHello.size()).ok());
  auto r = w->commit();
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == EILSEQ);
  CHECK(r.error().to_string() == "digest mismatch: expected " + kDigestA + ", got " + kHelloDigest);
  CHECK(names_in(store.root() + "/blobs/sha256").empty());
  CHECK(names_in(store.root() + "/ingest").empty());
}

TEST_CASE("size mismatches are refused, too long at write time and too short at commit") {
  TempDir dir;
  auto store = open_store(dir);
  auto longer = store.begin_blob(kHelloDigest, 5, "long");
  REQUIRE(longer.ok());
  auto st = longer->write(kHello.data(), kHello.size());
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().to_string() ==
        "blob " + kHelloDigest + ": size mismatch: more than the expected 5 bytes");
  CHECK(names_in(store.root() + "/ingest").empty());

  auto shorter = store.begin_blob(kHelloDigest, 10, "short");
  REQUIRE(shorter.ok());
  REQUIRE(shorter->write("hell", 4).ok());
  auto r = shorter->commit();
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().to_string() == "blob " + kHelloDigest + ": size mismatch: expected 10 bytes, got 4");
  CHECK(names_in(store.root() + "/ingest").empty());
  CHECK(names_in(store.root() + "/blobs/sha256").empty());
}

TEST_CASE("an interrupted download resumes at its offset under the same ingest ref") {
  TempDir dir;
  auto store = open_store(dir);
  {
    auto w = store.begin_blob(kHelloDigest, 10, "docker.io/library/x@" + kHelloDigest);
    REQUIRE(w.ok());
    REQUIRE(w->write("hello", 5).ok());
  }  // the process "dies": no commit, no abort
  CHECK(names_in(store.root() + "/ingest").size() == 1);
  auto other = store.begin_blob(kHelloDigest, 10, "another ref");
  REQUIRE(other.ok());
  CHECK(other->offset() == 0);
  other->abort();

  auto w = store.begin_blob(kHelloDigest, 10, "docker.io/library/x@" + kHelloDigest);
  REQUIRE(w.ok());
  CHECK(w->offset() == 5);
  REQUIRE(w->write(" blob", 5).ok());
  auto digest = w->commit();
  REQUIRE(digest.ok());  // the hash covers the bytes found on disk
  CHECK(*store.read_blob(kHelloDigest) == kHello);
  CHECK(names_in(store.root() + "/ingest").empty());
}

TEST_CASE("a second writer of the same download is refused while the first holds it") {
  TempDir dir;
  auto store = open_store(dir);
  auto first = store.begin_blob(kHelloDigest, 10, "ref");
  REQUIRE(first.ok());
  auto second = store.begin_blob(kHelloDigest, 10, "ref");
  REQUIRE_FALSE(second.ok());
  CHECK(second.error().code == EAGAIN);
  CHECK(second.error().to_string() == "blob " + kHelloDigest + " is being written by another writer");
  REQUIRE(first->write(kHello.data(), kHello.size()).ok());
  REQUIRE(first->commit().ok());
  auto third = store.begin_blob(kHelloDigest, 10, "ref");
  REQUIRE_FALSE(third.ok());
  CHECK(third.error().code == EEXIST);
}

TEST_CASE("unknown sizes are verified by digest alone") {
  TempDir dir;
  auto store = open_store(dir);
  auto w = store.begin_blob(kHelloDigest, ContentStore::kUnknownSize, "");
  REQUIRE(w.ok());
  REQUIRE(w->write(kHello.data(), kHello.size()).ok());
  CHECK(w->commit().ok());
}

TEST_CASE("put_blob is idempotent and read_blob detects corruption") {
  TempDir dir;
  auto store = open_store(dir);
  auto d1 = store.put_blob(kHello);
  auto d2 = store.put_blob(kHello);
  REQUIRE(d1.ok());
  REQUIRE(d2.ok());
  CHECK(*d1 == kHelloDigest);
  CHECK(*d2 == kHelloDigest);
  CHECK(names_in(store.root() + "/blobs/sha256").size() == 1);

  auto missing = store.read_blob(kDigestA);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == ENOENT);
  CHECK(missing.error().to_string() == "blob " + kDigestA + " not found");

  REQUIRE(stack::write_file_atomic(store.blob_path(kHelloDigest), "a").ok());
  auto corrupt = store.read_blob(kHelloDigest);
  REQUIRE_FALSE(corrupt.ok());
  CHECK(corrupt.error().to_string() ==
        "blob " + kHelloDigest + " is corrupt (content hashes to " + kDigestA + ")");
}

TEST_CASE("chain ids follow the OCI image-spec formula") {
  using stack::engine::image::chain_ids;
  CHECK(chain_ids({}).empty());
  CHECK(chain_ids({kDigestA}) == std::vector<std::string>{kDigestA});
  CHECK(chain_ids({kDigestA, kDigestB, kDigestC}) ==
        std::vector<std::string>{
            kDigestA,
            "sha256:51c0c8ace48498d6f5fee6b0592cc06f2da0f3cbe09c5a34a97dce85c3889676",
            "sha256:2fce7f8ce91bcf0a1428b36e1024639fdbd9469eea762dba98aa749631885106"});
}

TEST_CASE("the index tags, resolves, lists and untags references") {
  TempDir dir;
  auto store = open_store(dir);
  CHECK(store.list().empty());
  IndexEntry web{"", kDigestA, "application/vnd.oci.image.index.v1+json", kDigestB, kDigestC,
                 {"linux", "arm", "v7", ""}, 1700000000};
  IndexEntry db{"", kDigestB, "application/vnd.oci.image.manifest.v1+json", kDigestB, kDigestC,
                {"linux", "amd64", "", ""}, 1700000001};
  REQUIRE(store.tag("docker.io/library/web:1", web).ok());
  REQUIRE(store.tag("docker.io/library/db:2", db).ok());

  auto got = store.resolve("docker.io/library/web:1");
  REQUIRE(got.has_value());
  web.reference = "docker.io/library/web:1";
  db.reference = "docker.io/library/db:2";
  CHECK(*got == web);
  CHECK_FALSE(store.resolve("docker.io/library/nope:1").has_value());
  CHECK(store.list() == std::vector<IndexEntry>{db, web});
  // Only the index, its lock and the layout: no temporary file is left beside index.json.
  CHECK(names_in(store.root()) ==
        std::set<std::string>{"blobs", "ingest", "layers", "index.json", "index.lock"});

  REQUIRE(store.untag("docker.io/library/web:1").ok());
  CHECK(store.list() == std::vector<IndexEntry>{db});
  auto again = store.untag("docker.io/library/web:1");
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().code == ENOENT);
  CHECK(again.error().to_string() == "no such image: docker.io/library/web:1");

  auto reopened = open_store(dir);  // persisted
  CHECK(reopened.list() == std::vector<IndexEntry>{db});
}

namespace {

std::string descriptor(const std::string& media_type, const std::string& digest, size_t size) {
  return R"({"mediaType":")" + media_type + R"(","digest":")" + digest +
         R"(","size":)" + std::to_string(size) + "}";
}

// An image: two layer blobs, a config naming their diff ids, a manifest and an index whose
// second (arm64) manifest was never pulled.
struct Image {
  std::string layer1 = "layer one", layer2 = "layer two";
  std::string config, manifest, index;
  std::string layer1_digest, layer2_digest, config_digest, manifest_digest, index_digest;

  explicit Image(const ContentStore& store) {
    layer1_digest = *store.put_blob(layer1);
    layer2_digest = *store.put_blob(layer2);
    config = R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[")" +
             kDigestA + R"(",")" + kDigestB + R"("]}})";
    config_digest = *store.put_blob(config);
    manifest = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
               R"("config":)" + descriptor("application/vnd.oci.image.config.v1+json", config_digest, config.size()) +
               R"(,"layers":[)" +
               descriptor("application/vnd.oci.image.layer.v1.tar+gzip", layer1_digest, layer1.size()) + "," +
               descriptor("application/vnd.oci.image.layer.v1.tar+gzip", layer2_digest, layer2.size()) + "]}";
    manifest_digest = *store.put_blob(manifest);
    index = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)" +
            descriptor("application/vnd.oci.image.manifest.v1+json", manifest_digest, manifest.size()) +
            R"(,{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" + kDigestC +
            R"(","size":5,"platform":{"os":"linux","architecture":"arm64"}}]})";
    index_digest = *store.put_blob(index);
  }
};

}  // namespace

TEST_CASE("garbage collection removes only what the index cannot reach") {
  TempDir dir;
  auto store = open_store(dir);
  Image image(store);
  IndexEntry entry{"", image.index_digest, "application/vnd.oci.image.index.v1+json",
                   image.manifest_digest, image.config_digest, {"linux", "amd64", "", ""}, 1};
  REQUIRE(store.tag("example.com/app:1", entry).ok());
  auto stray = store.put_blob("stray bytes");  // 11 bytes
  REQUIRE(stray.ok());

  std::string chain2 = "sha256:51c0c8ace48498d6f5fee6b0592cc06f2da0f3cbe09c5a34a97dce85c3889676";
  fs::create_directories(store.layer_dir(kDigestA) + "/etc");
  fs::create_directories(store.layer_dir(chain2));
  std::string stray_layer = store.layer_dir(kDigestC);
  fs::create_directories(stray_layer + "/usr");
  // A hostile symlink inside a stray layer must not lead the removal outside the store.
  std::ofstream(dir.path + "/outside") << "keep";
  fs::create_symlink(dir.path, stray_layer + "/usr/escape");
  fs::create_directories(store.root() + "/layers/tmp-unpacking");

  auto stats = store.collect_garbage();
  REQUIRE(stats.ok());
  CHECK(stats->blobs_removed == 1);
  CHECK(stats->bytes_removed == 11);
  CHECK(stats->layers_removed == 1);
  CHECK_FALSE(store.has_blob(*stray));
  for (const auto& d : {image.layer1_digest, image.layer2_digest, image.config_digest,
                        image.manifest_digest, image.index_digest}) {
    CHECK(store.has_blob(d));
  }
  CHECK(fs::exists(store.layer_dir(kDigestA) + "/etc"));
  CHECK(fs::exists(store.layer_dir(chain2)));
  CHECK_FALSE(fs::exists(stray_layer));
  CHECK(fs::exists(store.root() + "/layers/tmp-unpacking"));
  CHECK(fs::exists(dir.path + "/outside"));

  REQUIRE(store.untag("example.com/app:1").ok());
  auto all = store.collect_garbage();
  REQUIRE(all.ok());
  CHECK(all->blobs_removed == 5);
  CHECK(all->layers_removed == 2);
  CHECK(names_in(store.root() + "/blobs/sha256").empty());
}

TEST_CASE("garbage collection waits for leases and refuses an unreadable index") {
  TempDir dir;
  auto store = open_store(dir);
  REQUIRE(store.put_blob(kHello).ok());
  {
    auto lease = store.lease();
    REQUIRE(lease.ok());
    auto busy = store.collect_garbage();
    REQUIRE_FALSE(busy.ok());
    CHECK(busy.error().code == EBUSY);
    CHECK(store.has_blob(kHelloDigest));
  }
  REQUIRE(stack::write_file_atomic(store.root() + "/index.json", "{not json").ok());
  auto refused = store.collect_garbage();
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().to_string() ==
        store.root() + "/index.json: not a valid image index; not collecting garbage");
  CHECK(store.has_blob(kHelloDigest));
}

TEST_CASE("garbage collection drops abandoned downloads and unpack temp trees, not live ones") {
  TempDir dir;
  ContentStore store = open_store(dir);
  const std::string data = "partial content";
  const std::string digest = "sha256:" + stack::sha256_hex(data);
  {
    auto w = store.begin_blob(digest, static_cast<int64_t>(data.size()) * 2, "abandoned");
    REQUIRE(w.ok());
    REQUIRE(w->write(data.data(), data.size()).ok());
  }  // destroyed without commit: the partial file stays for a resume
  const std::string other = "sha256:" + stack::sha256_hex("other");
  auto live = store.begin_blob(other, 5, "live");
  REQUIRE(live.ok());
  REQUIRE(live->write("ot", 2).ok());
  const std::string tmp = store.root() + "/layers/" + std::string(64, 'a') + ".tmp-Ab12Cd";
  fs::create_directories(tmp + "/usr/bin");
  REQUIRE(std::distance(fs::directory_iterator(store.root() + "/ingest"), {}) == 2);

  auto gc = store.collect_garbage();
  REQUIRE(gc.ok());
  CHECK(gc->bytes_removed == data.size());
  CHECK_FALSE(fs::exists(tmp));
  // The live writer's file (flocked) survives and still commits.
  REQUIRE(std::distance(fs::directory_iterator(store.root() + "/ingest"), {}) == 1);
  REQUIRE(live->write("her", 3).ok());
  CHECK(live->commit().ok());
}

TEST_CASE("a blob of unknown digest is published under the digest of its bytes, read-only") {
  TempDir dir;
  auto store = open_store(dir);
  auto w = store.begin_unknown_blob();
  REQUIRE(w.ok());
  auto second = store.begin_unknown_blob();  // each writer has its own ingest file
  REQUIRE(second.ok());
  auto ingest = names_in(store.root() + "/ingest");
  REQUIRE(ingest.size() == 2);
  for (const auto& name : ingest) CHECK(name.size() != 64);  // never a resumable name
  second->abort();

  REQUIRE(w->write("hello", 5).ok());
  REQUIRE(w->write(" blob", 5).ok());
  CHECK(w->offset() == 10);
  CHECK(names_in(store.root() + "/blobs/sha256").empty());  // never visible before commit
  auto digest = w->commit();
  REQUIRE(digest.ok());
  CHECK(*digest == kHelloDigest);
  CHECK(*store.read_blob(kHelloDigest) == kHello);
  struct stat st;
  REQUIRE(::stat(store.blob_path(kHelloDigest).c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0444);
  CHECK(names_in(store.root() + "/ingest").empty());
  auto again = w->commit();
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().code == EBADF);
}

TEST_CASE("an unknown-digest blob already stored keeps the stored file and drops the new one") {
  TempDir dir;
  auto store = open_store(dir);
  REQUIRE(store.put_blob(kHello).ok());
  struct stat before;
  REQUIRE(::stat(store.blob_path(kHelloDigest).c_str(), &before) == 0);
  auto w = store.begin_unknown_blob();
  REQUIRE(w.ok());
  REQUIRE(w->write(kHello.data(), kHello.size()).ok());
  auto digest = w->commit();
  REQUIRE(digest.ok());
  CHECK(*digest == kHelloDigest);
  CHECK(names_in(store.root() + "/ingest").empty());
  struct stat after;
  REQUIRE(::stat(store.blob_path(kHelloDigest).c_str(), &after) == 0);
  CHECK(after.st_ino == before.st_ino);  // not replaced by a rename
  CHECK(names_in(store.root() + "/blobs/sha256").size() == 1);
  CHECK(*store.read_blob(kHelloDigest) == kHello);
}

TEST_CASE("an aborted unknown-digest blob leaves nothing and refuses further use") {
  TempDir dir;
  auto store = open_store(dir);
  auto w = store.begin_unknown_blob();
  REQUIRE(w.ok());
  REQUIRE(w->write(kHello.data(), kHello.size()).ok());
  w->abort();
  CHECK(names_in(store.root() + "/ingest").empty());
  auto st = w->write("x", 1);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().code == EBADF);
  CHECK_THAT(st.error().to_string(),
             Catch::StartsWith("blob " + store.root() + "/ingest/") &&
                 Catch::EndsWith(": writer is closed"));
  CHECK_FALSE(w->commit().ok());
  CHECK(names_in(store.root() + "/ingest").empty());
  CHECK(names_in(store.root() + "/blobs/sha256").empty());
}

TEST_CASE("a failed write of an unknown-digest blob removes its ingest file") {
  TempDir dir;
  auto store = open_store(dir);
  auto w = store.begin_unknown_blob();
  REQUIRE(w.ok());
  const std::string ingest_dir = store.root() + "/ingest";
  const std::string ingest = ingest_dir + "/" + *names_in(ingest_dir).begin();
  // A file size limit makes write(2) fail with EFBIG, even for root.
  struct FsizeLimit {
    struct rlimit old {};
    void (*old_handler)(int) = SIG_DFL;
    FsizeLimit() {
      ::getrlimit(RLIMIT_FSIZE, &old);
      old_handler = ::signal(SIGXFSZ, SIG_IGN);
      struct rlimit small = old;
      small.rlim_cur = 4096;
      ::setrlimit(RLIMIT_FSIZE, &small);
    }
    ~FsizeLimit() {
      ::setrlimit(RLIMIT_FSIZE, &old);
      ::signal(SIGXFSZ, old_handler);
    }
  };
  const std::string data(8192, 'x');
  stack::Status st;
  {
    FsizeLimit limit;
    st = w->write(data.data(), data.size());
  }
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().code == EFBIG);
  CHECK_THAT(st.error().to_string(), Catch::StartsWith("write blob " + ingest));
  CHECK(names_in(store.root() + "/ingest").empty());
  CHECK_FALSE(w->commit().ok());
  CHECK(names_in(store.root() + "/blobs/sha256").empty());

  if (::geteuid() != 0) {  // root ignores directory permissions
    fs::permissions(store.root() + "/ingest", fs::perms::owner_read | fs::perms::owner_exec);
    auto refused = store.begin_unknown_blob();
    fs::permissions(store.root() + "/ingest", fs::perms::owner_all);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code == EACCES);
    CHECK_THAT(refused.error().to_string(), Catch::Contains(store.root() + "/ingest"));
  }
}

TEST_CASE("garbage collection keeps a live unknown-digest writer and drops an abandoned one") {
  TempDir dir;
  auto store = open_store(dir);
  auto live = store.begin_unknown_blob();
  REQUIRE(live.ok());
  REQUIRE(live->write("hello", 5).ok());
  const std::string abandoned_data = "abandoned bytes";
  {
    auto w = store.begin_unknown_blob();
    REQUIRE(w.ok());
    REQUIRE(w->write(abandoned_data.data(), abandoned_data.size()).ok());
  }  // destroyed without commit or abort: the file stays until GC
  REQUIRE(names_in(store.root() + "/ingest").size() == 2);

  auto gc = store.collect_garbage();
  REQUIRE(gc.ok());
  CHECK(gc->bytes_removed == abandoned_data.size());
  CHECK(names_in(store.root() + "/ingest").size() == 1);  // the flocked one
  REQUIRE(live->write(" blob", 5).ok());
  auto digest = live->commit();
  REQUIRE(digest.ok());
  CHECK(*digest == kHelloDigest);
  CHECK(*store.read_blob(kHelloDigest) == kHello);
  CHECK(names_in(store.root() + "/ingest").empty());
}
