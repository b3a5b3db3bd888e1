// YAML text → Node trees (the only file that touches yaml-cpp). Anchors and aliases are
// expanded, merge keys (<<) applied, duplicate keys rejected, and each document of a
// multi-document stream returned separately.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "diagnostics.h"
#include "node.h"

namespace stack::compose {

// Parses `text`, naming `display_name` in marks. On a syntax error, adds a located diagnostic
// and returns no documents. An empty stream yields one null document.
std::vector<Node> read_yaml(const std::string& text, const std::string& display_name, Diagnostics& diags);

}  // namespace stack::compose
