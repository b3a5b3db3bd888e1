// Media types of OCI image-spec v1.1 and Docker image manifest v2 schema 2 (facts from the specs).
#pragma once

#include <string_view>

namespace stack::engine::image::media_types {

// OCI image-spec: image-index.md, manifest.md, config.md, layer.md.
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kOciLayerTar = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view kOciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view kOciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
// Deprecated in image-spec 1.1 but still found in registries; never pushed by us.
inline constexpr std::string_view kOciLayerNondistTar =
    "application/vnd.oci.image.layer.nondistributable.v1.tar";
inline constexpr std::string_view kOciLayerNondistGzip =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
inline constexpr std::string_view kOciLayerNondistZstd =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";
inline constexpr std::string_view kOciEmptyJson = "application/vnd.oci.empty.v1+json";

// Docker image manifest v2, schema 2.
inline constexpr std::string_view kDockerManifestList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kDockerManifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";
// Uncompressed Docker layers (docker-archive loads, containerd's name for them).
inline constexpr std::string_view kDockerLayerTar = "application/vnd.docker.image.rootfs.diff.tar";
inline constexpr std::string_view kDockerLayerGzip =
    "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr std::string_view kDockerLayerForeignGzip =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
// Docker schema 1: refused (signed JSON with v1 history instead of a config blob).
inline constexpr std::string_view kDockerSchema1 =
    "application/vnd.docker.distribution.manifest.v1+json";
inline constexpr std::string_view kDockerSchema1Signed =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";

inline bool is_index(std::string_view t) { return t == kOciIndex || t == kDockerManifestList; }
inline bool is_manifest(std::string_view t) { return t == kOciManifest || t == kDockerManifest; }
inline bool is_schema1(std::string_view t) { return t == kDockerSchema1 || t == kDockerSchema1Signed; }
inline bool is_config(std::string_view t) { return t == kOciConfig || t == kDockerConfig; }

}  // namespace stack::engine::image::media_types
