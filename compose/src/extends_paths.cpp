// Rebasing relative paths of a service or document that is used from another directory (extends
// from another file, included sub-projects), so that they keep pointing where their file meant.
#include "convert_util.h"
#include "extends.h"

namespace stack::compose {
namespace {

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// "~" stays for the conversion to expand with HOME; absolute paths are already rebased.
std::string rebase(const std::string& dir, const std::string& p) {
  if (p.empty() || p[0] == '/' || p[0] == '~') return p;
  return lexically_normal(dir + "/" + p);
}

void rebase_scalar(Node* n, const std::string& dir) {
  if (n && n->is_scalar()) n->value = rebase(dir, n->value);
}

void rebase_scalar_or_list(Node* n, const std::string& dir) {
  if (!n) return;
  if (n->is_scalar()) rebase_scalar(n, dir);
  if (n->is_sequence())
    for (auto& item : n->items) rebase_scalar(&item, dir);
}

// Git and HTTP build contexts (what docker build accepts as remote).
bool is_remote_context(const std::string& s) {
  return s.find("://") != std::string::npos || starts_with(s, "git@") || starts_with(s, "github.com/");
}

// additional_contexts values may be images ("docker-image://x"), other services ("service:x")
// or targets; only plain paths are rebased.
void rebase_context_value(Node& v, const std::string& dir) {
  if (v.is_scalar() && v.value.find(':') == std::string::npos) v.value = rebase(dir, v.value);
}

void rebase_build(Node& build, const std::string& dir) {
  if (build.is_scalar()) {
    if (!is_remote_context(build.value)) build.value = rebase(dir, build.value);
    return;
  }
  if (!build.is_mapping()) return;
  if (Node* ctx = build.find("context")) {
    if (ctx->is_scalar() && !is_remote_context(ctx->value)) ctx->value = rebase(dir, ctx->value);
  } else {
    // The default context "." is the directory of the file that defined the build.
    build.set("context", Node::scalar(dir, build.mark));
  }
  if (Node* extra = build.find("additional_contexts")) {
    if (extra->is_mapping()) {
      for (auto& e : extra->entries) rebase_context_value(e.value, dir);
    } else if (extra->is_sequence()) {
      for (auto& item : extra->items) {
        if (!item.is_scalar()) continue;
        auto eq = item.value.find('=');
        if (eq == std::string::npos) continue;
        Node v = Node::scalar(item.value.substr(eq + 1));
        rebase_context_value(v, dir);
        item.value = item.value.substr(0, eq + 1) + v.value;
      }
    }
  }
}

void rebase_env_files(Node* n, const std::string& dir) {
  if (!n) return;
  if (n->is_scalar()) return rebase_scalar(n, dir);
  if (!n->is_sequence()) return;
  for (auto& item : n->items) {
    if (item.is_scalar()) rebase_scalar(&item, dir);
    else if (item.is_mapping()) rebase_scalar(item.find("path"), dir);
  }
}

void rebase_volume(Node& v, const std::string& dir) {
  if (v.is_scalar()) {
    auto colon = v.value.find(':');
    // Only bind sources written as relative paths; "~" and named volumes stay.
    if (colon == std::string::npos || v.value[0] != '.') return;
    v.value = rebase(dir, v.value.substr(0, colon)) + v.value.substr(colon);
    return;
  }
  if (!v.is_mapping()) return;
  Node* source = v.find("source");
  if (!source || !source->is_scalar()) return;
  const Node* type = v.find("type");
  bool bind = type ? (type->is_scalar() && type->value == "bind") : starts_with(source->value, ".");
  if (bind) source->value = rebase(dir, source->value);
}

}  // namespace

void rebase_service_paths(Node& service, const std::string& dir) {
  if (!service.is_mapping()) return;
  if (Node* build = service.find("build")) rebase_build(*build, dir);
  rebase_env_files(service.find("env_file"), dir);
  rebase_scalar_or_list(service.find("label_file"), dir);
  if (Node* volumes = service.find("volumes"); volumes && volumes->is_sequence()) {
    for (auto& v : volumes->items) rebase_volume(v, dir);
  }
  if (Node* ext = service.find("extends"); ext && ext->is_mapping()) rebase_scalar(ext->find("file"), dir);
}

void rebase_document_paths(Node& doc, const std::string& dir) {
  if (Node* services = doc.find("services"); services && services->is_mapping()) {
    for (auto& e : services->entries) rebase_service_paths(e.value, dir);
  }
  for (const char* section : {"secrets", "configs"}) {
    Node* s = doc.find(section);
    if (!s || !s->is_mapping()) continue;
    for (auto& e : s->entries)
      if (e.value.is_mapping()) rebase_scalar(e.value.find("file"), dir);
  }
}

}  // namespace stack::compose
