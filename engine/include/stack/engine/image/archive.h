// Images to and from tar archives: `stack image load` (docker-archive or OCI image layout),
// `stack image save` (both layouts in one tar, as Docker 25+ writes) and `stack image import`
// (a rootfs directory or tarball as a one-layer image). Every blob enters the content store
// through BlobWriter/put_blob, so nothing unverified is ever published.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "stack/common/result.h"
#include "stack/engine/image/image_config.h"
#include "stack/engine/image/layer.h"
#include "stack/engine/image/store.h"

namespace stack::engine::image {

struct LoadResult {
  // One entry per reference tagged; an image the archive does not name appears once with an
  // empty `reference` (its blobs are stored and unpacked but nothing in the index keeps them,
  // so the next garbage collection removes them, like Docker's dangling images).
  std::vector<IndexEntry> images;
};

// Loads the images in a tar stream read once, front to back (`tar` may be a pipe; gzip, bzip2,
// xz or zstd compression of the whole tar is undone). Two formats:
//  - OCI image layout (oci-layout, index.json, blobs/sha256/<hex>): preferred when present. An
//    index entry is named by its "io.containerd.image.name" annotation, else by
//    "org.opencontainers.image.ref.name" when that is a full reference (contains '/' or ':'),
//    else by the RepoTags of a manifest.json entry with the same config. Nested indexes resolve
//    to the host platform's manifest.
//  - docker-archive (`docker save`: manifest.json with Config/RepoTags/Layers, layer tars plain
//    or compressed, possibly symlinked to each other). A Docker schema 2 manifest is built for
//    each image since the format has none. Archives with only the pre-1.10 `repositories` file
//    are refused (ENOTSUP).
// Blobs named blobs/sha256/<hex> are verified against their name while they stream into the
// store; other files are hashed into a temporary file under <store>/ingest first. References are
// normalized (parse_reference). Every image is unpacked (DiffIDs checked against the config)
// before anything is tagged, so on any error nothing is tagged and no layer directory of a
// rejected layer exists; verified blobs may remain until the next garbage collection. Holds a
// GC lease throughout.
//
// `name` (the file, or "-" for stdin) and the archive entry start errors:
// `image load img.tar: entry "blobs/sha256/ab…": digest mismatch: …`.
Result<LoadResult> load_archive(const ContentStore& store, ByteSource& tar,
                                const std::string& name);

// Writes the images `references` (as the user typed them; normalized and looked up in the index)
// to `out_fd` as one uncompressed pax tar holding both an OCI image layout (oci-layout,
// index.json with "io.containerd.image.name" = full reference and
// "org.opencontainers.image.ref.name" = tag, blobs/sha256/<hex> for manifests, configs and
// layers exactly as stored) and docker-archive's manifest.json (Config, RepoTags, Layers naming
// the same blob files), so that both `docker load` and OCI tools read it. For an image pulled
// from a multi-platform index, the platform manifest is written (the index's other platforms are
// not in the store). Each blob is written once. Layers are re-hashed while streaming; a blob
// that no longer matches its digest fails the save. ENOENT "no such image: <ref>". The fd is not
// closed; on error the output is incomplete.
Status save_archive(const ContentStore& store, const std::vector<std::string>& references,
                    int out_fd);

struct ImportOptions {
  // Dockerfile instructions applied to the config as `docker import --change` does: CMD,
  // ENTRYPOINT (JSON array or shell form), ENV, LABEL, EXPOSE, VOLUME, WORKDIR, USER, STOPSIGNAL.
  std::vector<std::string> changes;
  // History comment; default "imported from <source>".
  std::string message;
  // Recorded in the config and the index; default host_platform().
  std::optional<Platform> platform;
};

// Creates a one-layer image from `source` and tags it `reference`:
//  - a directory: archived without following symlinks (symlinks, hardlinks, devices, fifos kept
//    as such; sockets skipped), entries sorted by name, numeric owners, modes, nanosecond mtimes
//    and xattrs kept, atime/ctime dropped, so the same tree gives the same layer digest;
//  - a tar file, plain or compressed (gzip, bzip2, xz, zstd), or "-" for stdin: its entries are
//    re-written in their order with the same normalization; names that climb out of the root
//    ("../x") are refused.
// The layer is a gzip'ed pax tar; its digest and DiffID are computed in the same pass. The
// config is an OCI config (rootfs, `changes`, a history entry), the manifest an OCI manifest.
// The layer is unpacked before the tag is written. Errors start with `image import <source>`.
Result<IndexEntry> import_image(const ContentStore& store, const std::string& source,
                                const std::string& reference, const ImportOptions& options = {});

}  // namespace stack::engine::image
