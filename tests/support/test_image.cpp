// Test images built in memory (see test_image.h).
#include "support/test_image.h"

#include <set>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "image/media_types.h"
#include "stack/common/sha256.h"

namespace stack::test {
namespace mt = engine::image::media_types;
using nlohmann::json;

namespace {

std::string digest_of(const std::string& data) { return "sha256:" + sha256_hex(data); }

// layer_test::compress, but gzip without the timestamp libarchive writes by default, so that
// the same layer always has the same digest.
std::string compress_deterministic(const std::string& raw, Compression c) {
  if (c == Compression::kNone) return raw;
  std::string out;
  struct archive* a = archive_write_new();
  layer_test::check(archive_write_set_format_raw(a), a);
  if (c == Compression::kGzip) {
    layer_test::check(archive_write_add_filter_gzip(a), a);
    layer_test::check(archive_write_set_filter_option(a, "gzip", "timestamp", nullptr), a);
  } else {
    layer_test::check(archive_write_add_filter_zstd(a), a);
  }
  layer_test::check(archive_write_set_bytes_in_last_block(a, 1), a);
  layer_test::check(archive_write_open(a, &out, nullptr, layer_test::append_cb, nullptr), a);
  struct archive_entry* e = archive_entry_new();
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_pathname(e, "data");
  layer_test::check(archive_write_header(a, e), a);
  for (size_t off = 0; off < raw.size(); off += 1 << 20)
    archive_write_data(a, raw.data() + off, std::min<size_t>(1 << 20, raw.size() - off));
  archive_entry_free(e);
  layer_test::check(archive_write_close(a), a);
  archive_write_free(a);
  return out;
}

json descriptor(std::string_view media_type, const std::string& digest, size_t size) {
  return {{"mediaType", media_type}, {"digest", digest}, {"size", size}};
}

json string_set(const std::vector<std::string>& keys) {
  json out = json::object();
  for (const auto& k : keys) out[k] = json::object();
  return out;
}

TarEntry owned_by_root(TarEntry e) {
  e.uid = 0;
  e.gid = 0;
  return e;
}

}  // namespace

TestLayer make_layer(const std::vector<TarEntry>& entries, Compression compression,
                     bool oci_media_types) {
  std::string tar = layer_test::make_tar(entries);
  TestLayer layer;
  layer.diff_id = digest_of(tar);
  layer.blob = compress_deterministic(tar, compression);
  layer.digest = digest_of(layer.blob);
  switch (compression) {
    case Compression::kNone:
      layer.media_type =
          oci_media_types ? mt::kOciLayerTar : "application/vnd.docker.image.rootfs.diff.tar";
      break;
    case Compression::kGzip:
      layer.media_type = oci_media_types ? mt::kOciLayerGzip : mt::kDockerLayerGzip;
      break;
    case Compression::kZstd:
      layer.media_type = mt::kOciLayerZstd;
      break;
  }
  return layer;
}

std::string make_config_json(const std::vector<TestLayer>& layers, const ImageConfigSpec& spec) {
  json config = json::object();
  if (!spec.entrypoint.empty()) config["Entrypoint"] = spec.entrypoint;
  if (!spec.cmd.empty()) config["Cmd"] = spec.cmd;
  if (!spec.env.empty()) config["Env"] = spec.env;
  if (!spec.working_dir.empty()) config["WorkingDir"] = spec.working_dir;
  if (!spec.user.empty()) config["User"] = spec.user;
  if (!spec.stop_signal.empty()) config["StopSignal"] = spec.stop_signal;
  if (!spec.exposed_ports.empty()) config["ExposedPorts"] = string_set(spec.exposed_ports);
  if (!spec.volumes.empty()) config["Volumes"] = string_set(spec.volumes);
  if (!spec.labels.empty()) config["Labels"] = spec.labels;
  if (spec.healthcheck) {
    const auto& h = *spec.healthcheck;
    json hc = {{"Test", h.test}};
    if (h.interval_ns) hc["Interval"] = h.interval_ns;
    if (h.timeout_ns) hc["Timeout"] = h.timeout_ns;
    if (h.start_period_ns) hc["StartPeriod"] = h.start_period_ns;
    if (h.start_interval_ns) hc["StartInterval"] = h.start_interval_ns;
    if (h.retries) hc["Retries"] = h.retries;
    config["Healthcheck"] = hc;
  }
  json diff_ids = json::array(), history = json::array();
  for (size_t i = 0; i < layers.size(); ++i) {
    diff_ids.push_back(layers[i].diff_id);
    history.push_back({{"created", "2024-01-01T00:00:00Z"},
                       {"created_by", "stack test layer " + std::to_string(i + 1)}});
  }
  json doc = {{"architecture", spec.architecture},
              {"os", spec.os},
              {"created", "2024-01-01T00:00:00Z"},
              {"config", config},
              {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}},
              {"history", history}};
  if (!spec.variant.empty()) doc["variant"] = spec.variant;
  return doc.dump();
}

TestImage make_image_with_config(std::vector<TestLayer> layers, std::string config, bool oci) {
  TestImage image;
  image.layers = std::move(layers);
  image.config = std::move(config);
  image.config_digest = digest_of(image.config);
  image.manifest_media_type = oci ? mt::kOciManifest : mt::kDockerManifest;
  json layer_list = json::array();
  for (const auto& l : image.layers)
    layer_list.push_back(descriptor(l.media_type, l.digest, l.blob.size()));
  json manifest = {
      {"schemaVersion", 2},
      // Distribution 2.8 picks its handler by this field; always present, as Docker writes it.
      {"mediaType", image.manifest_media_type},
      {"config", descriptor(oci ? mt::kOciConfig : mt::kDockerConfig, image.config_digest,
                            image.config.size())},
      {"layers", layer_list}};
  image.manifest = manifest.dump();
  image.manifest_digest = digest_of(image.manifest);
  return image;
}

TestImage make_image(std::vector<TestLayer> layers, const ImageConfigSpec& spec, bool oci) {
  std::string config = make_config_json(layers, spec);
  return make_image_with_config(std::move(layers), std::move(config), oci);
}

TestImage make_index(std::vector<std::pair<engine::image::Platform, TestImage>> children,
                     bool oci) {
  TestImage image;
  image.index_media_type = oci ? mt::kOciIndex : mt::kDockerManifestList;
  json entries = json::array();
  for (auto& [platform, child] : children) {
    if (child.is_index()) throw std::runtime_error("make_index: nested indexes are not supported");
    json entry =
        descriptor(child.manifest_media_type, child.manifest_digest, child.manifest.size());
    json p = {{"os", platform.os}, {"architecture", platform.architecture}};
    if (!platform.variant.empty()) p["variant"] = platform.variant;
    if (!platform.os_version.empty()) p["os.version"] = platform.os_version;
    entry["platform"] = p;
    entries.push_back(entry);
    image.platforms.push_back(std::move(child));
  }
  image.index =
      json{{"schemaVersion", 2}, {"mediaType", image.index_media_type}, {"manifests", entries}}
          .dump();
  image.index_digest = digest_of(image.index);
  return image;
}

std::vector<std::pair<std::string, std::string>> TestImage::all_blobs() const {
  std::vector<std::pair<std::string, std::string>> out;
  std::set<std::string> seen;
  auto add = [&](const std::string& digest, const std::string& data) {
    if (seen.insert(digest).second) out.emplace_back(digest, data);
  };
  if (!config.empty()) add(config_digest, config);
  for (const auto& l : layers) add(l.digest, l.blob);
  for (const auto& child : platforms)
    for (const auto& [d, data] : child.all_blobs()) add(d, data);
  return out;
}

TestImage busybox_image() {
  static const TestImage image = [] {
    std::string busybox = layer_test::slurp("/bin/busybox");
    if (busybox.size() < 100'000)
      throw std::runtime_error(
          "busybox_image: /bin/busybox missing or too small (install busybox-static)");
    std::vector<TarEntry> entries = {layer_test::dir("bin"),
                                     layer_test::file("bin/busybox", busybox, 0755)};
    for (const char* applet : {"sh", "ls", "cat", "echo", "sleep", "true", "false", "env", "id",
                               "mkdir", "rm", "touch", "wget", "printf", "test"})
      entries.push_back(layer_test::sym(std::string("bin/") + applet, "busybox"));
    entries.push_back(layer_test::dir("etc"));
    entries.push_back(layer_test::file(
        "etc/passwd",
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"));
    entries.push_back(layer_test::file("etc/group", "root:x:0:\nnogroup:x:65534:\n"));
    entries.push_back(layer_test::dir("tmp", 01777));
    entries.push_back(layer_test::dir("root", 0700));
    for (auto& e : entries) e = owned_by_root(std::move(e));
    ImageConfigSpec spec;
    spec.cmd = {"sh"};
    spec.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};
    return make_image({make_layer(entries, Compression::kGzip, true)}, spec, true);
  }();
  return image;
}

TestImage whiteout_image() {
  using layer_test::dir;
  using layer_test::file;
  std::vector<TarEntry> l1 = {dir("a"),
                              file("a/keep", "keep"),
                              file("a/gone", "gone"),
                              dir("d"),
                              file("d/old1", "old1"),
                              dir("d/sub"),
                              file("d/sub/old2", "old2"),
                              file("top", "top-1")};
  std::vector<TarEntry> l2 = {dir("a"),
                              file("a/.wh.gone", ""),
                              dir("d"),
                              file("d/.wh..wh..opq", ""),
                              file("d/new", "new"),
                              file(".wh.top", "")};
  std::vector<TarEntry> l3 = {dir("a"), file("a/added", "added"), file("top", "top-3")};
  std::vector<TestLayer> layers;
  for (auto* entries : {&l1, &l2, &l3}) {
    for (auto& e : *entries) e = owned_by_root(std::move(e));
    layers.push_back(make_layer(*entries, Compression::kGzip, true));
  }
  ImageConfigSpec spec;
  spec.cmd = {"/bin/sh"};
  return make_image(std::move(layers), spec, true);
}

}  // namespace stack::test
