// image load / save / import: archives in memory and temp dirs, a fresh content store per test.
#include "stack/engine/image/archive.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "layer_test_util.h"
#include "stack/common/sha256.h"
#include "stack/engine/image/unpack.h"

using namespace stack::engine::image;
using layer_test::TempDir;
using nlohmann::json;

namespace {

std::string digest_of(const std::string& data) { return "sha256:" + stack::sha256_hex(data); }
std::string hex_of(const std::string& data) { return stack::sha256_hex(data); }

ContentStore open_store(const std::string& root) {
  auto s = ContentStore::open(root);
  REQUIRE(s.ok());
  return std::move(*s);
}

// Entries of an uncompressed tar held in a string: path → content.
std::map<std::string, std::string> read_tar(const std::string& tar) {
  std::map<std::string, std::string> out;
  struct archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  REQUIRE(archive_read_open_memory(a, tar.data(), tar.size()) == ARCHIVE_OK);
  struct archive_entry* e;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    std::string data;
    char buf[8192];
    la_ssize_t n;
    while ((n = archive_read_data(a, buf, sizeof buf)) > 0)
      data.append(buf, static_cast<size_t>(n));
    out[archive_entry_pathname(e)] = data;
  }
  archive_read_free(a);
  return out;
}

stack::Result<LoadResult> load(const ContentStore& store, const std::string& tar,
                               size_t chunk = 4096) {
  layer_test::StringSource source(tar, chunk);  // small reads, as from a pipe
  return load_archive(store, source, "img.tar");
}

std::string config_for(const std::vector<std::string>& diff_ids) {
  return json{{"architecture", "amd64"},
              {"os", "linux"},
              {"config", {{"Cmd", {"/bin/sh"}}}},
              {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}}}
      .dump();
}

// A docker-archive as `docker save` (before 25) writes it; manifest.json first to show that
// entry order does not matter.
std::string docker_archive(const std::string& layer1, const std::string& layer2_gz,
                           const std::string& config) {
  using layer_test::file;
  json manifest = json::array({{{"Config", hex_of(config) + ".json"},
                                {"RepoTags", {"busybox:latest", "localhost:5000/x/y:2"}},
                                {"Layers", {"aaa/layer.tar", "bbb/layer.tar"}}}});
  return layer_test::make_tar({file("manifest.json", manifest.dump()),
                               file("repositories", R"({"busybox":{"latest":"aaa"}})"),
                               layer_test::dir("aaa"), file("aaa/layer.tar", layer1),
                               file("ccc/layer.tar", layer2_gz),
                               layer_test::sym("bbb/layer.tar", "../ccc/layer.tar"),
                               file(hex_of(config) + ".json", config)});
}

void expect_untouched(const ContentStore& store) {
  CHECK(store.list().empty());
  CHECK(layer_test::list_dir(store.root() + "/layers") == "");
}

// An OCI image layout with one gzip layer holding "hello".
struct OciImage {
  std::string layer_tar, layer_gz, config, manifest;
};
OciImage oci_image() {
  OciImage o;
  o.layer_tar = layer_test::make_tar({layer_test::file("hello", "world")});
  o.layer_gz = layer_test::compress(o.layer_tar, layer_test::Compression::kGzip);
  o.config = config_for({digest_of(o.layer_tar)});
  o.manifest = json{{"schemaVersion", 2},
                    {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                    {"config",
                     {{"mediaType", "application/vnd.oci.image.config.v1+json"},
                      {"digest", digest_of(o.config)},
                      {"size", o.config.size()}}},
                    {"layers",
                     {{{"mediaType", "application/vnd.oci.image.layer.v1.tar+gzip"},
                       {"digest", digest_of(o.layer_gz)},
                       {"size", o.layer_gz.size()}}}}}
                   .dump();
  return o;
}
std::string oci_layout(const OciImage& o, const json& index_manifests, bool corrupt_layer = false) {
  using layer_test::file;
  return layer_test::make_tar(
      {file("oci-layout", R"({"imageLayoutVersion":"1.0.0"})"),
       file("blobs/sha256/" + hex_of(o.layer_gz), corrupt_layer ? o.layer_tar : o.layer_gz),
       file("blobs/sha256/" + hex_of(o.config), o.config),
       file("blobs/sha256/" + hex_of(o.manifest), o.manifest),
       file("index.json", json{{"schemaVersion", 2}, {"manifests", index_manifests}}.dump())});
}
json descriptor(const OciImage& o, json annotations) {
  return {{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
          {"digest", digest_of(o.manifest)},
          {"size", o.manifest.size()},
          {"annotations", annotations}};
}

// A small rootfs: a file with an unusual mode, a symlink, a hardlink, a fifo, a nested dir.
void make_tree(const std::string& root) {
  REQUIRE(::mkdir((root + "/etc").c_str(), 0755) == 0);
  REQUIRE(::mkdir((root + "/srv").c_str(), 0700) == 0);
  std::ofstream(root + "/etc/hello") << "hello from the tree";
  std::ofstream(root + "/srv/data") << "x";
  REQUIRE(::chmod((root + "/etc/hello").c_str(), 0640) == 0);
  REQUIRE(::symlink("etc/hello", (root + "/link").c_str()) == 0);
  REQUIRE(::link((root + "/etc/hello").c_str(), (root + "/hard").c_str()) == 0);
  REQUIRE(::mkfifo((root + "/fifo").c_str(), 0600) == 0);
}

}  // namespace

TEST_CASE("import: a directory becomes a one-layer image with the --change values") {
  TempDir tmp;
  std::string tree = tmp / "tree";
  REQUIRE(::mkdir(tree.c_str(), 0755) == 0);
  make_tree(tree);
  auto store = open_store(tmp / "store");
  ImportOptions opts;
  opts.changes = {R"(CMD ["/bin/app", "-x"])",
                  "ENTRYPOINT /bin/tini --",
                  R"(ENV A=1 B="two words")",
                  "ENV LEGACY some value",
                  "WORKDIR /srv",
                  "WORKDIR sub",
                  "USER 1000:1000",
                  "EXPOSE 80 53/udp 8000-8001",
                  "LABEL k=v \"x y\"=z",
                  "VOLUME [\"/data\"]",
                  "STOPSIGNAL SIGINT"};
  auto entry = import_image(store, tree, "imported:1", opts);
  REQUIRE(entry.ok());
  CHECK(entry->reference == "docker.io/library/imported:1");
  REQUIRE(store.resolve("docker.io/library/imported:1") == *entry);
  CHECK(entry->platform == host_platform());

  auto img = read_stored_image(store, *entry);
  REQUIRE(img.ok());
  const ImageConfig& c = img->config;
  CHECK(c.cmd == std::vector<std::string>{"/bin/app", "-x"});
  CHECK(c.entrypoint == std::vector<std::string>{"/bin/sh", "-c", "/bin/tini --"});
  CHECK(c.env == std::vector<std::string>{"A=1", "B=two words", "LEGACY=some value"});
  CHECK(c.working_dir == "/srv/sub");
  CHECK(c.user == "1000:1000");
  CHECK(c.exposed_ports == std::set<std::string>{"80/tcp", "53/udp", "8000/tcp", "8001/tcp"});
  CHECK(c.labels == std::map<std::string, std::string>{{"k", "v"}, {"x y", "z"}});
  CHECK(c.volumes == std::set<std::string>{"/data"});
  CHECK(c.stop_signal == "SIGINT");
  CHECK(json::parse(img->config_json)["history"][0]["comment"] == "imported from " + tree);
  REQUIRE(img->manifest.layers.size() == 1);
  CHECK(img->manifest.layers[0].media_type == "application/vnd.oci.image.layer.v1.tar+gzip");

  // The unpacked layer is the tree.
  auto dirs = image_lower_dirs(store, *entry);
  REQUIRE(dirs.ok());
  REQUIRE(dirs->size() == 1);
  const std::string layer = dirs->front();
  CHECK(layer_test::list_dir(layer) == "etc,fifo,hard,link,srv");
  CHECK(layer_test::slurp(layer + "/etc/hello") == "hello from the tree");
  CHECK((layer_test::lstat_or_zero(layer + "/etc/hello").st_mode & 07777) == 0640);
  CHECK((layer_test::lstat_or_zero(layer + "/srv").st_mode & 07777) == 0700);
  char target[64] = {};
  CHECK(::readlink((layer + "/link").c_str(), target, sizeof target) > 0);
  CHECK(std::string(target) == "etc/hello");
  CHECK(layer_test::lstat_or_zero(layer + "/hard").st_ino ==
        layer_test::lstat_or_zero(layer + "/etc/hello").st_ino);
  CHECK(S_ISFIFO(layer_test::lstat_or_zero(layer + "/fifo").st_mode));

  // Deterministic: the same tree gives the same layer blob.
  auto again = import_image(store, tree, "imported:2");
  REQUIRE(again.ok());
  auto img2 = read_stored_image(store, *again);
  REQUIRE(img2.ok());
  CHECK(img2->manifest.layers[0].digest == img->manifest.layers[0].digest);
  CHECK(img2->config.diff_ids == img->config.diff_ids);
}

TEST_CASE("import: a compressed tarball, and refusals") {
  TempDir tmp;
  auto store = open_store(tmp / "store");
  using layer_test::file;
  std::string tar = layer_test::make_tar({layer_test::dir("./bin"), file("./bin/sh", "#!", 0755)});
  {
    std::ofstream(tmp / "root.tar.zst")
        << layer_test::compress(tar, layer_test::Compression::kZstd);
  }
  auto entry = import_image(store, tmp / "root.tar.zst", "localhost:5000/base:1");
  REQUIRE(entry.ok());
  auto dirs = image_lower_dirs(store, *entry);
  REQUIRE(dirs.ok());
  CHECK(layer_test::slurp(dirs->front() + "/bin/sh") == "#!");
  CHECK((layer_test::lstat_or_zero(dirs->front() + "/bin/sh").st_mode & 0777) == 0755);

  std::ofstream(tmp / "evil.tar") << layer_test::make_tar({file("../escape", "x")});
  auto evil = import_image(store, tmp / "evil.tar", "evil:1");
  REQUIRE_FALSE(evil.ok());
  CHECK_THAT(evil.error().to_string(),
             Catch::Contains("evil.tar") && Catch::Contains("\"../escape\": path escapes"));
  CHECK_FALSE(store.resolve("docker.io/library/evil:1"));

  ImportOptions bad;
  bad.changes = {"FROM scratch"};
  auto r = import_image(store, tmp / "root.tar.zst", "x:1", bad);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().to_string(), Catch::Contains("--change \"FROM scratch\": unsupported "
                                                    "instruction FROM"));
  bad.changes = {"EXPOSE 70000"};
  CHECK_FALSE(import_image(store, tmp / "root.tar.zst", "x:1", bad).ok());
  CHECK_FALSE(import_image(store, tmp / "missing", "x:1").ok());
  CHECK(store.list().size() == 1);
}

TEST_CASE("save then load into a fresh store keeps digests and tags") {
  TempDir tmp;
  std::string tree = tmp / "tree";
  REQUIRE(::mkdir(tree.c_str(), 0755) == 0);
  make_tree(tree);
  auto a = open_store(tmp / "a");
  auto img = import_image(a, tree, "app:1");
  REQUIRE(img.ok());
  IndexEntry second = *img;
  second.reference = "localhost:5000/team/app:2";
  REQUIRE(a.tag(second.reference, second).ok());

  std::string out_path = tmp / "out.tar";
  {
    stack::UniqueFd fd(::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    REQUIRE(fd);
    auto st = save_archive(a, {"app:1", "localhost:5000/team/app:2"}, fd.get());
    REQUIRE(st.ok());
  }
  std::string tar = layer_test::slurp(out_path);
  auto files = read_tar(tar);
  CHECK(files.count("oci-layout"));
  CHECK(files.count("blobs/sha256/" + img->manifest_digest.substr(7)));
  CHECK(files.count("blobs/sha256/" + img->config_digest.substr(7)));
  json manifest = json::parse(files.at("manifest.json"));
  REQUIRE(manifest.size() == 1);  // one config, two tags
  CHECK(manifest[0]["RepoTags"] == json({"app:1", "localhost:5000/team/app:2"}));
  CHECK(manifest[0]["Config"] == "blobs/sha256/" + img->config_digest.substr(7));
  json index = json::parse(files.at("index.json"));
  REQUIRE(index["manifests"].size() == 2);
  CHECK(index["manifests"][0]["annotations"]["io.containerd.image.name"] ==
        "docker.io/library/app:1");
  CHECK(index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"] == "1");

  auto b = open_store(tmp / "b");
  auto loaded = load(b, tar);
  REQUIRE(loaded.ok());
  CHECK(loaded->images.size() == 2);
  for (const auto& ref : {"docker.io/library/app:1", "localhost:5000/team/app:2"}) {
    auto e = b.resolve(ref);
    REQUIRE(e);
    CHECK(e->manifest_digest == img->manifest_digest);
    CHECK(e->config_digest == img->config_digest);
    CHECK(e->platform == img->platform);
    auto dirs = image_lower_dirs(b, *e);
    REQUIRE(dirs.ok());
    CHECK(layer_test::slurp(dirs->front() + "/etc/hello") == "hello from the tree");
  }

  // Loading again finds every blob stored already and yields the same images.
  auto reloaded = load(b, tar);
  REQUIRE(reloaded.ok());
  REQUIRE(reloaded->images.size() == 2);
  CHECK(reloaded->images[0].manifest_digest == img->manifest_digest);

  // The docker-archive half alone (as read by a loader that ignores index.json) loads too.
  std::map<std::string, std::string> docker_only = files;
  docker_only.erase("index.json");
  std::vector<layer_test::TarEntry> entries;
  for (const auto& [path, data] : docker_only) entries.push_back(layer_test::file(path, data));
  auto c = open_store(tmp / "c");
  auto from_docker = load(c, layer_test::make_tar(entries));
  REQUIRE(from_docker.ok());
  auto e = c.resolve("localhost:5000/team/app:2");
  REQUIRE(e);
  CHECK(e->config_digest == img->config_digest);
  CHECK(e->target_media_type == "application/vnd.docker.distribution.manifest.v2+json");

  CHECK_THAT(save_archive(a, {"nope:1"}, -1).error().to_string(),
             Catch::Contains("no such image: nope:1"));
}

TEST_CASE("load: a handcrafted docker-archive with plain and gzip layers and two tags") {
  TempDir tmp;
  auto store = open_store(tmp / "store");
  std::string layer1 = layer_test::make_tar({layer_test::file("a", "first")});
  std::string layer2 = layer_test::make_tar({layer_test::file("b", "second")});
  std::string layer2_gz = layer_test::compress(layer2, layer_test::Compression::kGzip);
  std::string config = config_for({digest_of(layer1), digest_of(layer2)});
  auto r = load(store, docker_archive(layer1, layer2_gz, config));
  REQUIRE(r.ok());
  REQUIRE(r->images.size() == 2);
  CHECK(r->images[0].reference == "docker.io/library/busybox:latest");
  CHECK(r->images[1].reference == "localhost:5000/x/y:2");
  auto e = store.resolve("docker.io/library/busybox:latest");
  REQUIRE(e);
  CHECK(e->config_digest == digest_of(config));
  CHECK(e->platform.to_string() == "linux/amd64");
  auto img = read_stored_image(store, *e);
  REQUIRE(img.ok());
  CHECK(img->manifest.media_type == "application/vnd.docker.distribution.manifest.v2+json");
  REQUIRE(img->manifest.layers.size() == 2);
  CHECK(img->manifest.layers[0].digest == digest_of(layer1));
  CHECK(img->manifest.layers[0].media_type == "application/vnd.docker.image.rootfs.diff.tar");
  CHECK(img->manifest.layers[1].digest == digest_of(layer2_gz));
  CHECK(img->manifest.layers[1].media_type == "application/vnd.docker.image.rootfs.diff.tar.gzip");
  auto dirs = image_lower_dirs(store, *e);
  REQUIRE(dirs.ok());
  CHECK(layer_test::slurp((*dirs)[0] + "/b") == "second");  // top layer first
  CHECK(layer_test::slurp((*dirs)[1] + "/a") == "first");
}

TEST_CASE("load: an OCI image layout named by annotations") {
  TempDir tmp;
  auto store = open_store(tmp / "store");
  OciImage o = oci_image();
  json manifests = {descriptor(o, {{"io.containerd.image.name", "localhost:5000/oci/img:1"},
                                   {"org.opencontainers.image.ref.name", "1"}}),
                    descriptor(o, {{"org.opencontainers.image.ref.name", "oci/img:2"}}),
                    descriptor(o, {{"org.opencontainers.image.ref.name", "latest"}})};
  auto r = load(store, oci_layout(o, manifests), 1000);
  REQUIRE(r.ok());
  REQUIRE(r->images.size() == 3);
  CHECK(r->images[0].reference == "localhost:5000/oci/img:1");
  CHECK(r->images[1].reference == "docker.io/oci/img:2");
  CHECK(r->images[2].reference == "");  // a bare tag names no repository
  CHECK(store.list().size() == 2);
  auto e = store.resolve("localhost:5000/oci/img:1");
  REQUIRE(e);
  CHECK(e->manifest_digest == digest_of(o.manifest));
  CHECK(e->target_digest == digest_of(o.manifest));
  auto dirs = image_lower_dirs(store, *e);
  REQUIRE(dirs.ok());
  CHECK(layer_test::slurp(dirs->front() + "/hello") == "world");
}

TEST_CASE("load: hostile or broken archives tag nothing and create no layer") {
  TempDir tmp;
  auto store = open_store(tmp / "store");
  using layer_test::file;

  SECTION("neither manifest.json nor index.json") {
    auto r = load(store, layer_test::make_tar({file("foo", "bar")}));
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().to_string(), Catch::StartsWith("image load img.tar: neither index.json "
                                                        "nor manifest.json"));
  }
  SECTION("a blob whose bytes do not match its name") {
    OciImage o = oci_image();
    auto r = load(store, oci_layout(o, {descriptor(o, {{"io.containerd.image.name", "a/b:1"}})},
                                    /*corrupt_layer=*/true));
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().to_string(),
               Catch::Contains("img.tar: entry \"blobs/sha256/" + hex_of(o.layer_gz) + "\"") &&
                   Catch::Contains("digest mismatch"));
    CHECK_FALSE(store.has_blob(digest_of(o.layer_gz)));
  }
  SECTION("a config whose diff ids do not match the plain layers") {
    std::string layer1 = layer_test::make_tar({file("a", "1")});
    std::string layer2 = layer_test::compress(layer_test::make_tar({file("b", "2")}),
                                              layer_test::Compression::kGzip);
    std::string config = config_for({digest_of("other"), digest_of(layer2)});
    auto r = load(store, docker_archive(layer1, layer2, config));
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().to_string(), Catch::Contains("entry \"aaa/layer.tar\": diff id mismatch"));
  }
  SECTION("a config whose diff id does not match a gzip layer") {
    std::string layer1 = layer_test::make_tar({file("a", "1")});
    std::string layer2 = layer_test::compress(layer_test::make_tar({file("b", "2")}),
                                              layer_test::Compression::kGzip);
    std::string config = config_for({digest_of(layer1), digest_of(layer2)});  // not the tar's
    auto r = load(store, docker_archive(layer1, layer2, config));
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().to_string(),
               Catch::Contains("entry \"ccc/layer.tar\"") && Catch::Contains("diff id mismatch"));
    // The valid base layer may be unpacked; the rejected one must not exist.
    auto chains = chain_ids({digest_of(layer1), digest_of(layer2)});
    CHECK_FALSE(layer_test::lstat_or_zero(store.layer_dir(chains[1])).st_ino);
    CHECK(store.list().empty());
    return;
  }
  SECTION("a truncated archive") {
    std::string layer = layer_test::make_tar({file("a", std::string(100000, 'x'))});
    std::string tar =
        docker_archive(layer, layer, config_for({digest_of(layer), digest_of(layer)}));
    // Cut inside an entry's data (a cut between entries reads as a tar without its end marker,
    // which libarchive, like GNU tar, accepts; the missing files are then reported instead).
    auto r = load(store, tar.substr(0, tar.size() / 2 / 512 * 512 + 100));
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().to_string(), Catch::StartsWith("image load img.tar: ") &&
                                          Catch::Contains("entry \"") &&
                                          Catch::Contains("runcated"));
    // Inside the first layer's data: the entry being read is named.
    r = load(store, tar.substr(0, 60000));
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().to_string(),
               Catch::StartsWith("image load img.tar: entry \"aaa/layer.tar\"") &&
                   Catch::Contains("runcated"));
  }
  SECTION("path traversal inside a layer") {
    std::string layer = layer_test::make_tar({file("../../etc/evil", "x")});
    std::string gz = layer_test::compress(layer_test::make_tar({file("b", "2")}),
                                          layer_test::Compression::kGzip);
    auto r = load(store,
                  docker_archive(layer, gz,
                                 config_for({digest_of(layer), "sha256:" + std::string(64, '0')})));
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().to_string(), Catch::Contains("img.tar: manifest.json[0]: entry "
                                                      "\"aaa/layer.tar\"") &&
                                          Catch::Contains("path escapes the layer"));
  }
  SECTION("an entry of the archive itself climbing out") {
    auto r = load(store, layer_test::make_tar({file("../manifest.json", "[]")}));
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().to_string(), Catch::Contains("path escapes the archive"));
  }
  SECTION("garbage instead of a tar") {
    auto r = load(store, std::string(5000, '\x7f'));
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().to_string(), Catch::StartsWith("image load img.tar: "));
  }
  SECTION("a legacy archive without manifest.json") {
    auto r = load(store, layer_test::make_tar({file("repositories", "{}")}));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ENOTSUP);
  }
  expect_untouched(store);
}
