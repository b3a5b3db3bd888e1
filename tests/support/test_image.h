// Images built in memory for tests: layers (tar streams, optionally compressed), image configs,
// OCI or Docker schema 2 manifests and multi-platform indexes, with their digests. Used to seed
// the local registry (registry_fixture.h) and as expected values in tests of the image code.
// Everything is deterministic: the same inputs give the same bytes and digests (gzip headers
// carry no timestamp, JSON keys are sorted). Failures throw std::runtime_error (test code only).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/layer_test_util.h"
#include "stack/engine/image/image_config.h"

namespace stack::test {

using layer_test::Compression;
using layer_test::TarEntry;

// One layer blob. `digest` is sha256 of `blob` (what manifests name), `diff_id` sha256 of the
// uncompressed tar (what the config's rootfs.diff_ids name); both "sha256:<hex>".
struct TestLayer {
  std::string blob;
  std::string digest;
  std::string diff_id;
  std::string media_type;
};

// A layer made of `entries` (see layer_test::make_tar: pax format). Media types: OCI
// tar / tar+gzip / tar+zstd; Docker rootfs.diff.tar.gzip, rootfs.diff.tar for no compression,
// and the OCI zstd type for zstd (Docker has none of its own).
TestLayer make_layer(const std::vector<TarEntry>& entries,
                     Compression compression = Compression::kGzip, bool oci_media_types = true);

// What goes into an image config ("config" object of the OCI/Docker image config). Empty
// fields are left out of the JSON.
struct ImageConfigSpec {
  std::string architecture = "amd64";
  std::string os = "linux";
  std::string variant;
  std::vector<std::string> entrypoint, cmd, env;
  std::string working_dir, user, stop_signal;
  std::vector<std::string> exposed_ports;  // "80/tcp"
  std::vector<std::string> volumes;        // "/data"
  std::map<std::string, std::string> labels;
  std::optional<engine::image::Healthcheck> healthcheck;
};

// An image: its layers (base first), config and manifest; or, when `index` is set, a
// multi-platform index whose children are `platforms` (then layers/config/manifest are empty).
struct TestImage {
  std::vector<TestLayer> layers;
  std::string config, config_digest;
  std::string manifest, manifest_digest, manifest_media_type;  // OCI or Docker schema 2
  std::string index, index_digest, index_media_type;           // OCI index or Docker list
  std::vector<TestImage> platforms;                            // children, in index order

  bool is_index() const { return !index.empty(); }
  // The document a tag points at: the index if there is one, else the manifest.
  const std::string& top_body() const { return is_index() ? index : manifest; }
  const std::string& top_digest() const { return is_index() ? index_digest : manifest_digest; }
  const std::string& top_media_type() const {
    return is_index() ? index_media_type : manifest_media_type;
  }
  // Config and layer blobs of this image and all platform children, without duplicates, as
  // (digest, bytes) pairs.
  std::vector<std::pair<std::string, std::string>> all_blobs() const;
};

// The config JSON for `spec` and `layers` (rootfs.type "layers", diff_ids, one history entry
// per layer, a fixed "created" time).
std::string make_config_json(const std::vector<TestLayer>& layers, const ImageConfigSpec& spec);

// An image whose config is `spec` rendered by make_config_json.
TestImage make_image(std::vector<TestLayer> layers, const ImageConfigSpec& spec = {},
                     bool oci = true);

// An image with a config written by the caller (for odd or invalid configs); `config` is used
// byte for byte.
TestImage make_image_with_config(std::vector<TestLayer> layers, std::string config,
                                 bool oci = true);

// A multi-platform index over `children` (each must be a single-platform image). The platform
// given in each pair is what the index entry says (it need not match the child's config).
TestImage make_index(std::vector<std::pair<engine::image::Platform, TestImage>> children,
                     bool oci = true);

// A runnable linux/amd64 image: one gzip layer with /bin/busybox (a copy of the host's static
// busybox), symlinks bin/sh, bin/ls, bin/cat, bin/echo, bin/sleep, bin/true, bin/false,
// bin/env, bin/id, bin/mkdir, bin/rm, bin/touch, bin/wget, bin/printf, bin/test -> busybox,
// etc/passwd (root, nobody), etc/group, tmp (1777), root; all owned by 0:0. Config: Cmd
// ["sh"], Env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin. OCI types.
// Built once per process (about 1 MB of gzip) and copied on each call.
TestImage busybox_image();

// Three gzip layers exercising whiteouts. Merged view, top layer last:
//   layer 1: a/keep "keep", a/gone "gone", d/old1 "old1", d/sub/old2 "old2", top "top-1"
//   layer 2: a/.wh.gone, d/.wh..wh..opq with d/new "new", .wh.top
//   layer 3: a/added "added", top "top-3"
// → a/{keep, added}, d/new only (d/old1 and d/sub hidden), top = "top-3".
TestImage whiteout_image();

}  // namespace stack::test
