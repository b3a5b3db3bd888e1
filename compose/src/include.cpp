#include "include.h"
namespace stack::compose {
void resolve_includes(Node&, const std::string&, const IncludeLoader&, Diagnostics&) {}
}  // namespace stack::compose
