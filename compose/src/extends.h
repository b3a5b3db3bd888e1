// `extends`: a service inherits another service's definition, from the same file or another
// file, nested to any depth; cycles are errors naming the chain.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "diagnostics.h"
#include "node.h"

namespace stack::compose {

// Loads another Compose file for extends/include: read, parse and interpolate it, and
// resolve its includes; returns the document, or nullopt after reporting why at `requested_at`.
// Paths are absolute.
using DocumentLoader = std::function<std::optional<Node>(const std::string& path, const Mark& requested_at)>;

// Resolves `extends` in every service of `doc`, a document read from `file_path` (absolute).
// Services taken from another file have their relative paths rebased (rebase_relative_paths)
// onto that file's directory. The `extends` keys are removed.
void resolve_extends(Node& doc, const std::string& file_path, const DocumentLoader& load, Diagnostics& diags);

// Makes relative paths in a service definition absolute against `dir`: build.context (unless a
// URL), build.dockerfile is left relative to the context, env_file, label_file, volumes bind
// sources starting with "." or "~" in short syntax and bind sources in long syntax,
// extends.file.
void rebase_service_paths(Node& service, const std::string& dir);
// The same for a whole document: services, and file: of secrets and configs.
void rebase_document_paths(Node& doc, const std::string& dir);

}  // namespace stack::compose
