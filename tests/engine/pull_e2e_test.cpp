// pull_image and push_image against the real registry (tests/support/registry_fixture.h), with
// images seeded straight into its storage. Needs root for whiteouts (mknod) and overlay mounts.
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <thread>

#include "engine/layer_test_util.h"
#include "stack/engine/image/pull.h"
#include "stack/engine/image/push.h"
#include "stack/engine/image/unpack.h"
#include "support/registry_fixture.h"
#include "support/test_data.h"
#include "support/require_ok.h"
#include "support/test_image.h"

using namespace stack::engine::image;
using stack::test::LocalRegistry;
using stack::test::LocalRegistryOptions;
using stack::test::RegistryAuth;
using stack::test::TestImage;
using stack::test::read_file;
using stack::test::random_bytes;
namespace fs = std::filesystem;

namespace {

struct Env {
  std::unique_ptr<LocalRegistry> registry;
  layer_test::TempDir dir;
  ContentStore store;
  std::unique_ptr<RegistryClient> client;

  explicit Env(LocalRegistryOptions o = {}, std::optional<Credentials> creds = std::nullopt)
      : registry(LocalRegistry::start(o)), store(*ContentStore::open(dir / "store")) {
    RegistryOptions ro;
    ro.backoff_initial_ms = 10;
    if (creds) ro.credentials = [c = *creds](const std::string&) { return std::optional(c); };
    client = std::make_unique<RegistryClient>(ro);
  }
  Reference ref(const std::string& repo_tag) const {
    return *parse_reference(registry->host() + "/" + repo_tag);
  }
  stack::Result<PullResult> pull(const std::string& repo_tag, PullOptions o = {}) {
    return pull_image(store, *client, ref(repo_tag), o);
  }
  // Every entry of the store's layers/ and ingest/ (what a failed pull must not add to).
  // Verified manifests and configs may stay in blobs/: whole, unreferenced, and GC'd by prune.
  std::string contents() const { return listing("layers") + listing("ingest"); }
  std::string listing(const std::string& sub) const {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(store.root() + "/" + sub, ec))
      names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    std::string out = sub + ":";
    for (auto& n : names) out += " " + n;
    return out + "\n";
  }
};

// The file holding a blob in the registry's filesystem storage.
std::string registry_blob_file(const LocalRegistry& r, const std::string& digest) {
  std::string hex = digest.substr(7);
  return r.storage_dir() + "/docker/registry/v2/blobs/sha256/" + hex.substr(0, 2) + "/" + hex +
         "/data";
}

void overwrite(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

}  // namespace

TEST_CASE("pull: a busybox image lands unpacked and tagged, a second pull downloads nothing") {
  Env env;
  TestImage image = stack::test::busybox_image();
  env.registry->seed("tools/busybox", "1", image);
  auto r = env.pull("tools/busybox:1");
  REQUIRE_OK(r);
  CHECK(r->downloaded);
  CHECK(r->image.reference == env.registry->host() + "/tools/busybox:1");
  CHECK(r->image.manifest_digest == image.manifest_digest);
  CHECK(r->image.target_digest == image.manifest_digest);
  CHECK(r->image.config_digest == image.config_digest);
  CHECK(r->image.platform.to_string() == "linux/amd64");
  auto entry = env.store.resolve(r->image.reference);
  REQUIRE(entry);
  CHECK(*entry == r->image);
  auto dirs = image_lower_dirs(env.store, *entry);
  REQUIRE_OK(dirs);
  REQUIRE(dirs->size() == 1);
  CHECK(read_file((*dirs)[0] + "/bin/busybox") == read_file("/bin/busybox"));
  CHECK(fs::read_symlink((*dirs)[0] + "/bin/sh") == "busybox");
  // Every blob is in the store and verified.
  CHECK(env.store.read_blob(image.layers[0].digest).ok());
  CHECK(env.store.read_blob(image.config_digest).ok());

  auto again = env.pull("tools/busybox:1");
  REQUIRE_OK(again);
  CHECK_FALSE(again->downloaded);
  CHECK(again->image.manifest_digest == image.manifest_digest);
}

TEST_CASE("pull: whiteouts and opaque directories give the right merged overlay view") {
  REQUIRE(::geteuid() == 0);
  Env env;
  TestImage image = stack::test::whiteout_image();
  env.registry->seed("w/img", "latest", image);
  auto r = env.pull("w/img:latest");
  REQUIRE_OK(r);
  auto dirs = image_lower_dirs(env.store, r->image);
  REQUIRE_OK(dirs);
  REQUIRE(dirs->size() == 3);
  std::string lower;
  for (const auto& d : *dirs) lower += (lower.empty() ? "" : ":") + d;
  layer_test::TempDir mnt;
  // Mount in a private mount namespace of a child so that nothing leaks on failure.
  pid_t pid = ::fork();
  if (pid == 0) {
    if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr))
      ::_exit(10);
    std::string opts = "lowerdir=" + lower;
    if (::mount("overlay", mnt.path().c_str(), "overlay", MS_RDONLY, opts.c_str()) != 0) ::_exit(11);
    auto ls = layer_test::list_dir(mnt / "a") + "|" + layer_test::list_dir(mnt / "d") + "|" +
              read_file(mnt / "top");
    ::_exit(ls == "added,keep|new|top-3" ? 0 : 12);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("pull: a multi-platform index gives this host's platform, or the one asked for") {
  Env env;
  auto layer_for = [](const std::string& text) {
    return stack::test::make_layer({layer_test::file("platform", text)});
  };
  stack::test::ImageConfigSpec amd, arm;
  arm.architecture = "arm64";
  TestImage a = stack::test::make_image({layer_for("amd64")}, amd);
  TestImage b = stack::test::make_image({layer_for("arm64")}, arm);
  TestImage index = stack::test::make_index({{Platform{"linux", "amd64", "", ""}, a},
                                             {Platform{"linux", "arm64", "", ""}, b}});
  env.registry->seed("multi/app", "2", index);

  auto r = env.pull("multi/app:2");
  REQUIRE_OK(r);
  CHECK(r->image.target_digest == index.index_digest);
  CHECK(r->image.manifest_digest == a.manifest_digest);
  CHECK(r->image.platform.to_string() == "linux/amd64");
  CHECK(read_file((*image_lower_dirs(env.store, r->image))[0] + "/platform") == "amd64");

  PullOptions o;
  o.platform = Platform{"linux", "aarch64", "", ""};  // normalized to arm64
  auto arm_pull = env.pull("multi/app:2", o);
  REQUIRE_OK(arm_pull);
  CHECK(arm_pull->image.manifest_digest == b.manifest_digest);
  CHECK(read_file((*image_lower_dirs(env.store, arm_pull->image))[0] + "/platform") == "arm64");

  o.platform = Platform{"linux", "s390x", "", ""};
  auto none = env.pull("multi/app:2", o);
  REQUIRE_FALSE(none.ok());
  CHECK_THAT(none.error().to_string(), Catch::Contains("image " + env.registry->host() + "/multi/app:2") &&
                                           Catch::Contains("linux/s390x") &&
                                           Catch::Contains("linux/arm64"));
}

TEST_CASE("pull: Docker schema 2 media types and uncompressed and zstd layers") {
  Env env;
  auto l1 = stack::test::make_layer({layer_test::file("one", "1")}, layer_test::Compression::kNone, false);
  auto l2 = stack::test::make_layer({layer_test::file("two", "2")}, layer_test::Compression::kGzip, false);
  auto l3 = stack::test::make_layer({layer_test::file("three", "3")}, layer_test::Compression::kZstd, true);
  TestImage image = stack::test::make_image({l1, l2, l3}, {}, /*oci=*/false);
  env.registry->seed("docker/img", "v2", image);
  auto r = env.pull("docker/img:v2");
  REQUIRE_OK(r);
  auto dirs = image_lower_dirs(env.store, r->image);
  REQUIRE_OK(dirs);
  REQUIRE(dirs->size() == 3);
  CHECK(read_file((*dirs)[0] + "/three") == "3");
  CHECK(read_file((*dirs)[2] + "/one") == "1");
}

TEST_CASE("pull: big layers stream through the bounded queue in parallel") {
  Env env;
  // Incompressible, uncompressed layers of 24 MiB each: far more than the 8 MiB queue, so the
  // download pauses and is woken by the unpacker.
  std::vector<stack::test::TestLayer> layers;
  for (unsigned i = 0; i < 3; ++i) {
    layers.push_back(stack::test::make_layer(
        {layer_test::file("blob" + std::to_string(i), random_bytes(24u << 20, i))},
        i == 1 ? layer_test::Compression::kGzip : layer_test::Compression::kNone));
  }
  TestImage image = stack::test::make_image(layers);
  env.registry->seed("big/img", "1", image);
  struct Counter : PullObserver {
    std::map<std::string, uint64_t> bytes;
    std::map<std::string, int> completes;
    void event(const PullEvent& e) override {
      if (e.kind == PullEvent::Kind::kDownloading) bytes[e.id] = e.current;
      if (e.kind == PullEvent::Kind::kComplete) ++completes[e.id];
    }
  } counter;
  PullOptions o;
  o.observer = &counter;
  auto r = env.pull("big/img:1", o);
  REQUIRE_OK(r);
  auto dirs = image_lower_dirs(env.store, r->image);
  REQUIRE_OK(dirs);
  for (unsigned i = 0; i < 3; ++i) {
    CHECK(read_file((*dirs)[2 - i] + "/blob" + std::to_string(i)) == random_bytes(24u << 20, i));
    CHECK(counter.bytes[layers[i].digest] == layers[i].blob.size());
    CHECK(counter.completes[layers[i].digest] == 1);
  }
}

TEST_CASE("pull: a partly downloaded blob is resumed") {
  Env env;
  auto layer = stack::test::make_layer(
      {layer_test::file("data", random_bytes(3u << 20, 7))}, layer_test::Compression::kGzip);
  TestImage image = stack::test::make_image({layer});
  env.registry->seed("resume/img", "1", image);
  {
    // What an interrupted pull leaves: the first half in ingest/ under the pull's ingest name.
    auto ref = env.ref("resume/img:1");
    auto w = env.store.begin_blob(layer.digest, static_cast<int64_t>(layer.blob.size()),
                                  ref.name() + "@" + layer.digest);
    REQUIRE_OK(w);
    REQUIRE(w->write(layer.blob.data(), layer.blob.size() / 2).ok());
  }
  auto r = env.pull("resume/img:1");
  REQUIRE_OK(r);
  CHECK(read_file((*image_lower_dirs(env.store, r->image))[0] + "/data") == random_bytes(3u << 20, 7));
  CHECK(env.contents().find("ingest:\n") != std::string::npos);  // nothing left in ingest/
  // The registry served the second half only.
  CHECK_THAT(env.registry->log(), Catch::Contains("206") || Catch::Contains("Range"));
}

TEST_CASE("pull: bad input fails naming the image, leaves nothing, keeps what was there") {
  Env env;
  TestImage good = stack::test::busybox_image();
  env.registry->seed("ok/img", "1", good);
  REQUIRE(env.pull("ok/img:1").ok());
  const std::string before = env.contents();
  const std::string before_layers = env.listing("layers");
  const std::string host = env.registry->host();
  std::set<std::string> before_blobs;
  for (const auto& e : fs::directory_iterator(env.store.root() + "/blobs/sha256"))
    before_blobs.insert(e.path().filename().string());

  // `resumable`: the download broke off, so its partial file stays in ingest/ for the next
  // pull to resume (it is never visible as a blob).
  auto expect_failure = [&](const std::string& repo_tag, const std::string& cause,
                            bool resumable = false) {
    auto r = env.pull(repo_tag);
    REQUIRE_FALSE(r.ok());
    INFO(r.error().to_string());
    CHECK_THAT(r.error().to_string(), Catch::StartsWith("image " + host + "/" + repo_tag + ": "));
    CHECK_THAT(r.error().to_string(), Catch::Contains(cause));
    CHECK_FALSE(env.store.resolve(host + "/" + repo_tag));
    if (resumable) {
      CHECK(env.listing("layers") == before_layers);
    } else {
      CHECK(env.contents() == before);
    }
    for (const auto& e : fs::directory_iterator(env.store.root() + "/blobs/sha256")) {
      // Only documents (manifests, configs: JSON) were added, never a layer.
      if (before_blobs.count(e.path().filename().string())) continue;
      CHECK(read_file(e.path().string()).substr(0, 1) == "{");
    }
    // The image that was there still resolves and has all its layers.
    auto entry = env.store.resolve(host + "/ok/img:1");
    REQUIRE(entry);
    CHECK(image_lower_dirs(env.store, *entry).ok());
  };

  SECTION("unknown tag") { expect_failure("ok/img:nope", "manifest unknown"); }
  SECTION("unknown repository") { expect_failure("nobody/here:1", "unknown"); }
  SECTION("malformed manifest") {
    env.registry->put_manifest("bad/manifest", "1", "{\"schemaVersion\": 2, \"layers\": 7}");
    expect_failure("bad/manifest:1", "");
  }
  SECTION("unsupported layer media type") {
    auto l = stack::test::make_layer({layer_test::file("x", "x")});
    l.media_type = "application/vnd.example.layer.v1.tar+lz4";
    env.registry->seed("bad/type", "1", stack::test::make_image({l}));
    expect_failure("bad/type:1", "unsupported media type \"application/vnd.example.layer.v1.tar+lz4\"");
  }
  SECTION("a layer whose bytes do not match its digest") {
    auto l = stack::test::make_layer({layer_test::file("x", random_bytes(1 << 20, 3))});
    TestImage img = stack::test::make_image({l});
    env.registry->seed("bad/digest", "1", img);
    std::string corrupt = l.blob;
    corrupt[corrupt.size() / 2] ^= 0x55;
    overwrite(registry_blob_file(*env.registry, l.digest), corrupt);
    expect_failure("bad/digest:1", "digest mismatch");
  }
  SECTION("a truncated layer blob") {
    auto l = stack::test::make_layer({layer_test::file("x", random_bytes(1 << 20, 4))});
    TestImage img = stack::test::make_image({l});
    env.registry->seed("bad/short", "1", img);
    overwrite(registry_blob_file(*env.registry, l.digest), l.blob.substr(0, l.blob.size() / 2));
    expect_failure("bad/short:1", "transfer closed", /*resumable=*/true);
    CHECK_FALSE(env.store.has_blob(l.digest));
  }
  SECTION("a layer escaping with ..") {
    auto l = stack::test::make_layer({layer_test::file("a/../../escape", "x")});
    env.registry->seed("bad/escape", "1", stack::test::make_image({l}));
    expect_failure("bad/escape:1", "escapes the layer");
    CHECK_FALSE(fs::exists(env.store.root() + "/escape"));
  }
  SECTION("a layer whose diff id is not the config's") {
    auto l = stack::test::make_layer({layer_test::file("x", "x")});
    auto other = stack::test::make_layer({layer_test::file("y", "y")});
    TestImage img = stack::test::make_image({l});
    std::string cfg = stack::test::make_config_json({other}, {});
    env.registry->seed("bad/diffid", "1", stack::test::make_image_with_config({l}, cfg));
    expect_failure("bad/diffid:1", "diff id mismatch");
  }
  SECTION("the registry is gone") {
    env.registry->stop();
    auto r = env.pull("ok/img:1");
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().to_string(), Catch::StartsWith("image " + host + "/ok/img:1: "));
    CHECK(env.contents() == before);
  }
}

TEST_CASE("pull: Basic and token authentication") {
  SECTION("basic") {
    LocalRegistryOptions o;
    o.auth = RegistryAuth::kBasic;
    {
      Env anon(o);
      anon.registry->seed("priv/img", "1", stack::test::busybox_image());
      auto r = anon.pull("priv/img:1");
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().code == EACCES);
      CHECK_THAT(r.error().to_string(), Catch::Contains("priv/img:1"));
    }
    Env env(o, Credentials{"alice", "wonderland", ""});
    env.registry->seed("priv/img", "1", stack::test::busybox_image());
    CHECK(env.pull("priv/img:1").ok());
  }
  SECTION("token") {
    LocalRegistryOptions o;
    o.auth = RegistryAuth::kToken;
    Env env(o, Credentials{"alice", "wonderland", ""});
    env.registry->seed("tok/img", "1", stack::test::busybox_image());
    auto r = env.pull("tok/img:1");
    REQUIRE_OK(r);
    CHECK(env.registry->token_requests() >= 1);
    Env wrong(o, Credentials{"alice", "not-the-password", ""});
    wrong.registry->seed("tok/img", "1", stack::test::busybox_image());
    auto denied = wrong.pull("tok/img:1");
    REQUIRE_FALSE(denied.ok());
    CHECK(denied.error().code == EACCES);
  }
}

TEST_CASE("pull: two pulls of one image at once both succeed") {
  Env env;
  auto l = stack::test::make_layer({layer_test::file("x", random_bytes(8u << 20, 9))},
                                   layer_test::Compression::kNone);
  env.registry->seed("race/img", "1", stack::test::make_image({l}));
  stack::Result<PullResult> a = stack::Error("not run"), b = stack::Error("not run");
  RegistryClient second;
  std::thread t([&] { b = pull_image(env.store, second, env.ref("race/img:1")); });
  a = env.pull("race/img:1");
  t.join();
  REQUIRE_OK(a);
  REQUIRE_OK(b);
  CHECK(read_file((*image_lower_dirs(env.store, a->image))[0] + "/x") == random_bytes(8u << 20, 9));
}

TEST_CASE("push: upload, skip what exists, mount across repositories, chunked uploads") {
  Env env;
  TestImage image = stack::test::busybox_image();
  env.registry->seed("src/bb", "1", image);
  REQUIRE(env.pull("src/bb:1").ok());
  const std::string host = env.registry->host();

  // Tag as another repository of the same registry: its blobs are mounted, not uploaded.
  auto entry = *env.store.resolve(host + "/src/bb:1");
  entry.reference = host + "/dst/bb:2";
  REQUIRE(env.store.tag(entry.reference, entry).ok());
  auto pushed = push_image(env.store, *env.client, entry.reference, env.ref("dst/bb:2"));
  REQUIRE_OK(pushed);
  CHECK(pushed->manifest_digest == image.manifest_digest);
  CHECK(pushed->blobs_mounted == 2);
  CHECK(pushed->blobs_uploaded == 0);
  CHECK(env.registry->tag_digest("dst/bb", "2") == image.manifest_digest);
  CHECK(env.registry->has_layer_link("dst/bb", image.layers[0].digest));

  // Pushing again finds everything there.
  auto again = push_image(env.store, *env.client, entry.reference, env.ref("dst/bb:2"));
  REQUIRE_OK(again);
  CHECK(again->blobs_present == 2);

  // To a second registry (nothing to mount from): uploaded, in chunks; then pulled back.
  Env other;
  entry.reference = other.registry->host() + "/up/bb:3";
  REQUIRE(env.store.tag(entry.reference, entry).ok());
  PushOptions po;
  po.chunk_size = 64 * 1024;
  Reference target = *parse_reference(entry.reference);
  auto up = push_image(env.store, *env.client, entry.reference, target, po);
  REQUIRE_OK(up);
  CHECK(up->blobs_uploaded == 2);
  CHECK(other.registry->blob(image.layers[0].digest) == image.layers[0].blob);
  auto back = other.pull("up/bb:3");
  REQUIRE_OK(back);
  CHECK(back->image.manifest_digest == image.manifest_digest);
}

TEST_CASE("pull: a full disk fails cleanly") {
  REQUIRE(::geteuid() == 0);
  auto registry = LocalRegistry::start();
  auto l = stack::test::make_layer({layer_test::file("x", random_bytes(4u << 20, 5))},
                                   layer_test::Compression::kNone);
  registry->seed("full/img", "1", stack::test::make_image({l}));
  layer_test::TempDir dir;
  pid_t pid = ::fork();
  if (pid == 0) {
    // A 1 MiB tmpfs in a private mount namespace holds the store.
    if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr))
      ::_exit(10);
    if (::mount("tmpfs", dir.path().c_str(), "tmpfs", 0, "size=1m") != 0) ::_exit(11);
    auto store = ContentStore::open(dir / "store");
    if (!store.ok()) ::_exit(12);
    RegistryClient client;
    auto r = pull_image(*store, client, *parse_reference(registry->host() + "/full/img:1"));
    if (r.ok()) ::_exit(13);
    std::string msg = r.error().to_string();
    if (msg.find("image " + registry->host() + "/full/img:1") != 0) ::_exit(14);
    if (msg.find("No space left on device") == std::string::npos) ::_exit(15);
    // Nothing half-written: no layer, no blob but the manifest and config, no ingest file.
    if (!fs::is_empty(store->root() + "/layers") || !fs::is_empty(store->root() + "/ingest"))
      ::_exit(16);
    if (store->has_blob(l.digest) || store->resolve(registry->host() + "/full/img:1")) ::_exit(17);
    ::_exit(0);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}
