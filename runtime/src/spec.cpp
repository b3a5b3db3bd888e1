#include "stack/runtime/spec.h"

namespace stack::runtime {

const Namespace* Spec::find_namespace(const std::string& type) const {
  for (const auto& ns : linux.namespaces)
    if (ns.type == type) return &ns;
  return nullptr;
}

bool Spec::has_namespace(const std::string& type) const { return find_namespace(type) != nullptr; }

}  // namespace stack::runtime
