// RegistryClient: manifests, small blobs and the login check (the fetcher and the push half are
// in registry_fetch.cpp and registry_push.cpp).
#include <nlohmann/json.hpp>

#include "image/media_types.h"
#include "image/registry_internal.h"
#include "stack/common/sha256.h"

namespace stack::engine::image {

using registry_detail::HttpRequest;
using registry_detail::HttpResponse;

namespace {

constexpr size_t kMaxManifestSize = 4u << 20;

std::string accept_manifests() {
  namespace mt = media_types;
  std::string out = "Accept: ";
  for (std::string_view t : {mt::kOciIndex, mt::kOciManifest, mt::kDockerManifestList,
                             mt::kDockerManifest, mt::kDockerSchema1Signed, mt::kDockerSchema1}) {
    if (out.size() > 8) out += ", ";
    out += t;
  }
  return out;
}

std::string manifest_path(const Reference& ref) {
  return ref.path + "/manifests/" + (ref.digest.empty() ? ref.tag : ref.digest);
}

// A registry that serves manifests as application/json leaves the document to say what it is.
std::string media_type_of(const HttpResponse& resp, std::string_view body) {
  std::string type = registry_detail::bare_media_type(resp.header("content-type"));
  bool generic = type.empty() || type == "application/json" || type == "text/plain" ||
                 type == "application/octet-stream";
  if (!generic) return type;
  auto doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_object()) {
    if (auto it = doc.find("mediaType"); it != doc.end() && it->is_string()) {
      return it->get<std::string>();
    }
  }
  return type;
}

Status check_digest(const std::string& what, const std::string& expected,
                    const std::string& actual, std::string_view source) {
  if (expected.empty() || expected == actual) return {};
  return Error(EILSEQ, what + ": digest mismatch: " + std::string(source) + " " + expected +
                           ", got " + actual);
}

}  // namespace

RegistryClient::RegistryClient(RegistryOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

RegistryClient::~RegistryClient() = default;

Result<FetchedManifest> RegistryClient::get_manifest(const Reference& ref) {
  std::string what = ref.string();
  HttpRequest req;
  req.url = manifest_path(ref);
  req.headers.push_back(accept_manifests());
  req.max_response = kMaxManifestSize;
  auto resp = impl_->core.request(Impl::target(ref, false, what), req);
  if (!resp.ok()) {
    if (resp.error().code == EFBIG) {
      return Error(EFBIG, what + ": manifest larger than " + std::to_string(kMaxManifestSize) +
                              " bytes");
    }
    return std::move(resp).error();
  }
  if (resp->status != 200) return registry_detail::status_error(what, *resp);
  FetchedManifest out;
  out.digest = "sha256:" + sha256_hex(resp->body);
  STACK_TRY_VOID(check_digest(what, ref.digest, out.digest, "expected"));
  std::string reported = resp->header("docker-content-digest");
  if (reported.starts_with("sha256:")) {
    STACK_TRY_VOID(check_digest(what, reported, out.digest, "registry reported"));
  }
  out.media_type = media_type_of(*resp, resp->body);
  out.body = std::move(resp->body);
  return out;
}

Result<Descriptor> RegistryClient::head_manifest(const Reference& ref) {
  std::string what = ref.string();
  HttpRequest req;
  req.method = "HEAD";
  req.url = manifest_path(ref);
  req.headers.push_back(accept_manifests());
  STACK_TRY(HttpResponse resp, impl_->core.request(Impl::target(ref, false, what), req));
  if (resp.status != 200) return registry_detail::status_error(what, resp);
  Descriptor d;
  d.digest = resp.header("docker-content-digest");
  d.media_type = registry_detail::bare_media_type(resp.header("content-type"));
  std::string length = resp.header("content-length");
  bool generic = d.media_type.empty() || d.media_type == "application/json";
  if (!d.digest.starts_with("sha256:") || length.empty() || generic) {
    // Not every registry says enough on HEAD: fetch the document and compute it.
    STACK_TRY(FetchedManifest m, get_manifest(ref));
    return Descriptor{m.media_type, m.digest, static_cast<int64_t>(m.body.size()), {}, {}, {}};
  }
  STACK_TRY_VOID(check_digest(what, ref.digest, d.digest, "expected"));
  try {
    d.size = std::stoll(length);
  } catch (...) {
    return Error(EILSEQ, what + ": malformed Content-Length \"" + length + "\"");
  }
  return d;
}

Result<std::string> RegistryClient::get_blob(const Reference& repo, const Descriptor& blob,
                                             size_t max_size) {
  std::string what = repo.name() + "@" + blob.digest;
  if (!blob.digest.starts_with("sha256:")) {
    return Error(ENOTSUP, what + ": unsupported digest algorithm");
  }
  if (blob.size >= 0 && static_cast<uint64_t>(blob.size) > max_size) {
    return Error(EFBIG, what + ": blob of " + std::to_string(blob.size) +
                            " bytes is larger than the limit of " + std::to_string(max_size));
  }
  HttpRequest req;
  req.url = repo.path + "/blobs/" + blob.digest;
  req.follow_redirects = true;
  // One byte over the expected size is enough to tell "too long" from "exact".
  req.max_response = blob.size >= 0 ? static_cast<size_t>(blob.size) + 1 : max_size;
  auto resp = impl_->core.request(Impl::target(repo, false, what), req);
  if (!resp.ok()) {
    if (resp.error().code == EFBIG) {
      uint64_t limit = blob.size >= 0 ? static_cast<uint64_t>(blob.size) : max_size;
      return Error(blob.size >= 0 ? EILSEQ : EFBIG,
                   what + ": blob larger than " + std::to_string(limit) + " bytes");
    }
    return std::move(resp).error();
  }
  if (resp->status != 200) return registry_detail::status_error(what, *resp);
  if (blob.size >= 0 && resp->body.size() != static_cast<size_t>(blob.size)) {
    return Error(EILSEQ, what + ": size mismatch: expected " + std::to_string(blob.size) +
                             " bytes, got " + std::to_string(resp->body.size()));
  }
  STACK_TRY_VOID(check_digest(what, blob.digest, "sha256:" + sha256_hex(resp->body), "expected"));
  return std::move(resp->body);
}

Status RegistryClient::check_login(const std::string& registry_host, const Credentials& creds) {
  registry_detail::Target t{registry_host, registry_detail::api_host(registry_host), {},
                            registry_host, &creds};
  HttpRequest req;
  STACK_TRY(HttpResponse resp, impl_->core.request(t, req));
  if (resp.status == 200) return {};
  return registry_detail::status_error(registry_host, resp);
}

Error without_subject(Error e, std::string_view subject) {
  if (subject.empty() || !std::string_view(e.message).starts_with(subject)) return e;
  size_t colon = e.message.find(": ", subject.size());
  // Only a subject word ("repo:tag", "repo@sha256:…"), not a sentence that begins with it.
  if (colon == std::string::npos || e.message.find(' ', subject.size()) < colon) return e;
  e.message.erase(0, colon + 2);
  return e;
}

}  // namespace stack::engine::image
