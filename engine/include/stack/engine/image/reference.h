// Image references ("busybox", "localhost:5000/app:1", "repo@sha256:…"), parsed and normalized
// exactly as Docker does (distribution/reference ParseNormalizedNamed + TagNameOnly, digests
// validated as go-digest v1.0.0 does), so that a Compose file means the same image here as
// under docker compose. Pure functions: no I/O, thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "stack/common/result.h"

namespace stack::engine::image {

// A normalized reference. domain and path are never empty; at least one of tag and digest is
// set (both when the user wrote name:tag@digest; the digest then decides what is pulled).
struct Reference {
  std::string domain;  // "docker.io", "localhost:5000", "[::1]:5000", "ghcr.io"
  std::string path;    // "library/busybox", "a/b"
  std::string tag;     // "latest", or "" when only a digest was given
  std::string digest;  // "sha256:<64 hex>", or ""

  // "docker.io/library/busybox": domain/path, without tag or digest.
  std::string name() const;
  // Canonical form: name[:tag][@digest], e.g. "docker.io/library/busybox:latest".
  std::string string() const;
  // As docker prints it: "docker.io/" and a single-component "library/" dropped, e.g.
  // "busybox:latest", "user/app:1", "localhost:5000/a/b:1".
  std::string familiar() const;
  // Host[:port] to contact for the registry API: "registry-1.docker.io" for Docker Hub,
  // otherwise the domain itself.
  std::string registry_host() const;

  bool operator==(const Reference&) const = default;
};

// Parses what a user writes (Compose `image:`, CLI argument) into a normalized Reference:
// default domain docker.io ("index.docker.io" is folded into it), "library/" before
// single-component Docker Hub names, tag "latest" when neither tag nor digest is given.
// Errors (code EINVAL, context `image "<text>"`) carry Docker's own messages, e.g.
// "invalid reference format", "invalid reference format: repository name (library/Busybox)
// must be lowercase", "invalid repository name (<64 hex>), cannot specify 64-byte
// hexadecimal strings", "invalid checksum digest length", "unsupported digest algorithm".
Result<Reference> parse_reference(std::string_view text);

// Like parse_reference, but accepts only text that is already canonical, as distribution's
// ParseNamed does: domain and path spelled out ("docker.io/library/busybox[:tag][@digest]");
// an omitted tag still defaults to "latest". For stored references (labels, state files),
// where a familiar name means corruption. Error: "repository name must be canonical".
Result<Reference> parse_reference_strict(std::string_view text);

// Docker's default for registries without TLS configuration: "localhost", 127.0.0.0/8 and
// ::1 (with or without a port) may be reached over plain HTTP; everything else needs HTTPS.
// Docker also resolves names to addresses first; this looks only at the literal domain.
bool is_insecure_default(const Reference& ref);

}  // namespace stack::engine::image
