// Parsing of OCI / Docker schema 2 image documents: image configs, manifests, indexes (manifest
// lists), and platform selection from an index. Pure functions over JSON text; thread-safe.
// Errors name the offending field ("layers[2].digest: …"); callers add the image reference.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "stack/common/result.h"

namespace stack::engine::image {

// An OCI platform. Compared after normalize_platform().
struct Platform {
  std::string os;
  std::string architecture;
  std::string variant;
  std::string os_version;

  // "linux/arm64", "linux/arm/v7" (os_version is not shown).
  std::string to_string() const;
  bool operator==(const Platform&) const = default;
};

// Parses "os/arch[/variant]" as given to --platform; the result is normalized.
Result<Platform> parse_platform(std::string_view text);

// Canonical spelling as containerd's platforms.Normalize: os lower-case, x86_64 → amd64,
// aarch64 → arm64 (variant v8 dropped), armhf → arm/v7, arm without variant → arm/v7, i386 → 386.
Platform normalize_platform(Platform p);

// The platform this binary was built for (linux/amd64 on x86-64).
Platform host_platform();

// A content descriptor (OCI image-spec descriptor.md).
struct Descriptor {
  std::string media_type;
  std::string digest;  // "sha256:<hex>", validated
  int64_t size = 0;
  std::optional<Platform> platform;  // index entries only
  std::map<std::string, std::string> annotations;
  std::vector<std::string> urls;
};

// An image manifest (OCI or Docker schema 2): one config and the layers, base layer first.
struct Manifest {
  std::string media_type;
  Descriptor config;
  std::vector<Descriptor> layers;
  std::map<std::string, std::string> annotations;
};

enum class ManifestKind { kIndex, kManifest, kSchema1, kUnknown };

// What a manifest document is. `media_type` is the registry's Content-Type (may be empty or
// generic); the document's own mediaType field and then its shape decide otherwise.
ManifestKind classify_manifest(std::string_view json, std::string_view media_type);

// Parses an image manifest. Errors: Docker schema 1 → "unsupported manifest (Docker schema 1)";
// an index → "expected an image manifest, got an image index"; bad fields name the field.
Result<Manifest> parse_manifest(std::string_view json, std::string_view media_type);

// Parses an OCI image index or Docker manifest list into its entries.
Result<std::vector<Descriptor>> parse_index(std::string_view json);

// Picks the entry for `wanted` the way containerd's platforms.Only does: exact match first, then
// compatible fallbacks in order (arm/v7 → v6 → v5; arm64 → arm/v8 …; amd64 → 386). ENOENT
// error "no matching manifest for linux/amd64 in the image index (available: …)" otherwise.
Result<Descriptor> select_platform(const std::vector<Descriptor>& index, const Platform& wanted);

struct Healthcheck {
  std::vector<std::string> test;  // ["CMD-SHELL", "curl …"], ["NONE"], …
  int64_t interval_ns = 0;        // 0 = inherit / default
  int64_t timeout_ns = 0;
  int64_t start_period_ns = 0;
  int64_t start_interval_ns = 0;
  int retries = 0;
};

// The runtime-relevant part of an image config (OCI image-spec config.md, Docker's superset).
struct ImageConfig {
  std::string architecture, os, variant;
  std::vector<std::string> entrypoint, cmd, env;
  std::string working_dir, user, stop_signal;
  std::set<std::string> exposed_ports, volumes;  // "80/tcp", "/data"
  std::map<std::string, std::string> labels;
  std::optional<Healthcheck> healthcheck;
  std::vector<std::string> diff_ids;  // rootfs.diff_ids, base layer first
};

// Parses an image config blob. Errors name the field ("config.Env: expected an array of strings").
Result<ImageConfig> parse_image_config(std::string_view json);

// True for "sha256:<64 lower-case hex>" and "sha512:<128 lower-case hex>".
bool is_valid_digest(std::string_view digest);

}  // namespace stack::engine::image
