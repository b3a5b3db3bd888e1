#include "diagnostics.h"

#include <set>

namespace stack::compose {

std::string Diagnostic::to_string() const {
  std::string out = mark.to_string();
  out += ": ";
  if (!path.empty()) {
    out += path;
    out += ": ";
  }
  out += message;
  return out;
}

void Diagnostics::error(const Mark& mark, std::string path, std::string message) {
  list_.push_back(Diagnostic{mark, std::move(path), std::move(message)});
}

std::string Diagnostics::to_string() const {
  std::string out;
  std::set<std::string> seen;
  for (const auto& d : list_) {
    std::string line = d.to_string();
    if (!seen.insert(line).second) continue;
    if (!out.empty()) out += '\n';
    out += line;
  }
  return out;
}

}  // namespace stack::compose
